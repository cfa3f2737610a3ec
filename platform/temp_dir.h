#pragma once
// Temporary directories of a command, and the sweep of those a killed command left behind
// (docs/ARCHITECTURE.md, "Temporary directories and sweeps").
//
// An OwnedTempDir holds flock(LOCK_EX) on its owner file `.owner` for as long as it lives; the
// kernel drops the lock when its process dies, however it dies. So a directory whose owner
// file can be locked has no live owner: that is the one liveness rule of every sweep, and it
// does not depend on process ids (which the kernel reuses).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "platform/env.h"

namespace mdb::fs {

// The owner file inside every OwnedTempDir.
inline constexpr const char* kOwnerFileName = ".owner";

// A unique new directory `<parent>/<prefix>XXXXXX` holding the locked owner file `.owner`
// ("pid host start-time" for humans). The destructor removes the tree unless release() was
// called, and drops the lock. Two processes never share one.
class OwnedTempDir {
 public:
  OwnedTempDir(const stdfs::path& parent, const std::string& prefix);
  OwnedTempDir(const OwnedTempDir&) = delete;
  OwnedTempDir& operator=(const OwnedTempDir&) = delete;
  ~OwnedTempDir();
  const stdfs::path& path() const { return path_; }
  // Keeps the tree (it was moved away, or is handed on); the lock is held until destruction.
  void release() { released_ = true; }

 private:
  stdfs::path path_;
  File owner_;
  bool released_ = false;
};

// Removes every directory `<dir>/<prefix>*` whose owner file nobody holds locked (its process
// is gone), with `remove` (remove_tree when empty) while holding that lock, so no two sweeps
// remove one directory and no OwnedTempDir is born into one being removed. A directory
// without an owner file (one made before owner files, or a process killed between mkdtemp
// and its lock) is abandoned too. Entries that are not directories, and directories the sweep
// cannot enter, are left alone. Returns how many were removed.
size_t sweep_abandoned(const stdfs::path& dir, const std::string& prefix,
                       const std::function<void(const stdfs::path&)>& remove = {});

// A new OwnedTempDir `<prefix>XXXXXX` in the cache's scratch space (cache_scratch_dir(), made when
// missing), after the sweep of those with `prefix` that killed commands left there.
std::unique_ptr<OwnedTempDir> scratch_temp_dir(const std::string& prefix);

}  // namespace mdb::fs
