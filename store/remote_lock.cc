#include "store/remote_lock.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string_view>

#include "base/interrupt.h"
#include "base/ordered_pool.h"

#include "formats/hash.h"
#include "platform/lock.h"

namespace mdb::store {

namespace {

int64_t seconds_from_env(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v, &end, 10);
  return *end == '\0' && n > 0 ? n : fallback;
}

int64_t now_seconds() { return fs::env().now_ns() / 1'000'000'000; }

std::string random_name() {
  std::random_device rd;
  std::string raw;
  for (int i = 0; i < 16; ++i) raw += static_cast<char>(rd() & 0xff);
  return hex(raw);
}

bool stale(const LockInfo& l) {
  if (now_seconds() - l.refreshed > lock_stale_seconds()) return true;
  return l.host == host_name() && ::kill(static_cast<pid_t>(l.pid), 0) != 0 && errno == ESRCH;
}

std::string age_text(int64_t seconds) {
  if (seconds < 120) return std::to_string(std::max<int64_t>(0, seconds)) + " s";
  if (seconds < 120 * 60) return std::to_string(seconds / 60) + " min";
  return std::to_string(seconds / 3600) + " h";
}

std::string describe(const LockInfo& l) {
  return l.command + " on host " + l.host + ", pid " + std::to_string(l.pid) + ", since " + local_time_text(l.since) +
         ", " + age_text(now_seconds() - l.since) + " ago";
}

constexpr std::string_view kTryAgain = " Try again when it has finished.";

// The names of the lock objects this process holds: a command may open the store twice (a
// read next to its write, a check before a repair), and its own locks never conflict.
std::mutex own_mu;
std::set<std::string>& own_locks() {
  static std::set<std::string> names;
  return names;
}
bool own(const std::string& name) {
  std::lock_guard<std::mutex> g(own_mu);
  return own_locks().count(name) > 0;
}
void set_own(const std::string& name, bool held) {
  std::lock_guard<std::mutex> g(own_mu);
  if (held) own_locks().insert(name);
  else own_locks().erase(name);
}

LockSettings& settings() {
  static LockSettings s;
  return s;
}

}  // namespace

void set_lock_settings(LockSettings s) { settings() = std::move(s); }
const LockSettings& lock_settings() { return settings(); }

int64_t parse_wait_ms(const std::string& text, const std::string& option) {
  int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find_first_not_of("0123456789", pos);
    if (end == pos || end == std::string::npos || end - pos > 6) break;
    int64_t unit = text[end] == 's' ? 1000 : text[end] == 'm' ? 60'000 : text[end] == 'h' ? 3'600'000 : 0;
    if (!unit) break;
    total += std::stoll(text.substr(pos, end - pos)) * unit;
    pos = end + 1;
  }
  if (text.empty() || pos != text.size())
    throw UsageError(option + " " + text + ": give a duration such as 30s, 5m, 1h or 1m30s.");
  return total;
}

std::unique_ptr<StoreLock> take_lock(Backend& backend, bool exclusive, const std::string& command) {
  const LockSettings& s = lock_settings();
  using Clock = std::chrono::steady_clock;
  const Clock::time_point until = Clock::now() + std::chrono::milliseconds(s.retry_ms);
  std::chrono::milliseconds pause(250);
  for (bool told = false;; told = true) {
    try {
      return backend.lock(exclusive, command);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Busy || Clock::now() >= until) throw;
      if (!told) {
        std::string what = e.message();  // without the advice to try again: it waits instead
        if (what.size() > kTryAgain.size() && what.compare(what.size() - kTryAgain.size(), kTryAgain.size(), kTryAgain) == 0)
          what.resize(what.size() - kTryAgain.size());
        std::string line = "Waiting up to " + s.retry_text + " (--retry-lock): " + what;
        if (s.notice) s.notice(line);
        else std::cerr << line << "\n";
      }
    }
    // Short sleeps, so Ctrl-C ends the wait at once; the lock is asked again at most every 5 s.
    for (Clock::time_point wake = std::min(until, Clock::now() + pause); Clock::now() < wake;) {
      interrupt::check();
      ::usleep(20'000);
    }
    pause = std::min(pause * 2, std::chrono::milliseconds(5000));
  }
}

int64_t lock_stale_seconds() { return seconds_from_env("MEPHISTO_LOCK_STALE_SECONDS", 1800); }
int64_t lock_refresh_seconds() { return seconds_from_env("MEPHISTO_LOCK_REFRESH_SECONDS", 300); }

std::string LockInfo::encode() const {
  nlohmann::ordered_json j;
  j["exclusive"] = exclusive;
  j["command"] = command;
  j["host"] = host;
  j["pid"] = pid;
  j["since"] = since;
  j["refreshed"] = refreshed;
  return j.dump() + "\n";
}

LockInfo LockInfo::decode(const std::string& text, const std::string& what) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    LockInfo l;
    l.exclusive = j.at("exclusive").get<bool>();
    l.command = j.at("command").get<std::string>();
    l.host = j.at("host").get<std::string>();
    l.pid = j.at("pid").get<int64_t>();
    l.since = j.at("since").get<int64_t>();
    l.refreshed = j.at("refreshed").get<int64_t>();
    return l;
  } catch (const nlohmann::json::exception&) {
    throw CorruptError(what + " is not a lock object");
  }
}

RemoteLock::RemoteLock(std::unique_ptr<Backend> backend, bool exclusive, const std::string& command)
    : backend_(std::move(backend)) {
  info_.exclusive = exclusive;
  info_.command = command;
  info_.host = host_name();
  info_.pid = ::getpid();
  info_.since = info_.refreshed = now_seconds();
  do name_ = random_name();
  while (!backend_->create_new(ObjectKind::Lock, name_, backend_->sealed(info_.encode())));
  set_own(name_, true);
  try {
    check_others();
  } catch (...) {
    set_own(name_, false);
    backend_->remove(ObjectKind::Lock, name_);
    throw;
  }
  refresher_ = start_worker([this] { refresh_loop(); });  // signals stay with the main thread
}

RemoteLock::~RemoteLock() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  refresher_.join();
  set_own(name_, false);
  try {
    backend_->remove(ObjectKind::Lock, name_);
  } catch (const Error&) {  // it goes stale by itself; the command's own outcome is what to report
  }
}

void RemoteLock::check_others() {
  for (const ObjectInfo& o : backend_->list(ObjectKind::Lock)) {
    if (o.name == name_ || own(o.name)) continue;
    std::string where = backend_->where(ObjectKind::Lock, o.name);
    LockInfo other;
    try {
      other = LockInfo::decode(backend_->read_sealed(ObjectKind::Lock, o.name), where);
    } catch (const CorruptError& e) {
      if (!backend_->size(ObjectKind::Lock, o.name)) continue;  // released meanwhile
      throw Error(info_.command + ": the store holds a lock object that cannot be read (" + e.what() +
                      "); if no command is running on any host, delete it.",
                  ErrorKind::Busy);
    }
    if (stale(other)) {
      backend_->remove(ObjectKind::Lock, o.name);
      continue;
    }
    if (!info_.exclusive && !other.exclusive) continue;
    throw Error(info_.command + ": the store is " + (other.exclusive ? "locked" : "in use") + " by " +
                    describe(other) + " (lock " + where + ")." + std::string(kTryAgain),
                ErrorKind::Busy);
  }
}

void RemoteLock::refresh_loop() {
  std::unique_lock<std::mutex> g(mu_);
  while (!wake_.wait_for(g, std::chrono::seconds(lock_refresh_seconds()), [&] { return stopping_; })) {
    info_.refreshed = now_seconds();
    std::string bytes = info_.encode();
    g.unlock();
    try {
      backend_->save_sealed(ObjectKind::Lock, name_, bytes);
    } catch (const Error&) {  // tried again at the next refresh; the lock is stale only much later
    }
    g.lock();
  }
}

}  // namespace mdb::store
