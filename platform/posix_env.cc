// PosixEnv: the system calls behind the file layer, and the process's current Env.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>

#include "platform/env.h"

namespace mdb::fs {

int PosixEnv::open(const stdfs::path& path, int flags, mode_t mode) { return ::open(path.c_str(), flags, mode); }

int PosixEnv::openat(int dirfd, const std::string& name, int flags, mode_t mode, const stdfs::path&) {
  return ::openat(dirfd, name.c_str(), flags, mode);
}

int PosixEnv::close(int fd) { return ::close(fd); }

ssize_t PosixEnv::read(int fd, char* buf, size_t n) { return ::read(fd, buf, n); }

ssize_t PosixEnv::pread(int fd, char* buf, size_t n, uint64_t offset) {
  return ::pread(fd, buf, n, static_cast<off_t>(offset));
}

size_t PosixEnv::write(int fd, std::string_view data, int64_t offset, const stdfs::path&) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = offset == kAtPosition
                    ? ::write(fd, data.data() + done, data.size() - done)
                    : ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    done += static_cast<size_t>(n);
  }
  return done;
}

int PosixEnv::fsync(int fd, const stdfs::path&) { return ::fsync(fd); }

int PosixEnv::syncfs(int fd, const stdfs::path&) { return ::syncfs(fd); }

int PosixEnv::ftruncate(int fd, uint64_t size, const stdfs::path&) {
  return ::ftruncate(fd, static_cast<off_t>(size));
}

int PosixEnv::rename(const stdfs::path& from, const stdfs::path& to) { return ::rename(from.c_str(), to.c_str()); }

int PosixEnv::exchange(const stdfs::path& a, const stdfs::path& b) {
#ifdef SYS_renameat2
  constexpr unsigned kRenameExchange = 2;  // RENAME_EXCHANGE
  return static_cast<int>(::syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), kRenameExchange));
#else
  errno = ENOSYS;
  return -1;
#endif
}

int PosixEnv::unlink(const stdfs::path& path) { return ::unlink(path.c_str()); }

int PosixEnv::unlinkat(int dirfd, const std::string& name, int flags, const stdfs::path&) {
  return ::unlinkat(dirfd, name.c_str(), flags);
}

int PosixEnv::mkdir(const stdfs::path& path, mode_t mode) { return ::mkdir(path.c_str(), mode); }

int PosixEnv::mkdirat(int dirfd, const std::string& name, mode_t mode, const stdfs::path&) {
  return ::mkdirat(dirfd, name.c_str(), mode);
}

int PosixEnv::mkdtemp(std::string& templ) { return ::mkdtemp(templ.data()) ? 0 : -1; }

int PosixEnv::symlink(const std::string& target, const stdfs::path& link) {
  return ::symlink(target.c_str(), link.c_str());
}

int PosixEnv::symlinkat(const std::string& target, int dirfd, const std::string& name, const stdfs::path&) {
  return ::symlinkat(target.c_str(), dirfd, name.c_str());
}

int PosixEnv::link(const stdfs::path& from, const stdfs::path& to) { return ::link(from.c_str(), to.c_str()); }

int PosixEnv::linkat(int from_dirfd, const std::string& from, int dirfd, const std::string& name,
                     const stdfs::path&) {
  return ::linkat(from_dirfd, from.c_str(), dirfd, name.c_str(), 0);
}

int PosixEnv::mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev, const stdfs::path&) {
  return ::mknodat(dirfd, name.c_str(), mode, dev);
}

int PosixEnv::fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid, int flags) {
  return ::fchownat(dirfd, name.c_str(), uid, gid, flags);
}

int PosixEnv::fchmod(int fd, mode_t mode) { return ::fchmod(fd, mode); }

int PosixEnv::fchmodat(int dirfd, const stdfs::path& path, mode_t mode) {
  return ::fchmodat(dirfd, path.c_str(), mode, 0);
}

int PosixEnv::futimens(int fd, const struct timespec times[2]) { return ::futimens(fd, times); }

int PosixEnv::utimensat(int dirfd, const stdfs::path& path, const struct timespec times[2], int flags) {
  return ::utimensat(dirfd, path.c_str(), times, flags);
}

int PosixEnv::flock(int fd, int operation) { return ::flock(fd, operation); }

int64_t PosixEnv::now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
std::atomic<Env*> g_current{nullptr};
}  // namespace

Env& posix_env() {
  static Env* posix = new PosixEnv;  // never destroyed: files are still closed at exit
  return *posix;
}

Env& env() {
  Env* e = g_current.load(std::memory_order_acquire);
  return e ? *e : posix_env();
}

UseEnv::UseEnv(Env& e) : previous_(g_current.exchange(&e, std::memory_order_acq_rel)) {}

UseEnv::~UseEnv() { g_current.store(previous_, std::memory_order_release); }

}  // namespace mdb::fs
