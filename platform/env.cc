#include "platform/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <utility>

namespace mdb::fs {

IoError::IoError(const std::string& what, const stdfs::path& path, int err)
    : Error(what + " " + path.string() + ": " + std::strerror(err), ErrorKind::Io), err_(err) {}

Stats& stats() {
  static Stats s;
  return s;
}

namespace {

enum class FaultKind { None, Kill, Enospc, Eio, Short, Signal };

struct FaultConfig {
  FaultKind kind = FaultKind::None;
  int signal = 0;       // FaultKind::Signal
  bool repeat = false;  // "<kind>@<n>+": at every point from the n-th on
  uint64_t at = 0;
  std::string count_file;
  std::FILE* trace = nullptr;
  bool short_pending = false;
};

void write_count_at_exit();

FaultConfig& fault_config() {
  static FaultConfig cfg = [] {
    FaultConfig c;
    if (const char* spec = std::getenv("MDB_FAULT")) {
      std::string s(spec);
      auto at = s.find('@');
      std::string kind = s.substr(0, at);
      if (at != std::string::npos) c.at = std::strtoull(s.c_str() + at + 1, nullptr, 10);
      c.repeat = !s.empty() && s.back() == '+';
      if (kind == "kill") c.kind = FaultKind::Kill;
      else if (kind == "enospc") c.kind = FaultKind::Enospc;
      else if (kind == "eio") c.kind = FaultKind::Eio;
      else if (kind == "short") c.kind = FaultKind::Short;
      for (auto [name, sig] : {std::pair{"sigint", SIGINT}, {"sigterm", SIGTERM}, {"sighup", SIGHUP}})
        if (kind == name) {
          c.kind = FaultKind::Signal;
          c.signal = sig;
        }
    }
    if (const char* f = std::getenv("MDB_FAULT_COUNT")) c.count_file = f;
    if (const char* f = std::getenv("MDB_FAULT_TRACE")) {
      c.trace = std::fopen(f, "ae");
      if (c.trace) std::setvbuf(c.trace, nullptr, _IOLBF, 0);  // each line out at once: kills lose nothing
    }
    return c;
  }();
  // Registered once `cfg` is fully constructed, so the handler runs before `cfg` is destroyed
  // (exit runs handlers and static destructors in reverse order of completion).
  static const bool registered = !cfg.count_file.empty() && std::atexit(write_count_at_exit) == 0;
  (void)registered;
  return cfg;
}

void write_count_at_exit() {
  std::ofstream out(fault_config().count_file, std::ios::trunc);
  out << stats().fault_points << "\n";
}

std::mutex& fault_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

void trace(std::string_view what, const stdfs::path& path) {
  FaultConfig& cfg = fault_config();
  if (!cfg.trace) return;
  std::string line = std::string(what) + "\t" + path.string() + "\n";
  std::fputs(line.c_str(), cfg.trace);
}

void fault_point(std::string_view what, const stdfs::path& path) {
  FaultConfig& cfg = fault_config();
  std::lock_guard lock(fault_mutex());
  trace(what, path);
  uint64_t n = ++stats().fault_points;
  if (cfg.kind == FaultKind::None || !(n == cfg.at || (cfg.repeat && n > cfg.at))) return;
  switch (cfg.kind) {
    case FaultKind::Kill:
      if (!cfg.count_file.empty()) write_count_at_exit();
      ::kill(::getpid(), SIGKILL);
      break;
    case FaultKind::Enospc: throw IoError(std::string(what) + " (injected fault)", path, ENOSPC);
    case FaultKind::Eio: throw IoError(std::string(what) + " (injected fault)", path, EIO);
    case FaultKind::Short: cfg.short_pending = true; break;
    case FaultKind::Signal: ::raise(cfg.signal); break;  // handled before raise returns; the write goes on
    case FaultKind::None: break;
  }
}

size_t fault_write_size(size_t size) {
  FaultConfig& cfg = fault_config();
  std::lock_guard lock(fault_mutex());
  if (!cfg.short_pending || size < 2) return size;
  cfg.short_pending = false;
  return size / 2;
}

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

File File::open_read(const stdfs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open", path, errno);
  ++stats().files_opened_for_read;
  return File(fd, path);
}

File File::open_read_at(int dirfd, const std::string& name, stdfs::path path) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open", path, errno);
  ++stats().files_opened_for_read;
  return File(fd, std::move(path));
}

File File::create(const stdfs::path& path, bool exclusive, mode_t mode) {
  fault_point("create", path);
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) throw IoError("cannot create", path, errno);
  return File(fd, path);
}

File File::open_append(const stdfs::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open for append", path, errno);
  return File(fd, path);
}

File File::open_or_create(const stdfs::path& path, mode_t mode) {
  fault_point("create", path);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) throw IoError("cannot open", path, errno);
  return File(fd, path);
}

File File::create_at(const File& dir, const std::string& name, stdfs::path path, mode_t mode) {
  fault_point("create", path);
  int fd = ::openat(dir.fd(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) throw IoError("cannot create", path, errno);
  return File(fd, std::move(path));
}

File File::open_dir_at(const File& dir, const std::string& name, stdfs::path path) {
  int fd = ::openat(dir.fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open directory", path, errno);
  return File(fd, std::move(path));
}

File File::open_dir(const stdfs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open directory", path, errno);
  return File(fd, path);
}

void File::write_all(std::string_view data) {
  fault_point("write", path_);
  size_t want = fault_write_size(data.size());
  size_t done = 0;
  while (done < want) {
    ssize_t n = ::write(fd_, data.data() + done, want - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot write", path_, errno);
    }
    done += static_cast<size_t>(n);
  }
  stats().bytes_written += done;
  if (want < data.size()) throw IoError("short write (injected fault)", path_, EIO);
}

void File::pwrite_all(std::string_view data, uint64_t offset) {
  fault_point("write", path_);
  size_t want = fault_write_size(data.size());
  size_t done = 0;
  while (done < want) {
    ssize_t n = ::pwrite(fd_, data.data() + done, want - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot write", path_, errno);
    }
    done += static_cast<size_t>(n);
  }
  stats().bytes_written += done;
  if (want < data.size()) throw IoError("short write (injected fault)", path_, EIO);
}

size_t File::read(char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::read(fd_, buf + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot read", path_, errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  stats().bytes_read += done;
  return done;
}

size_t File::pread(char* buf, size_t n, uint64_t offset) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot read", path_, errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  stats().bytes_read += done;
  return done;
}

std::string File::read_all() {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    size_t n = read(buf, sizeof buf);
    out.append(buf, n);
    if (n < sizeof buf) break;
  }
  return out;
}

void File::sync() {
  fault_point("fsync", path_);
  if (::fsync(fd_) != 0) throw IoError("cannot fsync", path_, errno);
}

void File::truncate(uint64_t size) {
  fault_point("truncate", path_);
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) throw IoError("cannot truncate", path_, errno);
}

namespace {
struct timespec to_timespec(int64_t ns) {
  struct timespec t;
  t.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  t.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (t.tv_nsec < 0) {
    t.tv_nsec += 1'000'000'000;
    t.tv_sec -= 1;
  }
  return t;
}
}  // namespace

void File::set_mode_and_mtime(mode_t mode, int64_t mtime_ns) {
  if (::fchmod(fd_, mode & 07777) != 0) throw IoError("cannot set the mode of", path_, errno);
  struct timespec times[2] = {{0, UTIME_OMIT}, to_timespec(mtime_ns)};
  if (::futimens(fd_, times) != 0) throw IoError("cannot set the modification time of", path_, errno);
}

uint64_t File::size() const { return static_cast<uint64_t>(stat().st_size); }

struct stat File::stat() const {
  struct stat st{};
  if (::fstat(fd_, &st) != 0) throw IoError("cannot stat", path_, errno);
  return st;
}

void File::close() {
  if (fd_ < 0) return;
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw IoError("cannot close", path_, errno);
}

std::string read_file(const stdfs::path& path) { return File::open_read(path).read_all(); }

void write_file_atomic(const stdfs::path& path, std::string_view data, mode_t mode) {
  stdfs::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  try {
    File f = File::create(tmp, false, mode);
    f.write_all(data);
    f.sync();
    f.close();
    fs::rename(tmp, path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  sync_dir(path.parent_path().empty() ? stdfs::path(".") : path.parent_path());
}

void rename(const stdfs::path& from, const stdfs::path& to) {
  fault_point("rename", from);
  if (::rename(from.c_str(), to.c_str()) != 0) throw IoError("cannot rename to " + to.string() + ":", from, errno);
}

bool exchange(const stdfs::path& a, const stdfs::path& b) {
  fault_point("exchange", a);
#ifdef SYS_renameat2
  constexpr unsigned kRenameExchange = 2;  // RENAME_EXCHANGE
  if (::syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), kRenameExchange) == 0) return true;
  if (errno == EINVAL || errno == ENOSYS || errno == EXDEV || errno == EBUSY) return false;
  throw IoError("cannot exchange with " + b.string() + ":", a, errno);
#else
  return false;
#endif
}

void sync_dir(const stdfs::path& dir) {
  File d = File::open_dir(dir);
  fault_point("fsync", dir);
  if (::fsync(d.fd()) != 0) throw IoError("cannot fsync directory", dir, errno);
}

void mkdirs(const stdfs::path& dir, mode_t mode) {
  if (dir.empty()) return;
  struct stat st{};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return;
    throw IoError("not a directory:", dir, ENOTDIR);
  }
  mkdirs(dir.parent_path() == dir ? stdfs::path() : dir.parent_path(), mode);
  fault_point("mkdir", dir);
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) throw IoError("cannot create directory", dir, errno);
}

void make_dir(const stdfs::path& dir, mode_t mode) {
  fault_point("mkdir", dir);
  if (::mkdir(dir.c_str(), mode) != 0) throw IoError("cannot create directory", dir, errno);
}

void symlink(const std::string& target, const stdfs::path& link) {
  fault_point("symlink", link);
  if (::symlink(target.c_str(), link.c_str()) != 0) throw IoError("cannot create symlink", link, errno);
}

void hard_link(const stdfs::path& from, const stdfs::path& to) {
  fault_point("link", to);
  if (::link(from.c_str(), to.c_str()) != 0) throw IoError("cannot link " + from.string() + " to", to, errno);
}

void set_mode_and_mtime(const stdfs::path& path, mode_t mode, int64_t mtime_ns, bool is_symlink) {
  if (!is_symlink && ::fchmodat(AT_FDCWD, path.c_str(), mode & 07777, 0) != 0)
    throw IoError("cannot set the mode of", path, errno);
  struct timespec times[2] = {{0, UTIME_OMIT}, to_timespec(mtime_ns)};
  if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    throw IoError("cannot set the modification time of", path, errno);
}

void make_dir_at(const File& dir, const std::string& name, mode_t mode, const stdfs::path& path) {
  fault_point("mkdir", path);
  if (::mkdirat(dir.fd(), name.c_str(), mode) != 0) throw IoError("cannot create directory", path, errno);
}

void symlink_at(const std::string& target, const File& dir, const std::string& name, const stdfs::path& path) {
  fault_point("symlink", path);
  if (::symlinkat(target.c_str(), dir.fd(), name.c_str()) != 0) throw IoError("cannot create symlink", path, errno);
}

void set_mtime_at(const File& dir, const std::string& name, int64_t mtime_ns, const stdfs::path& path) {
  struct timespec times[2] = {{0, UTIME_OMIT}, to_timespec(mtime_ns)};
  if (::utimensat(dir.fd(), name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    throw IoError("cannot set the modification time of", path, errno);
}

void sync_filesystem(const stdfs::path& path) {
  File d = File::open_dir(path);
  fault_point("fsync", path);
  if (::syncfs(d.fd()) != 0) throw IoError("cannot flush the filesystem of", path, errno);
}

void remove_file(const stdfs::path& path) {
  fault_point("remove", path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw IoError("cannot remove", path, errno);
}

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
    ::close(copy);
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
      int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
    if (remove_ && ::unlinkat(dirfd, name.c_str(), info.is_dir ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT) {
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
  fault_point("remove", path);
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
  std::ifstream in("/proc/self/mountinfo");
  if (!in) throw IoError("cannot read", "/proc/self/mountinfo", errno ? errno : EIO);
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

bool exists(const stdfs::path& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace mdb::fs
