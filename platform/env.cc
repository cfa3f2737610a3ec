#include "platform/env.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <utility>

namespace mdb::fs {

IoError::IoError(const std::string& what, const stdfs::path& path, int err)
    : Error(what + " " + path.string() + ": " + std::strerror(err), ErrorKind::Io), err_(err) {}

Stats& stats() {
  static Stats s;
  return s;
}

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) env().close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) env().close(fd_);
}

File File::open_read(const stdfs::path& path) {
  int fd = env().open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw IoError("cannot open", path, errno);
  ++stats().files_opened_for_read;
  return File(fd, path);
}

File File::open_read_at(int dirfd, const std::string& name, stdfs::path path) {
  int fd = env().openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0, path);
  if (fd < 0) throw IoError("cannot open", path, errno);
  ++stats().files_opened_for_read;
  return File(fd, std::move(path));
}

std::optional<File> File::open_read_inside(const stdfs::path& root, std::string_view rel) {
  std::vector<std::string> parts;
  for (size_t start = 0; start <= rel.size();) {
    size_t end = std::min(rel.find('/', start), rel.size());
    parts.emplace_back(rel.substr(start, end - start));
    start = end + 1;
  }
  for (const std::string& p : parts)
    if (p.empty() || p == "." || p == "..") return std::nullopt;
  try {
    File dir = open_dir(root);
    stdfs::path where = root;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      where /= parts[i];
      dir = open_dir_at(dir, parts[i], where);
    }
    File f = open_read_at(dir.fd(), parts.back(), where / parts.back());
    if (!S_ISREG(f.stat().st_mode)) return std::nullopt;
    return f;
  } catch (const IoError&) {
    return std::nullopt;
  }
}

File File::create(const stdfs::path& path, bool exclusive, mode_t mode) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  int fd = env().open(path, flags, mode);
  if (fd < 0) throw IoError("cannot create", path, errno);
  return File(fd, path);
}

File File::create_unnamed(const stdfs::path& dir, const std::string& prefix, const std::string& suffix) {
  int fd = env().open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return File(fd, dir / "(a file with no name)");
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) throw IoError("cannot create a file in", dir, errno);
  std::random_device random;
  stdfs::path path = dir / (prefix + std::to_string(random()) + std::to_string(random()) + suffix);
  fd = env().open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw IoError("cannot create", path, errno);
  File f(fd, path);
  remove_file(path);
  return f;
}

File File::open_or_create(const stdfs::path& path, mode_t mode) {
  int fd = env().open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) throw IoError("cannot open", path, errno);
  return File(fd, path);
}

File File::create_at(const File& dir, const std::string& name, stdfs::path path, mode_t mode) {
  int fd = env().openat(dir.fd(), name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode, path);
  if (fd < 0) throw IoError("cannot create", path, errno);
  return File(fd, std::move(path));
}

File File::open_dir_at(const File& dir, const std::string& name, stdfs::path path) {
  int fd = env().openat(dir.fd(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0, path);
  if (fd < 0) throw IoError("cannot open directory", path, errno);
  return File(fd, std::move(path));
}

File File::open_dir(const stdfs::path& path) {
  int fd = env().open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) throw IoError("cannot open directory", path, errno);
  return File(fd, path);
}

void File::write_all(std::string_view data) { write_at(data, Env::kAtPosition); }

void File::pwrite_all(std::string_view data, uint64_t offset) { write_at(data, static_cast<int64_t>(offset)); }

void File::write_at(std::string_view data, int64_t offset) {
  size_t done = env().write(fd_, data, offset, path_);
  stats().bytes_written += done;
  if (done < data.size()) throw IoError("cannot write", path_, errno);
}

size_t File::read(char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = env().read(fd_, buf + done, n - done);
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
    ssize_t r = env().pread(fd_, buf + done, n - done, offset + done);
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
  if (env().fsync(fd_, path_) != 0) throw IoError("cannot fsync", path_, errno);
}

void File::start_writeback(uint64_t offset, uint64_t len) {
  ::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(len), SYNC_FILE_RANGE_WRITE);
}

void File::truncate(uint64_t size) {
  if (env().ftruncate(fd_, size, path_) != 0) throw IoError("cannot truncate", path_, errno);
}

namespace {
}  // namespace

void File::set_mode_and_mtime(mode_t mode, const struct timespec& mtime) {
  if (env().fchmod(fd_, mode & 07777) != 0) throw IoError("cannot set the mode of", path_, errno);
  struct timespec times[2] = {{0, UTIME_OMIT}, mtime};
  if (env().futimens(fd_, times) != 0) throw IoError("cannot set the modification time of", path_, errno);
}

void File::set_owner(uid_t uid, gid_t gid) {
  if (env().fchownat(fd_, "", uid, gid, AT_EMPTY_PATH) != 0) throw IoError("cannot set the owner of", path_, errno);
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
  if (env().close(fd) != 0) throw IoError("cannot close", path_, errno);
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
    discard_file(tmp);
    throw;
  }
  sync_dir(path.parent_path().empty() ? stdfs::path(".") : path.parent_path());
}

void rename(const stdfs::path& from, const stdfs::path& to) {
  if (env().rename(from, to) != 0) throw IoError("cannot rename to " + to.string() + ":", from, errno);
}

bool exchange(const stdfs::path& a, const stdfs::path& b) {
  if (env().exchange(a, b) == 0) return true;
  if (errno == EINVAL || errno == ENOSYS || errno == EXDEV || errno == EBUSY) return false;
  throw IoError("cannot exchange with " + b.string() + ":", a, errno);
}

void sync_dir(const stdfs::path& dir) {
  File d = File::open_dir(dir);
  if (env().fsync(d.fd(), dir) != 0) throw IoError("cannot fsync directory", dir, errno);
}

void mkdirs(const stdfs::path& dir, mode_t mode) {
  if (dir.empty()) return;
  struct stat st{};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return;
    throw IoError("not a directory:", dir, ENOTDIR);
  }
  mkdirs(dir.parent_path() == dir ? stdfs::path() : dir.parent_path(), mode);
  if (env().mkdir(dir, mode) != 0 && errno != EEXIST) throw IoError("cannot create directory", dir, errno);
}

void make_dir(const stdfs::path& dir, mode_t mode) {
  if (env().mkdir(dir, mode) != 0) throw IoError("cannot create directory", dir, errno);
}

void symlink(const std::string& target, const stdfs::path& link) {
  if (env().symlink(target, link) != 0) throw IoError("cannot create symlink", link, errno);
}

void hard_link(const stdfs::path& from, const stdfs::path& to) {
  if (env().link(from, to) != 0) throw IoError("cannot link " + from.string() + " to", to, errno);
}

void set_mode_and_mtime(const stdfs::path& path, mode_t mode, const struct timespec& mtime, bool is_symlink) {
  if (!is_symlink && env().fchmodat(AT_FDCWD, path, mode & 07777) != 0)
    throw IoError("cannot set the mode of", path, errno);
  struct timespec times[2] = {{0, UTIME_OMIT}, mtime};
  if (env().utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) != 0)
    throw IoError("cannot set the modification time of", path, errno);
}

void make_dir_at(const File& dir, const std::string& name, mode_t mode, const stdfs::path& path) {
  if (env().mkdirat(dir.fd(), name, mode, path) != 0) throw IoError("cannot create directory", path, errno);
}

void symlink_at(const std::string& target, const File& dir, const std::string& name, const stdfs::path& path) {
  if (env().symlinkat(target, dir.fd(), name, path) != 0) throw IoError("cannot create symlink", path, errno);
}

void set_mtime_at(const File& dir, const std::string& name, const struct timespec& mtime, const stdfs::path& path) {
  struct timespec times[2] = {{0, UTIME_OMIT}, mtime};
  if (env().utimensat(dir.fd(), name, times, AT_SYMLINK_NOFOLLOW) != 0)
    throw IoError("cannot set the modification time of", path, errno);
}

void set_mode_at(const File& dir, const std::string& name, mode_t mode, const stdfs::path& path) {
  if (env().fchmodat(dir.fd(), name, mode & 07777) != 0) throw IoError("cannot set the mode of", path, errno);
}

void set_owner_at(const File& dir, const std::string& name, uid_t uid, gid_t gid, const stdfs::path& path) {
  if (env().fchownat(dir.fd(), name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
    throw IoError("cannot set the owner of", path, errno);
}

void hard_link_at(const File& from_dir, const std::string& from, const File& dir, const std::string& name,
                  const stdfs::path& path) {
  if (env().linkat(from_dir.fd(), from, dir.fd(), name, path) != 0)
    throw IoError("cannot create the hard link to " + from + " at", path, errno);
}

void make_node_at(const File& dir, const std::string& name, mode_t mode, dev_t dev, const stdfs::path& path) {
  if (env().mknodat(dir.fd(), name, mode, dev, path) != 0) throw IoError("cannot create", path, errno);
}

void sync_filesystem(const stdfs::path& path) {
  File d = File::open_dir(path);
  if (env().syncfs(d.fd(), path) != 0) throw IoError("cannot flush the filesystem of", path, errno);
}

void remove_file(const stdfs::path& path) {
  if (env().unlink(path) != 0 && errno != ENOENT) throw IoError("cannot remove", path, errno);
}

void discard_file(const stdfs::path& path) noexcept { env().unlinkat(AT_FDCWD, path, 0, path); }

void discard_empty_dir(const stdfs::path& dir) noexcept { env().unlinkat(AT_FDCWD, dir, AT_REMOVEDIR, dir); }

bool exists(const stdfs::path& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

stdfs::path cache_dir() {
  auto var = [](const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? std::optional<std::string>(v) : std::nullopt;
  };
  auto dir = [](const std::string& p) {
    stdfs::path abs = stdfs::absolute(stdfs::path(p)).lexically_normal();
    return abs.has_filename() ? abs : abs.parent_path();
  };
  if (auto xdg = var("XDG_CACHE_HOME")) return dir(*xdg) / "mephisto-db";
  if (auto home = var("HOME")) return dir(*home) / ".cache" / "mephisto-db";
  throw Error("No cache directory: set XDG_CACHE_HOME or HOME.", ErrorKind::NotFound);
}

stdfs::path cache_scratch_dir() { return cache_dir() / "tmp"; }

bool same_state(const struct stat& a, const struct stat& b) {
  auto same = [](const struct timespec& x, const struct timespec& y) { return x.tv_sec == y.tv_sec && x.tv_nsec == y.tv_nsec; };
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size && same(a.st_mtim, b.st_mtim) &&
         same(a.st_ctim, b.st_ctim);
}

}  // namespace mdb::fs
