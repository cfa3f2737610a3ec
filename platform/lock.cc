#include "platform/lock.h"

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <sstream>

namespace mdb::store {

std::string local_time_text(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string local_time_zone_text(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &tm);
  std::string text = buf;
  // tzdata writes "+0530"-like zones as "+0530" already; an empty abbreviation gets the offset.
  if (text.size() <= 20) {
    std::strftime(buf, sizeof buf, " %z", &tm);
    text = local_time_text(unix_seconds) + buf;
  }
  return text;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

namespace {

// "pid host start command" -> "PID (COMMAND since TIME)", or a plain fallback.
std::string describe_holder(fs::File& f) {
  std::string text(4096, '\0');
  text.resize(f.pread(text.data(), text.size(), 0));
  std::istringstream in(text);
  std::string pid, host, command;
  int64_t start = 0;
  if (!(in >> pid >> host >> start)) return "another process";
  std::getline(in >> std::ws, command);
  return pid + (host == host_name() ? "" : " on " + host) + " (" + (command.empty() ? "unknown command" : command) +
         " since " + local_time_text(start) + ")";
}

}  // namespace

bool try_lock(const fs::File& f) {
  if (fs::env().flock(f.fd(), LOCK_EX | LOCK_NB) == 0) return true;
  if (errno != EWOULDBLOCK) throw fs::IoError("cannot lock", f.path(), errno);
  return false;
}

void write_holder(fs::File& f, const std::string& command) {
  std::string info =
      std::to_string(::getpid()) + " " + host_name() + " " + std::to_string(fs::env().now_ns() / 1'000'000'000) + " " +
      command + "\n";
  f.truncate(0);
  f.pwrite_all(info, 0);
}

LockFile::LockFile(const std::filesystem::path& path, const std::string& what, const std::string& command) {
  file_ = fs::File::open_or_create(path, 0644);
  if (!try_lock(file_))
    throw Error(what + " is locked by " + describe_holder(file_) +
                ". Wait for it to finish (or stop it) and try again.",
                ErrorKind::Busy);
  write_holder(file_, command);
}

std::unique_ptr<LockFile> LockFile::try_take(const std::filesystem::path& path, const std::string& command) {
  fs::File file = fs::File::open_or_create(path, 0644);
  if (!try_lock(file)) return nullptr;
  write_holder(file, command);
  return std::unique_ptr<LockFile>(new LockFile(std::move(file)));
}

LockFile::~LockFile() = default;

}  // namespace mdb::store
