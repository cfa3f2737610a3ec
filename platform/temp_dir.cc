#include "platform/temp_dir.h"

#include <signal.h>

#include <cerrno>
#include <cstdlib>

namespace mdb::fs {

bool process_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

bool owner_gone(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0) return false;
  long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
  return pid > 0 && !process_alive(pid);
}

TempDir::TempDir(const stdfs::path& parent, const std::string& prefix) {
  std::string templ = (parent / (prefix + "XXXXXX")).string();
  fault_point("mkdir", templ);
  if (::mkdtemp(templ.data()) == nullptr) throw IoError("cannot create temporary directory in", parent, errno);
  path_ = templ;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  try {
    remove_tree_unfaulted(path_);  // cleanup on every exit path: not a fault point
  } catch (const Error&) {
    // A destructor cannot report: what is left is swept by the next command.
  }
}

}  // namespace mdb::fs
