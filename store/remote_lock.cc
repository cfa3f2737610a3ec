#include "store/remote_lock.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>

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

std::string describe(const LockInfo& l) {
  return l.command + " on host " + l.host + ", pid " + std::to_string(l.pid) + ", since " + local_time_text(l.since);
}

}  // namespace

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
  try {
    check_others();
  } catch (...) {
    backend_->remove(ObjectKind::Lock, name_);
    throw;
  }
  refresher_ = std::thread([this] { refresh_loop(); });
}

RemoteLock::~RemoteLock() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  refresher_.join();
  try {
    backend_->remove(ObjectKind::Lock, name_);
  } catch (const Error&) {  // it goes stale by itself; the command's own outcome is what to report
  }
}

void RemoteLock::check_others() {
  for (const ObjectInfo& o : backend_->list(ObjectKind::Lock)) {
    if (o.name == name_) continue;
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
                    describe(other) + " (lock " + where + "). Try again when it has finished.",
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
