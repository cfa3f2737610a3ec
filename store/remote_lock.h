#pragma once
// Locks on a store that hosts share (docs/S3.md, "Locks"), restic's model. A command holds a lock
// object `locks/<random>` (created with Backend::create_new, If-None-Match: * on S3) saying who
// holds it: shared for the commands that add (backup, import, restore and export -del with their
// snapshots), exclusive for those that remove (prune, verify --repair*). A shared lock meets no
// exclusive one, an exclusive lock no other lock; the one who finds a conflict after making its
// own object removes it again and fails, so of two racing, at least one fails and never both
// proceed. A thread refreshes the object while the command runs; one not refreshed for the stale
// time, or of a dead process on this host, is stale and removed by whoever meets it.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/backend.h"

namespace mdb::store {

// What a lock object says (JSON).
struct LockInfo {
  bool exclusive = false;
  std::string command, host;
  int64_t pid = 0;
  int64_t since = 0, refreshed = 0;  // unix seconds
  std::string encode() const;
  // Throws CorruptError naming `what` when `text` is not a lock object.
  static LockInfo decode(const std::string& text, const std::string& what);
};

// Seconds after its last refresh when a lock is stale (MEPHISTO_LOCK_STALE_SECONDS, default
// 1800), and between refreshes (MEPHISTO_LOCK_REFRESH_SECONDS, default 300).
int64_t lock_stale_seconds();
int64_t lock_refresh_seconds();

// What the CLI sets for every store lock this process takes: how long --retry-lock retries a
// taken lock (0: fail at once, restic's default), the command's name (the lock of a reading
// command is named by it), where the one "waiting" line goes (stderr when unset), and whether
// reading takes no lock at all (--no-lock, as restic's: for read-only credentials; a command
// that writes the store locks it all the same).
struct LockSettings {
  int64_t retry_ms = 0;
  bool no_lock = false;
  std::string retry_text;  // as given, for messages ("5m")
  std::string command;
  std::function<void(const std::string&)> notice;
};
void set_lock_settings(LockSettings settings);
const LockSettings& lock_settings();
// "30s", "5m", "1h", "1m30s" (restic's --retry-lock) in milliseconds; UsageError naming `option`.
int64_t parse_wait_ms(const std::string& text, const std::string& option);

// backend.lock(exclusive, command), tried again while another command's lock is in the way
// (ErrorKind::Busy) until --retry-lock's time is over: the holder is printed once, then the
// conflict error is thrown. The one way every store lock is taken (local and shared).
std::unique_ptr<StoreLock> take_lock(Backend& backend, bool exclusive, const std::string& command);

class RemoteLock : public StoreLock {
 public:
  // Takes the lock for `command` in `backend` (which this lock owns: its refresh thread uses it
  // alone), or throws mdb::Error (busy) "COMMAND: the store is in use by ..." naming the holder.
  RemoteLock(std::unique_ptr<Backend> backend, bool exclusive, const std::string& command);
  ~RemoteLock() override;  // stops refreshing and removes the lock object

 private:
  void check_others();
  void refresh_loop();

  std::unique_ptr<Backend> backend_;
  LockInfo info_;
  std::string name_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread refresher_;
};

}  // namespace mdb::store
