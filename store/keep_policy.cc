#include "store/keep_policy.h"

#include <algorithm>
#include <ctime>
#include <functional>

namespace mdb::store {

namespace {

struct tm local_tm(int64_t time_ns) {
  // Floor division: a time before 1970 belongs to the second that starts before it.
  int64_t s = time_ns / 1'000'000'000 - (time_ns % 1'000'000'000 < 0 ? 1 : 0);
  time_t t = static_cast<time_t>(s);
  struct tm tm {};
  localtime_r(&t, &tm);
  return tm;
}

int64_t year_of(const struct tm& tm) { return int64_t{tm.tm_year} + 1900; }

// The ISO 8601 week-numbering year and week (strftime's %G and %V), as one number.
int64_t iso_week(const struct tm& tm) {
  char buf[16];
  std::strftime(buf, sizeof buf, "%G%V", &tm);
  return std::stoll(buf);
}

// One calendar rule: how many buckets it may still take, and which bucket a time is in.
struct Bucket {
  const char* name;
  std::optional<uint64_t> count;
  std::function<int64_t(const struct tm&)> key;
  std::optional<int64_t> last_key = std::nullopt;
};

}  // namespace

bool KeepPolicy::any() const {
  return last || hourly || daily || weekly || monthly || yearly || within_ns || !tags.empty();
}

std::vector<std::string> keep_reasons(const KeepPolicy& policy, const std::vector<KeepCandidate>& newest_first,
                                      int64_t now_ns) {
  std::vector<std::string> out(newest_first.size());
  if (!policy.any()) {
    for (std::string& why : out) why = "no policy";
    return out;
  }
  std::vector<Bucket> buckets = {
      {"hourly", policy.hourly, [](const struct tm& t) { return (year_of(t) * 400 + t.tm_yday) * 24 + t.tm_hour; }},
      {"daily", policy.daily, [](const struct tm& t) { return year_of(t) * 400 + t.tm_yday; }},
      {"weekly", policy.weekly, iso_week},
      {"monthly", policy.monthly, [](const struct tm& t) { return year_of(t) * 12 + t.tm_mon; }},
      {"yearly", policy.yearly, year_of},
  };
  auto add = [](std::string& why, const char* rule) { why += (why.empty() ? "" : ", ") + std::string(rule); };
  for (size_t i = 0; i < newest_first.size(); ++i) {
    const KeepCandidate& c = newest_first[i];
    std::string& why = out[i];
    if (i == 0) add(why, "newest");
    if (policy.last && i < *policy.last) add(why, "last");
    if (policy.within_ns && c.time_ns >= now_ns - *policy.within_ns) add(why, "within");
    for (const std::string& tag : policy.tags)
      if (std::find(c.tags.begin(), c.tags.end(), tag) != c.tags.end()) {
        add(why, "tag");
        break;
      }
    struct tm tm = local_tm(c.time_ns);
    // restic's buckets: walking from the newest, the first snapshot met in a bucket not seen
    // yet is that bucket's newest; a rule takes such snapshots until its count is used up.
    for (Bucket& b : buckets) {
      if (!b.count || *b.count == 0) continue;
      int64_t key = b.key(tm);
      if (b.last_key && *b.last_key == key) continue;
      b.last_key = key;
      --*b.count;
      add(why, b.name);
    }
  }
  return out;
}

}  // namespace mdb::store
