#pragma once
// FaultEnv: an Env that fails, stops or traces the process at chosen writes, for crash and
// fault-injection tests. Each write (see Env: create, write, fsync, truncate, rename, exchange,
// remove, mkdir, symlink, link; and the hooks' writes: SQLite's, LMDB's commit, a tree's
// removal) is one fault point, numbered from 1 in the order they happen:
//   kind kill     the process is killed (SIGKILL) there, as by a power cut;
//        enospc   the write fails with ENOSPC (disk full); eio: with EIO;
//        short    the write writes half its bytes, then fails with EIO;
//        sigint, sigterm, sighup: that signal is sent to the process (a user's Ctrl-C or kill)
//                 and the write goes on.
// It fires at the n-th point, or (`repeat`) at that point and every later one (a disk that
// stays full, a user pressing Ctrl-C again while the command cleans up). Optionally the
// number of points passed is written to a file when the FaultEnv ends (or just before a
// kill), and each point and each SQLite write lock taken ("lock") or released ("unlock") is
// appended to a trace file as "<operation>\t<path>", so tests can check the order of writes.
// A wrong clock: optionally the wall clock starts at a given time (and runs on from there), for
// tests of what depends on when things happened (prune's calendar rules).
// The binary builds one from MDB_FAULT, MDB_FAULT_COUNT, MDB_FAULT_TRACE and MDB_FAULT_CLOCK
// (seconds since the epoch) (cli/main.cc);
// tests in the process build one directly and install it with UseEnv.
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>

#include "platform/env.h"

namespace mdb::fs {

struct FaultSpec {
  enum class Kind { None, Kill, Enospc, Eio, Short, Signal };
  Kind kind = Kind::None;
  int signal = 0;       // Kind::Signal
  uint64_t at = 0;      // the n-th point, from 1
  bool repeat = false;  // and every later one

  // "<kind>@<n>" or "<kind>@<n>+" (MDB_FAULT's syntax); an unknown kind injects nothing.
  static FaultSpec parse(std::string_view text);
};

class FaultEnv : public EnvWrapper {
 public:
  // `count_file`, `trace_file`: empty for none.
  FaultEnv(Env& target, FaultSpec spec, std::string count_file = {}, const std::string& trace_file = {});
  ~FaultEnv() override;  // writes the count file

  // Fault points passed so far.
  uint64_t points() const;
  // From now on the clock reads `unix_seconds` and runs on from there.
  void set_clock(int64_t unix_seconds);
  int64_t now_ns() override;

  int open(const stdfs::path& path, int flags, mode_t mode) override;
  int openat(int dirfd, const std::string& name, int flags, mode_t mode, const stdfs::path& path) override;
  size_t write(int fd, std::string_view data, int64_t offset, const stdfs::path& path) override;
  int fsync(int fd, const stdfs::path& path) override;
  int syncfs(int fd, const stdfs::path& path) override;
  int ftruncate(int fd, uint64_t size, const stdfs::path& path) override;
  int rename(const stdfs::path& from, const stdfs::path& to) override;
  int exchange(const stdfs::path& a, const stdfs::path& b) override;
  int unlink(const stdfs::path& path) override;
  int mkdir(const stdfs::path& path, mode_t mode) override;
  int mkdirat(int dirfd, const std::string& name, mode_t mode, const stdfs::path& path) override;
  int mkdtemp(std::string& templ) override;
  int symlink(const std::string& target, const stdfs::path& link) override;
  int symlinkat(const std::string& target, int dirfd, const std::string& name, const stdfs::path& path) override;
  int link(const stdfs::path& from, const stdfs::path& to) override;
  int linkat(int from_dirfd, const std::string& from, int dirfd, const std::string& name,
             const stdfs::path& path) override;
  int mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev, const stdfs::path& path) override;

  void fault_point(std::string_view what, const stdfs::path& path) override;
  size_t write_size(size_t size) override;
  void trace(std::string_view what, const stdfs::path& path) override;
  bool hooks_active() const override { return true; }
  bool numbers_writes() const override { return true; }

 private:
  void write_count() const;

  FaultSpec spec_;
  std::string count_file_;
  std::FILE* trace_ = nullptr;
  mutable std::mutex mutex_;  // writes come from several threads (the store's compressors)
  uint64_t points_ = 0;
  bool short_pending_ = false;
  std::optional<int64_t> clock_offset_ns_;  // set_clock: added to the real clock
};

}  // namespace mdb::fs
