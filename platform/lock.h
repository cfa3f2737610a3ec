#pragma once
// Writer locks (store.md, "Concurrency"): a lock file holding "pid host start-time command",
// locked with flock(2). The kernel drops the lock when its holder dies, so a stale lock left
// by a dead process is simply taken over; a live holder is named in the error.
#include <filesystem>
#include <memory>
#include <string>

#include "platform/env.h"

namespace mdb::store {

class LockFile {
 public:
  // Locks `path` (created when missing) for `command`, or throws mdb::Error
  // "<what> is locked by PID (COMMAND since TIME)". `what` names the locked thing.
  LockFile(const std::filesystem::path& path, const std::string& what, const std::string& command);
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;
  ~LockFile();  // releases (closing the file drops the flock)
  // The lock of `path` (created when missing) for `command` when nobody holds it, else null.
  static std::unique_ptr<LockFile> try_take(const std::filesystem::path& path, const std::string& command);

  const std::filesystem::path& path() const { return file_.path(); }

 private:
  explicit LockFile(fs::File file) : file_(std::move(file)) {}
  fs::File file_;
};

// flock(LOCK_EX | LOCK_NB) on the open file `f`: false when another open file holds it. The one
// flock of the project: LockFile, and the owner files of temporary directories (temp_dir.h).
bool try_lock(const fs::File& f);
// Replaces the content of the locked file `f` by "pid host start-time command" (the holder,
// for messages and for humans).
void write_holder(fs::File& f, const std::string& command);

// "YYYY-MM-DD HH:MM:SS" in local time, for messages.
std::string local_time_text(int64_t unix_seconds);
// The same followed by the zone's abbreviation ("2026-12-05 09:14:03 CET"), or its UTC offset
// ("+0530") where the zone has no abbreviation.
std::string local_time_zone_text(int64_t unix_seconds);
std::string host_name();

}  // namespace mdb::store
