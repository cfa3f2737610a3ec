#pragma once
// Temporary directories of a command and the sweep of those left by a killed one.
#include <filesystem>
#include <string>

#include "platform/env.h"

namespace mdb::fs {

// Whether a leftover named `<prefix><pid>...` belongs to a process that no longer exists (a name
// without a pid is never taken for abandoned). The one liveness rule of every sweep of leftovers.
bool owner_gone(const std::string& name, const std::string& prefix);
// Whether process `pid` exists (EPERM: it exists under another user).
bool process_alive(long pid);

// A unique new directory `<parent>/<prefix>XXXXXX`, removed (recursively) by the destructor
// unless release() was called. Two processes never share one.
class TempDir {
 public:
  TempDir(const stdfs::path& parent, const std::string& prefix);
  TempDir(TempDir&&) = delete;
  ~TempDir();
  const stdfs::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  stdfs::path path_;
};

}  // namespace mdb::fs
