// prune's keep policy (store/keep_policy.h, docs/PRUNE.md) as properties over random snapshot
// histories: every rule alone keeps what restic's rule keeps, the rules together keep exactly
// the union of what each keeps alone plus the newest, and without rules everything is kept.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <set>

#include "store/keep_policy.h"

namespace mdb::store {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = int64_t{1'700'000'000} * kSecond;  // November 2023

// Each test runs in a zone with daylight saving, so hours repeat and vanish (set by the test
// itself: a static initializer would change the zone of every test of this binary).
void in_zone() {
  setenv("TZ", "Europe/Berlin", 1);
  tzset();
}

// Snapshot times newest first: random gaps from seconds to months, some equal.
std::vector<KeepCandidate> history() {
  auto gaps = *rc::gen::container<std::vector<int64_t>>(
      rc::gen::oneOf(rc::gen::inRange<int64_t>(0, 120), rc::gen::inRange<int64_t>(0, 7200),
                     rc::gen::inRange<int64_t>(0, 86400 * 3), rc::gen::inRange<int64_t>(0, 86400 * 100)));
  std::vector<KeepCandidate> out;
  int64_t t = kStart + int64_t{86400} * 800 * kSecond;
  for (int64_t g : gaps) {
    t -= g * kSecond + *rc::gen::inRange<int64_t>(0, kSecond);
    KeepCandidate c;
    c.time_ns = t;
    if (*rc::gen::inRange(0, 4) == 0) c.tags.push_back(*rc::gen::element<std::string>("keep", "other"));
    out.push_back(c);
  }
  return out;
}

std::optional<uint64_t> maybe_count() {
  return *rc::gen::oneOf(rc::gen::just(std::optional<uint64_t>()),
                         rc::gen::map(rc::gen::inRange<uint64_t>(1, 6), [](uint64_t n) { return std::optional(n); }));
}

KeepPolicy random_policy() {
  KeepPolicy p;
  p.last = maybe_count();
  p.hourly = maybe_count();
  p.daily = maybe_count();
  p.weekly = maybe_count();
  p.monthly = maybe_count();
  p.yearly = maybe_count();
  if (*rc::gen::inRange(0, 3) == 0) p.within_ns = *rc::gen::inRange<int64_t>(0, 86400 * 400) * kSecond;
  if (*rc::gen::inRange(0, 3) == 0) p.tags = {"keep"};
  return p;
}

std::set<size_t> kept(const KeepPolicy& p, const std::vector<KeepCandidate>& h, int64_t now) {
  std::vector<std::string> why = keep_reasons(p, h, now);
  std::set<size_t> out;
  for (size_t i = 0; i < why.size(); ++i)
    if (!why[i].empty()) out.insert(i);
  return out;
}

// The policy with only the rule `i` of `p` (0 last, 1..5 hourly..yearly, 6 within, 7 tags).
std::vector<KeepPolicy> single_rules(const KeepPolicy& p) {
  std::vector<KeepPolicy> out(8);
  out[0].last = p.last;
  out[1].hourly = p.hourly;
  out[2].daily = p.daily;
  out[3].weekly = p.weekly;
  out[4].monthly = p.monthly;
  out[5].yearly = p.yearly;
  out[6].within_ns = p.within_ns;
  out[7].tags = p.tags;
  return out;
}

// The bucket of a time for a calendar rule, computed independently with strftime.
std::string bucket(int rule, int64_t ns) {
  time_t t = ns / kSecond - (ns % kSecond < 0 ? 1 : 0);
  struct tm tm {};
  localtime_r(&t, &tm);
  const char* fmt = rule == 1 ? "%Y-%j %H" : rule == 2 ? "%Y-%j" : rule == 3 ? "%G-W%V" : rule == 4 ? "%Y-%m" : "%Y";
  char buf[32];
  strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

RC_GTEST_PROP(KeepPolicy, TogetherTheRulesKeepTheUnionOfEachAloneAndTheNewest, ()) {
  in_zone();
  std::vector<KeepCandidate> h = history();
  KeepPolicy p = random_policy();
  int64_t now = kStart + int64_t{86400} * 800 * kSecond;
  std::set<size_t> expected;
  for (const KeepPolicy& single : single_rules(p))
    if (single.any())
      for (size_t i : kept(single, h, now)) expected.insert(i);
  if (p.any() && !h.empty()) expected.insert(0);
  if (!p.any())
    for (size_t i = 0; i < h.size(); ++i) expected.insert(i);
  RC_ASSERT(kept(p, h, now) == expected);
}

RC_GTEST_PROP(KeepPolicy, TheNewestIsAlwaysKeptAndNothingWithoutRules, ()) {
  in_zone();
  std::vector<KeepCandidate> h = history();
  RC_PRE(!h.empty());
  KeepPolicy p = random_policy();
  std::set<size_t> k = kept(p, h, kStart);
  RC_ASSERT(k.count(0) == 1u);
  if (!p.any()) RC_ASSERT(k.size() == h.size());
}

// Each calendar rule keeps, of the newest N buckets that hold a snapshot, the newest snapshot
// of each (and nothing else, the newest of all aside).
RC_GTEST_PROP(KeepPolicy, ACalendarRuleKeepsTheNewestOfEachOfTheLastNBuckets, ()) {
  in_zone();
  std::vector<KeepCandidate> h = history();
  int rule = *rc::gen::inRange(1, 6);
  uint64_t n = *rc::gen::inRange<uint64_t>(1, 8);
  KeepPolicy p;
  (rule == 1 ? p.hourly : rule == 2 ? p.daily : rule == 3 ? p.weekly : rule == 4 ? p.monthly : p.yearly) = n;
  std::set<size_t> expected;
  std::vector<std::string> seen;
  for (size_t i = 0; i < h.size(); ++i) {
    std::string b = bucket(rule, h[i].time_ns);
    if (std::find(seen.begin(), seen.end(), b) != seen.end()) continue;
    seen.push_back(b);
    if (seen.size() <= n) expected.insert(i);
  }
  if (!h.empty()) expected.insert(0);
  RC_ASSERT(kept(p, h, kStart) == expected);
}

RC_GTEST_PROP(KeepPolicy, LastWithinAndTagKeepWhatTheySay, ()) {
  in_zone();
  std::vector<KeepCandidate> h = history();
  uint64_t n = *rc::gen::inRange<uint64_t>(1, 10);
  int64_t within = *rc::gen::inRange<int64_t>(0, 86400 * 400) * kSecond;
  int64_t now = kStart + int64_t{86400} * 800 * kSecond;
  KeepPolicy last, win, tag;
  last.last = n;
  win.within_ns = within;
  tag.tags = {"keep"};
  for (size_t i = 0; i < h.size(); ++i) {
    RC_ASSERT(kept(last, h, now).count(i) == (i < n ? 1u : 0u));
    RC_ASSERT(kept(win, h, now).count(i) == ((i == 0 || h[i].time_ns >= now - within) ? 1u : 0u));
    bool tagged = std::find(h[i].tags.begin(), h[i].tags.end(), "keep") != h[i].tags.end();
    RC_ASSERT(kept(tag, h, now).count(i) == ((i == 0 || tagged) ? 1u : 0u));
  }
}

TEST(KeepPolicy, ReasonsNameEveryRuleThatKeeps) {
  in_zone();
  // Three snapshots on 2023-11-14 (10:00, 09:00 local) and 2023-11-13.
  std::vector<KeepCandidate> h = {{kStart, {"keep"}}, {kStart - 3600 * kSecond, {}},
                                  {kStart - 86400 * kSecond, {}}};
  KeepPolicy p;
  p.daily = 2;
  p.tags = {"keep"};
  std::vector<std::string> why = keep_reasons(p, h, kStart);
  EXPECT_EQ(why, (std::vector<std::string>{"newest, tag, daily", "", "daily"}));
}

}  // namespace
}  // namespace mdb::store
