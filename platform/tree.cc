// The one way a tree is removed (remove_tree, count_tree) and where mount points are.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <sstream>

#include "platform/env.h"

namespace mdb::fs {

namespace {

// The identity of an entry, never following a symlink at `name` (relative to `dirfd`).
struct EntryInfo {
  bool is_dir = false;
  dev_t dev = 0;
  bool mount_root = false;  // the root of a mount (statx STATX_ATTR_MOUNT_ROOT)
};

bool entry_info(int dirfd, const char* name, EntryInfo& out, const stdfs::path& path) {
  struct statx stx {};
  if (::statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &stx) != 0) {
    if (errno == ENOENT) return false;
    throw IoError("cannot stat", path, errno);
  }
  out.is_dir = S_ISDIR(stx.stx_mode);
  out.dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
  out.mount_root = (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
  return true;
}

std::vector<std::string> names_in(int fd, const stdfs::path& path) {
  int copy = ::dup(fd);
  if (copy < 0) throw IoError("cannot read directory", path, errno);
  DIR* d = ::fdopendir(copy);
  if (!d) {
    env().close(copy);
    throw IoError("cannot read directory", path, errno);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  return names;
}

// Walks a tree on one filesystem, removing (or only counting) its entries bottom-up.
class TreeWalk {
 public:
  TreeWalk(bool remove, const std::function<void(uint64_t)>& removed) : remove_(remove), removed_(removed) {}

  // The tree at `name` in `dirfd` whose directory entry `info` was taken; returns whether
  // it is gone (or, counting, would be).
  bool entry(int dirfd, const std::string& name, const EntryInfo& info, dev_t dev, const stdfs::path& path) {
    if (info.is_dir && (info.dev != dev || info.mount_root)) {
      mounts_.push_back(path);
      return false;
    }
    bool emptied = true;
    if (info.is_dir) {
      int fd = env().openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, path);
      if (fd < 0) {
        if (errno == ENOENT) return true;
        throw IoError("cannot open directory", path, errno);
      }
      File dir(fd, path);
      for (const std::string& child : names_in(dir.fd(), path)) {
        EntryInfo ci;
        if (entry_info(dir.fd(), child.c_str(), ci, path / child))
          emptied = entry(dir.fd(), child, ci, dev, path / child) && emptied;
      }
    }
    if (!emptied) return false;
    if (remove_ && env().unlinkat(dirfd, name, info.is_dir ? AT_REMOVEDIR : 0, path) != 0 && errno != ENOENT) {
      if (errno != EBUSY) throw IoError("cannot remove", path, errno);
      mounts_.push_back(path);  // a mount point statx did not flag
      return false;
    }
    ++count_;
    if (removed_) removed_(1);
    return true;
  }

  uint64_t count() const { return count_; }
  const std::vector<stdfs::path>& mounts() const { return mounts_; }

 private:
  bool remove_;
  const std::function<void(uint64_t)>& removed_;
  uint64_t count_ = 0;
  std::vector<stdfs::path> mounts_;
};

// Runs `walk` over the tree at `path`; false when there is nothing there.
bool walk_tree(TreeWalk& walk, const stdfs::path& path) {
  EntryInfo info;
  if (!entry_info(AT_FDCWD, path.c_str(), info, path)) return false;
  dev_t dev = info.dev;
  if (info.is_dir) {
    // A mount point at the top is never entered either: compare with its parent.
    stdfs::path parent = path.has_relative_path() ? path.parent_path() : path;
    EntryInfo pi;
    if (entry_info(AT_FDCWD, (parent.empty() ? stdfs::path(".") : parent).c_str(), pi, parent)) dev = pi.dev;
  }
  std::string name = path.string();
  walk.entry(AT_FDCWD, name, info, dev, path);
  return true;
}

}  // namespace

MountPointLeft::MountPointLeft(const stdfs::path& tree, std::vector<stdfs::path> mounts)
    : IoError("left the mount point " + mounts.front().string() +
                  (mounts.size() > 1 ? " (and " + std::to_string(mounts.size() - 1) + " more)" : "") +
                  " in place, with its contents, while removing",
              tree, EBUSY),
      mounts_(std::move(mounts)) {}

namespace {

void remove_tree_unchecked(const stdfs::path& path, const std::function<void(uint64_t)>& removed) {
  TreeWalk walk(true, removed);
  walk_tree(walk, path);
  if (!walk.mounts().empty()) throw MountPointLeft(path, walk.mounts());
}

}  // namespace

void remove_tree(const stdfs::path& path, const std::function<void(uint64_t)>& removed) {
  env().fault_point("remove", path);  // the whole tree is one write: its entries go by unlinkat
  remove_tree_unchecked(path, removed);
}

void remove_tree_unfaulted(const stdfs::path& path) { remove_tree_unchecked(path, {}); }

uint64_t count_tree(const stdfs::path& path) {
  std::function<void(uint64_t)> none;
  TreeWalk walk(false, none);
  walk_tree(walk, path);
  return walk.count();
}

bool is_mount_point(const stdfs::path& path) {
  EntryInfo info, parent;
  if (!entry_info(AT_FDCWD, path.c_str(), info, path) || !info.is_dir) return false;
  stdfs::path up = path.parent_path().empty() ? stdfs::path(".") : path.parent_path();
  return info.mount_root || (entry_info(AT_FDCWD, up.c_str(), parent, up) && parent.dev != info.dev);
}

namespace {

// A mount point as /proc/self/mountinfo writes it: space, tab, newline and backslash as
// octal escapes.
std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<stdfs::path> mount_points_inside(const stdfs::path& dir) {
  std::istringstream in(read_file("/proc/self/mountinfo"));
  std::string prefix = dir.string();
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  std::vector<stdfs::path> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point;
    if (!(fields >> id >> parent >> devno >> root >> point)) continue;
    point = unescape_mountinfo(point);
    if (point.size() > prefix.size() && point.compare(0, prefix.size(), prefix) == 0) out.emplace_back(point);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace mdb::fs
