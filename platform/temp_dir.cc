#include "platform/temp_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <vector>

#include "platform/lock.h"

namespace mdb::fs {

namespace {

// Opens (creating when missing) the owner file in the open directory `dir`, never following
// a symlink; an invalid File when that fails (the directory was removed meanwhile).
File open_owner(const File& dir, const stdfs::path& path) {
  int fd = ::openat(dir.fd(), kOwnerFileName, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  return fd < 0 ? File() : File(fd, path / kOwnerFileName);
}

// Whether the locked owner file is still the one named `.owner` in `dir`: a sweep that held
// the lock before us has unlinked it (and removed the directory) before letting go.
bool still_linked(const File& dir, const File& owner) {
  struct stat named{}, open = owner.stat();
  return open.st_nlink > 0 && ::fstatat(dir.fd(), kOwnerFileName, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
         named.st_dev == open.st_dev && named.st_ino == open.st_ino;
}

// The directory `path` itself, not a symlink to one; an invalid File otherwise.
File open_real_dir(const stdfs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return fd < 0 ? File() : File(fd, path);
}

}  // namespace

OwnedTempDir::OwnedTempDir(const stdfs::path& parent, const std::string& prefix) {
  // A sweep may take a newborn directory for abandoned (its owner file is not locked yet)
  // and remove it: then this one tries another name.
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string templ = (parent / (prefix + "XXXXXX")).string();
    if (env().mkdtemp(templ) != 0) throw IoError("cannot create temporary directory in", parent, errno);
    File dir = open_real_dir(templ);
    File owner = dir.valid() ? open_owner(dir, templ) : File();
    if (!owner.valid() && errno != ENOENT) throw IoError("cannot create the owner file in", templ, errno);
    if (!owner.valid() || !store::try_lock(owner) || !still_linked(dir, owner)) continue;
    try {
      store::write_holder(owner, "temporary directory");
    } catch (const Error&) {
      remove_tree_unfaulted(templ);
      throw;
    }
    path_ = templ;
    owner_ = std::move(owner);
    return;
  }
  throw Error("Cannot create a temporary directory in " + parent.string() +
              ": every new one was removed at once by another process.");
}

OwnedTempDir::~OwnedTempDir() {
  if (released_) return;
  try {
    remove_tree_unfaulted(path_);  // cleanup on every exit path: not a fault point
  } catch (const Error&) {
    // A destructor cannot report: what is left is swept by the next command.
  }
}

size_t sweep_abandoned(const stdfs::path& dir, const std::string& prefix,
                       const std::function<void(const stdfs::path&)>& remove) {
  std::vector<stdfs::path> candidates;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.is_directory(ec) && !e.is_symlink(ec)) candidates.push_back(e.path());
  }
  std::sort(candidates.begin(), candidates.end());
  size_t removed = 0;
  for (const stdfs::path& path : candidates) {
    File d = open_real_dir(path);
    File owner = d.valid() ? open_owner(d, path) : File();
    if (!owner.valid() || !store::try_lock(owner) || !still_linked(d, owner)) continue;  // alive, or gone
    if (remove)
      remove(path);
    else
      remove_tree(path);
    ++removed;
  }
  return removed;
}

std::unique_ptr<OwnedTempDir> scratch_temp_dir(const std::string& prefix) {
  const stdfs::path scratch = cache_scratch_dir();
  mkdirs(scratch);
  sweep_abandoned(scratch, prefix);
  return std::make_unique<OwnedTempDir>(scratch, prefix);
}

}  // namespace mdb::fs
