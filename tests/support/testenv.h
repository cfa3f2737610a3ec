#pragma once
// Shared test plumbing: paths of the real binaries and fixtures, temp dirs, and running the
// `mephisto` binary as a user would (exit code, stdout, stderr).
#include <filesystem>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mdb::test {

namespace stdfs = std::filesystem;

stdfs::path mephisto_binary();
stdfs::path sample_binary();
// tests/fixtures/mephisto-1.5.2 (a copy of ../shared/fixtures, so CI needs nothing else).
stdfs::path fixtures();

struct RunResult {
  int exit_code = -1;  // -signal when killed
  std::string out, err;
  long max_rss_kb = 0;  // the command's peak resident memory
};

// Runs `binary args...` with `stdin_text` on stdin and extra environment variables
// (a value of "" unsets the variable). HOME points at an empty temp dir unless given.
RunResult run(const stdfs::path& binary, const std::vector<std::string>& args, const std::string& stdin_text = "",
              const std::map<std::string, std::string>& env = {});
RunResult run_mephisto(const std::vector<std::string>& args, const std::string& stdin_text = "",
                       const std::map<std::string, std::string>& env = {});
// Like run_mephisto, but `stdin_text` is written only once stdout shows `until` (e.g. a prompt)
// and `meanwhile` has run: what it does happens while the command waits for its answer.
RunResult run_mephisto_paused(const std::vector<std::string>& args, const std::string& until,
                              const std::function<void()>& meanwhile, const std::string& stdin_text,
                              const std::map<std::string, std::string>& env = {});
// Runs `mephisto args...` with stderr on a pseudo-terminal (progress bars shown), stdin on
// /dev/null, and stdout on the terminal too when `stdout_too` (else /dev/null). `out` is what
// reached the terminal, in order.
RunResult run_on_a_terminal(const std::vector<std::string>& args, bool stdout_too = true);

// Runs the binary and sends it `signal`, as a user's Ctrl-C or `kill` would, once stdout or
// stderr shows `until`, or (`until` empty) as soon as the process has installed its signal
// handlers. stdin stays open until then (a prompt waits), then gets `stdin_text`.
RunResult run_mephisto_signalled(const std::vector<std::string>& args, const std::string& until, int signal,
                                 const std::string& stdin_text = "",
                                 const std::map<std::string, std::string>& env = {});

// A fresh directory under the build's temp area, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  const stdfs::path& path() const { return path_; }
  stdfs::path operator/(const std::string& p) const { return path_ / p; }

 private:
  stdfs::path path_;
};

// MDB_THREADS set for this process (base/ordered_pool.h's worker_threads) while it lives; unset
// again after, even when an assertion ends the test early.
class ThreadsForTest {
 public:
  explicit ThreadsForTest(const char* threads);
  ~ThreadsForTest();
  ThreadsForTest(const ThreadsForTest&) = delete;
  ThreadsForTest& operator=(const ThreadsForTest&) = delete;
};

// Unzips `zip` into `dir` with the system's unzip (independent of our zip code).
void unzip_to(const stdfs::path& zip, const stdfs::path& dir);
// Everything under `root` as "relpath -> content" (files) and "relpath/ -> ''" (dirs).
std::map<std::string, std::string> tree(const stdfs::path& root);
std::string read(const stdfs::path& p);
// The files this process holds open that no name refers to (what /proc shows as "(deleted)").
std::vector<std::string> open_unnamed_files();
void write(const stdfs::path& p, const std::string& content);
// `sqlite3 DB .dump` of a database (logical content).
std::string sqlite_dump(const stdfs::path& db);

// A lock on the database `db` held by another process, as a running Mephisto would hold it,
// until destruction: `begin` is "BEGIN EXCLUSIVE" (readers and writers must wait), "BEGIN
// IMMEDIATE" (a write transaction: writers must wait) or "BEGIN; SELECT ..." (a read
// transaction). A child process holds it: POSIX locks of the test's own process would vanish
// when it closes any descriptor of the file (reading it for tree(), say).
class SqliteLock {
 public:
  SqliteLock(const stdfs::path& db, const std::string& begin);
  ~SqliteLock();
  SqliteLock(const SqliteLock&) = delete;
  SqliteLock& operator=(const SqliteLock&) = delete;

 private:
  int pid_ = -1;
  int release_ = -1;  // closing it lets the child go
};

// A stored (uncompressed) zip made byte by byte, to build archives our zip writer refuses to
// make: unsafe or invalid names, symlinks, sizes that lie. The UTF-8 flag is set for valid names.
struct RawZipMember {
  RawZipMember(std::string n, std::string d, uint32_t mode = 0100644, std::optional<uint32_t> declared = {})
      : name(std::move(n)), data(std::move(d)), unix_mode(mode), declared_size(declared) {}
  std::string name, data;
  uint32_t unix_mode;                     // st_mode bits (0120777 makes a symlink)
  std::optional<uint32_t> declared_size;  // a lie about the size, in both headers
};
std::string raw_zip(const std::vector<RawZipMember>& members);

// A data dir as the user sees it: tree() without our `.mephisto-db/`, with every *.db file by its
// `.dump` (databases restored from a snapshot are logically, not bytewise, equal).
std::map<std::string, std::string> logical_tree(const stdfs::path& root);

// The paths whose content differs between two such maps, one a line ("  + path" when only in
// `b`): a readable failure message where printing whole maps is not.
std::string changed_paths(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b);

}  // namespace mdb::test

namespace mdb::test {

// A mount made for a test (the tests run as root, as CI does), undone at destruction (lazily,
// MNT_DETACH) even when the test fails. Declare it after the TempDir it lives in, so it goes
// first. A mount that cannot be made throws std::runtime_error with the reason: the test
// fails, it never skips.
class Mount {
 public:
  // `mount --bind from to` (`to` must exist)
  static std::unique_ptr<Mount> bind(const stdfs::path& from, const stdfs::path& to);
  // `mount -t tmpfs none dir` (created when missing)
  static std::unique_ptr<Mount> tmpfs(const stdfs::path& dir);
  ~Mount();
  Mount(const Mount&) = delete;
  const stdfs::path& path() const { return path_; }

 private:
  Mount(stdfs::path p, uint64_t id) : path_(std::move(p)), id_(id) {}
  stdfs::path path_;
  uint64_t id_;  // found again by this id at destruction, wherever it was moved
};

// Whether `p` is a mount point of this process's mount namespace (/proc/self/mountinfo), also a
// bind mount from the same filesystem, which an st_dev comparison cannot see.
bool is_mount_point(const stdfs::path& p);

}  // namespace mdb::test
