#include "platform/fault_env.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

namespace mdb::fs {

FaultSpec FaultSpec::parse(std::string_view text) {
  FaultSpec spec;
  size_t at = text.find('@');
  std::string_view kind = text.substr(0, at);
  if (at != std::string_view::npos) spec.at = std::strtoull(std::string(text.substr(at + 1)).c_str(), nullptr, 10);
  spec.repeat = !text.empty() && text.back() == '+';
  if (kind == "kill") spec.kind = Kind::Kill;
  else if (kind == "enospc") spec.kind = Kind::Enospc;
  else if (kind == "eio") spec.kind = Kind::Eio;
  else if (kind == "short") spec.kind = Kind::Short;
  for (auto [name, sig] : {std::pair{"sigint", SIGINT}, {"sigterm", SIGTERM}, {"sighup", SIGHUP}})
    if (kind == name) {
      spec.kind = Kind::Signal;
      spec.signal = sig;
    }
  return spec;
}

FaultEnv::FaultEnv(Env& target, FaultSpec spec, std::string count_file, const std::string& trace_file)
    : EnvWrapper(target), spec_(spec), count_file_(std::move(count_file)) {
  // The count and the trace are the test's records, not writes of the command: plain stdio.
  if (!trace_file.empty()) {
    trace_ = std::fopen(trace_file.c_str(), "ae");
    if (trace_) std::setvbuf(trace_, nullptr, _IOLBF, 0);  // each line out at once: kills lose nothing
  }
}

FaultEnv::~FaultEnv() {
  write_count();
  if (trace_) std::fclose(trace_);
}

void FaultEnv::set_clock(int64_t unix_seconds) {
  clock_offset_ns_ = unix_seconds * 1'000'000'000 - EnvWrapper::now_ns();
}

int64_t FaultEnv::now_ns() { return EnvWrapper::now_ns() + clock_offset_ns_.value_or(0); }

uint64_t FaultEnv::points() const {
  std::lock_guard lock(mutex_);
  return points_;
}

void FaultEnv::write_count() const {
  if (count_file_.empty()) return;
  if (std::FILE* f = std::fopen(count_file_.c_str(), "we")) {
    std::fprintf(f, "%llu\n", static_cast<unsigned long long>(points_));
    std::fclose(f);
  }
}

void FaultEnv::trace(std::string_view what, const stdfs::path& path) {
  if (!trace_) return;
  std::string line = std::string(what) + "\t" + path.string() + "\n";
  std::fputs(line.c_str(), trace_);
}

void FaultEnv::fault_point(std::string_view what, const stdfs::path& path) {
  std::lock_guard lock(mutex_);
  trace(what, path);
  uint64_t n = ++points_;
  if (spec_.kind == FaultSpec::Kind::None || !(n == spec_.at || (spec_.repeat && n > spec_.at))) return;
  switch (spec_.kind) {
    case FaultSpec::Kind::Kill:
      write_count();
      ::kill(::getpid(), SIGKILL);
      break;
    case FaultSpec::Kind::Enospc: throw IoError(std::string(what) + " (injected fault)", path, ENOSPC);
    case FaultSpec::Kind::Eio: throw IoError(std::string(what) + " (injected fault)", path, EIO);
    case FaultSpec::Kind::Short: short_pending_ = true; break;
    case FaultSpec::Kind::Signal:
      // To the process, as a user's kill: a worker thread blocks signals (start_worker), so the
      // main thread takes it (before kill returns when it is the caller). The write goes on.
      ::kill(::getpid(), spec_.signal);
      break;
    case FaultSpec::Kind::None: break;
  }
}

size_t FaultEnv::write_size(size_t size) {
  std::lock_guard lock(mutex_);
  if (!short_pending_ || size < 2) return size;
  short_pending_ = false;
  return size / 2;
}

int FaultEnv::open(const stdfs::path& path, int flags, mode_t mode) {
  if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) fault_point("create", path);
  return EnvWrapper::open(path, flags, mode);
}

int FaultEnv::openat(int dirfd, const std::string& name, int flags, mode_t mode, const stdfs::path& path) {
  if (flags & O_CREAT) fault_point("create", path);
  return EnvWrapper::openat(dirfd, name, flags, mode, path);
}

size_t FaultEnv::write(int fd, std::string_view data, int64_t offset, const stdfs::path& path) {
  fault_point("write", path);
  size_t want = write_size(data.size());
  size_t done = EnvWrapper::write(fd, data.substr(0, want), offset, path);
  if (done == want && want < data.size()) throw IoError("short write (injected fault)", path, EIO);
  return done;
}

int FaultEnv::fsync(int fd, const stdfs::path& path) {
  fault_point("fsync", path);
  return EnvWrapper::fsync(fd, path);
}

int FaultEnv::syncfs(int fd, const stdfs::path& path) {
  fault_point("fsync", path);
  return EnvWrapper::syncfs(fd, path);
}

int FaultEnv::ftruncate(int fd, uint64_t size, const stdfs::path& path) {
  fault_point("truncate", path);
  return EnvWrapper::ftruncate(fd, size, path);
}

int FaultEnv::rename(const stdfs::path& from, const stdfs::path& to) {
  fault_point("rename", from);
  return EnvWrapper::rename(from, to);
}

int FaultEnv::exchange(const stdfs::path& a, const stdfs::path& b) {
  fault_point("exchange", a);
  return EnvWrapper::exchange(a, b);
}

int FaultEnv::unlink(const stdfs::path& path) {
  fault_point("remove", path);
  return EnvWrapper::unlink(path);
}

int FaultEnv::mkdir(const stdfs::path& path, mode_t mode) {
  fault_point("mkdir", path);
  return EnvWrapper::mkdir(path, mode);
}

int FaultEnv::mkdirat(int dirfd, const std::string& name, mode_t mode, const stdfs::path& path) {
  fault_point("mkdir", path);
  return EnvWrapper::mkdirat(dirfd, name, mode, path);
}

int FaultEnv::mkdtemp(std::string& templ) {
  fault_point("mkdir", templ);
  return EnvWrapper::mkdtemp(templ);
}

int FaultEnv::symlink(const std::string& target, const stdfs::path& link) {
  fault_point("symlink", link);
  return EnvWrapper::symlink(target, link);
}

int FaultEnv::symlinkat(const std::string& target, int dirfd, const std::string& name, const stdfs::path& path) {
  fault_point("symlink", path);
  return EnvWrapper::symlinkat(target, dirfd, name, path);
}

int FaultEnv::link(const stdfs::path& from, const stdfs::path& to) {
  fault_point("link", to);
  return EnvWrapper::link(from, to);
}

int FaultEnv::linkat(int from_dirfd, const std::string& from, int dirfd, const std::string& name,
                     const stdfs::path& path) {
  fault_point("link", path);
  return EnvWrapper::linkat(from_dirfd, from, dirfd, name, path);
}

int FaultEnv::mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev, const stdfs::path& path) {
  fault_point("mknod", path);
  return EnvWrapper::mknodat(dirfd, name, mode, dev, path);
}

}  // namespace mdb::fs
