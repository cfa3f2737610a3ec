#pragma once
// The one file layer every read and write of ours goes through (like LevelDB's Env). Two levels:
//  - `Env`: the operating system's primitives (open, write, fsync, rename, mkdir, flock, the
//    clock, ...), one virtual call each. `PosixEnv` makes the system calls; `EnvWrapper`
//    forwards to another Env; `FaultEnv` (fault_env.h) injects failures and traces operations
//    before forwarding. One Env is current per process: `env()`, swapped with `UseEnv`.
//  - `File` and the free functions below (write_file_atomic, rename, mkdirs, remove_tree, ...):
//    what the rest of the code calls. They turn failures into IoError naming the path, and count
//    reads and writes in `stats()` so tests can assert that an unchanged tree is not read.
// How the current Env is chosen (MDB_FAULT* at startup) and how tests swap it:
// docs/ARCHITECTURE.md, "platform: the Env".
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace mdb::fs {

namespace stdfs = std::filesystem;

// An I/O failure naming the path and the system error.
class IoError : public Error {
 public:
  IoError(const std::string& what, const stdfs::path& path, int err);
  int err() const { return err_; }

 private:
  int err_;
};

// Counters, for tests and progress output.
struct Stats {
  uint64_t files_opened_for_read = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
};
Stats& stats();

// The operating system as the file layer sees it. The primitives keep the system calls'
// conventions (-1 with errno set on failure) but take the path that names the object, for
// traces and injected errors; an Env that injects a failure may instead throw IoError, or stop
// the process, before the operation. A write (create, write, fsync, truncate, rename, exchange,
// remove, mkdir, symlink, link, mknod) is one "fault point" of FaultEnv; reads, metadata and the
// cleanup removals of `unlinkat` are not.
class Env {
 public:
  static constexpr int64_t kAtPosition = -1;  // write() at the file position

  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  virtual ~Env() = default;

  // A new descriptor, or -1. With O_CREAT it is a write.
  virtual int open(const stdfs::path& path, int flags, mode_t mode) = 0;
  // `name` inside the open directory `dirfd` (AT_FDCWD: the working directory).
  virtual int openat(int dirfd, const std::string& name, int flags, mode_t mode, const stdfs::path& path) = 0;
  virtual int close(int fd) = 0;
  virtual ssize_t read(int fd, char* buf, size_t n) = 0;
  virtual ssize_t pread(int fd, char* buf, size_t n, uint64_t offset) = 0;
  // Writes all of `data` at `offset` (or kAtPosition), going on after partial writes and EINTR:
  // one write, whatever the system calls. Returns the bytes written, fewer only with errno set.
  virtual size_t write(int fd, std::string_view data, int64_t offset, const stdfs::path& path) = 0;
  virtual int fsync(int fd, const stdfs::path& path) = 0;
  virtual int syncfs(int fd, const stdfs::path& path) = 0;
  virtual int ftruncate(int fd, uint64_t size, const stdfs::path& path) = 0;
  virtual int rename(const stdfs::path& from, const stdfs::path& to) = 0;
  // renameat2(RENAME_EXCHANGE); -1 with ENOSYS where the system has no such call.
  virtual int exchange(const stdfs::path& a, const stdfs::path& b) = 0;
  virtual int unlink(const stdfs::path& path) = 0;
  // A removal that is cleanup (the entries of a tree after remove_tree's one fault point, a
  // leftover on a failure path, an emptied folder of ours): not a fault point.
  virtual int unlinkat(int dirfd, const std::string& name, int flags, const stdfs::path& path) = 0;
  virtual int mkdir(const stdfs::path& path, mode_t mode) = 0;
  virtual int mkdirat(int dirfd, const std::string& name, mode_t mode, const stdfs::path& path) = 0;
  // mkdtemp(3): replaces the trailing XXXXXX of `templ`.
  virtual int mkdtemp(std::string& templ) = 0;
  virtual int symlink(const std::string& target, const stdfs::path& link) = 0;
  virtual int symlinkat(const std::string& target, int dirfd, const std::string& name, const stdfs::path& path) = 0;
  virtual int link(const stdfs::path& from, const stdfs::path& to) = 0;
  // linkat(2) without AT_SYMLINK_FOLLOW: `name` in `dirfd` becomes a link to `from` in `from_dirfd`.
  virtual int linkat(int from_dirfd, const std::string& from, int dirfd, const std::string& name,
                     const stdfs::path& path) = 0;
  // mknodat(2): a FIFO or a device node.
  virtual int mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev, const stdfs::path& path) = 0;
  // Metadata: not writes.
  // fchownat(2); `name` empty with AT_EMPTY_PATH: `dirfd` itself.
  virtual int fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid, int flags) = 0;
  virtual int fchmod(int fd, mode_t mode) = 0;
  virtual int fchmodat(int dirfd, const stdfs::path& path, mode_t mode) = 0;
  virtual int futimens(int fd, const struct timespec times[2]) = 0;
  virtual int utimensat(int dirfd, const stdfs::path& path, const struct timespec times[2], int flags) = 0;
  virtual int flock(int fd, int operation) = 0;
  // The wall clock, in nanoseconds since the Unix epoch.
  virtual int64_t now_ns() = 0;

  // Hooks for writes made outside the primitives above (SQLite's own I/O through the VFS of
  // sqlite.cc, LMDB's commit, a whole tree's removal): called before such a write, like the
  // primitives of a FaultEnv call them.
  virtual void fault_point(std::string_view what, const stdfs::path& path) = 0;
  // How many of `size` bytes such a write should really write (an injected short write).
  virtual size_t write_size(size_t size) = 0;
  // Records an event that is not a write (SQLite's write lock taken or released).
  virtual void trace(std::string_view what, const stdfs::path& path) = 0;
  // Whether the hooks do anything: SQLite's I/O is routed through them only then.
  virtual bool hooks_active() const = 0;
  // Whether writes are numbered (fault injection: a test names the n-th write), so they must
  // come in the same order run after run: work that would overlap other writes (an import's
  // extraction beside its snapshot) runs before them instead.
  virtual bool numbers_writes() const = 0;
};

// The system calls; hooks that do nothing.
class PosixEnv : public Env {
 public:
  int open(const stdfs::path& path, int flags, mode_t mode) override;
  int openat(int dirfd, const std::string& name, int flags, mode_t mode, const stdfs::path& path) override;
  int close(int fd) override;
  ssize_t read(int fd, char* buf, size_t n) override;
  ssize_t pread(int fd, char* buf, size_t n, uint64_t offset) override;
  size_t write(int fd, std::string_view data, int64_t offset, const stdfs::path& path) override;
  int fsync(int fd, const stdfs::path& path) override;
  int syncfs(int fd, const stdfs::path& path) override;
  int ftruncate(int fd, uint64_t size, const stdfs::path& path) override;
  int rename(const stdfs::path& from, const stdfs::path& to) override;
  int exchange(const stdfs::path& a, const stdfs::path& b) override;
  int unlink(const stdfs::path& path) override;
  int unlinkat(int dirfd, const std::string& name, int flags, const stdfs::path& path) override;
  int mkdir(const stdfs::path& path, mode_t mode) override;
  int mkdirat(int dirfd, const std::string& name, mode_t mode, const stdfs::path& path) override;
  int mkdtemp(std::string& templ) override;
  int symlink(const std::string& target, const stdfs::path& link) override;
  int symlinkat(const std::string& target, int dirfd, const std::string& name, const stdfs::path& path) override;
  int link(const stdfs::path& from, const stdfs::path& to) override;
  int linkat(int from_dirfd, const std::string& from, int dirfd, const std::string& name,
             const stdfs::path& path) override;
  int mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev, const stdfs::path& path) override;
  int fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid, int flags) override;
  int fchmod(int fd, mode_t mode) override;
  int fchmodat(int dirfd, const stdfs::path& path, mode_t mode) override;
  int futimens(int fd, const struct timespec times[2]) override;
  int utimensat(int dirfd, const stdfs::path& path, const struct timespec times[2], int flags) override;
  int flock(int fd, int operation) override;
  int64_t now_ns() override;
  void fault_point(std::string_view, const stdfs::path&) override {}
  size_t write_size(size_t size) override { return size; }
  void trace(std::string_view, const stdfs::path&) override {}
  bool hooks_active() const override { return false; }
  bool numbers_writes() const override { return false; }
};

// Forwards everything to `target`; subclasses override what they change.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env& target) : target_(target) {}
  Env& target() const { return target_; }

  int open(const stdfs::path& path, int flags, mode_t mode) override { return target_.open(path, flags, mode); }
  int openat(int dirfd, const std::string& name, int flags, mode_t mode, const stdfs::path& path) override {
    return target_.openat(dirfd, name, flags, mode, path);
  }
  int close(int fd) override { return target_.close(fd); }
  ssize_t read(int fd, char* buf, size_t n) override { return target_.read(fd, buf, n); }
  ssize_t pread(int fd, char* buf, size_t n, uint64_t offset) override { return target_.pread(fd, buf, n, offset); }
  size_t write(int fd, std::string_view data, int64_t offset, const stdfs::path& path) override {
    return target_.write(fd, data, offset, path);
  }
  int fsync(int fd, const stdfs::path& path) override { return target_.fsync(fd, path); }
  int syncfs(int fd, const stdfs::path& path) override { return target_.syncfs(fd, path); }
  int ftruncate(int fd, uint64_t size, const stdfs::path& path) override { return target_.ftruncate(fd, size, path); }
  int rename(const stdfs::path& from, const stdfs::path& to) override { return target_.rename(from, to); }
  int exchange(const stdfs::path& a, const stdfs::path& b) override { return target_.exchange(a, b); }
  int unlink(const stdfs::path& path) override { return target_.unlink(path); }
  int unlinkat(int dirfd, const std::string& name, int flags, const stdfs::path& path) override {
    return target_.unlinkat(dirfd, name, flags, path);
  }
  int mkdir(const stdfs::path& path, mode_t mode) override { return target_.mkdir(path, mode); }
  int mkdirat(int dirfd, const std::string& name, mode_t mode, const stdfs::path& path) override {
    return target_.mkdirat(dirfd, name, mode, path);
  }
  int mkdtemp(std::string& templ) override { return target_.mkdtemp(templ); }
  int symlink(const std::string& target, const stdfs::path& link) override { return target_.symlink(target, link); }
  int symlinkat(const std::string& target, int dirfd, const std::string& name, const stdfs::path& path) override {
    return target_.symlinkat(target, dirfd, name, path);
  }
  int link(const stdfs::path& from, const stdfs::path& to) override { return target_.link(from, to); }
  int linkat(int from_dirfd, const std::string& from, int dirfd, const std::string& name,
             const stdfs::path& path) override {
    return target_.linkat(from_dirfd, from, dirfd, name, path);
  }
  int mknodat(int dirfd, const std::string& name, mode_t mode, dev_t dev, const stdfs::path& path) override {
    return target_.mknodat(dirfd, name, mode, dev, path);
  }
  int fchownat(int dirfd, const std::string& name, uid_t uid, gid_t gid, int flags) override {
    return target_.fchownat(dirfd, name, uid, gid, flags);
  }
  int fchmod(int fd, mode_t mode) override { return target_.fchmod(fd, mode); }
  int fchmodat(int dirfd, const stdfs::path& path, mode_t mode) override { return target_.fchmodat(dirfd, path, mode); }
  int futimens(int fd, const struct timespec times[2]) override { return target_.futimens(fd, times); }
  int utimensat(int dirfd, const stdfs::path& path, const struct timespec times[2], int flags) override {
    return target_.utimensat(dirfd, path, times, flags);
  }
  int flock(int fd, int operation) override { return target_.flock(fd, operation); }
  int64_t now_ns() override { return target_.now_ns(); }
  void fault_point(std::string_view what, const stdfs::path& path) override { target_.fault_point(what, path); }
  size_t write_size(size_t size) override { return target_.write_size(size); }
  void trace(std::string_view what, const stdfs::path& path) override { target_.trace(what, path); }
  bool hooks_active() const override { return target_.hooks_active(); }
  bool numbers_writes() const override { return target_.numbers_writes(); }

 private:
  Env& target_;
};

// The process's PosixEnv (never destroyed, so it outlives every static that uses files).
Env& posix_env();
// The current Env: posix_env() unless a UseEnv is in force.
Env& env();

// Makes `e` the current Env while it lives, then restores the one before. Set up in main()
// (from MDB_FAULT*) or by a test, before any thread that uses files starts.
class UseEnv {
 public:
  explicit UseEnv(Env& e);
  UseEnv(const UseEnv&) = delete;
  UseEnv& operator=(const UseEnv&) = delete;
  ~UseEnv();

 private:
  Env* previous_;
};

// Move-only file descriptor.
class File {
 public:
  File() = default;
  File(int fd, stdfs::path path) : fd_(fd), path_(std::move(path)) {}
  File(File&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  File& operator=(File&& o) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  static File open_read(const stdfs::path& path);
  // Opens `name` in the directory `dirfd` for reading, never following a symlink; `path` is
  // only for messages.
  static File open_read_at(int dirfd, const std::string& name, stdfs::path path);
  // The regular file at the relative path `rel` ('/'-separated plain names: no "", "." or
  // "..") inside the directory `root`, opened without following a symlink anywhere on the
  // way; nullopt when there is none (missing, a symlink, not a regular file, unreadable).
  static std::optional<File> open_read_inside(const stdfs::path& root, std::string_view rel);
  // Creates or truncates. `exclusive`: fail if it exists.
  static File create(const stdfs::path& path, bool exclusive = false, mode_t mode = 0644);
  // A new file in `dir` that no name refers to, for reading and writing: gone when closed,
  // whoever's crash closes it. O_TMPFILE; where the filesystem has none (NFS), an exclusive name
  // `<prefix><random><suffix>` removed right after its creation (a crash in between leaves it to
  // the caller's sweep of such names).
  static File create_unnamed(const stdfs::path& dir, const std::string& prefix, const std::string& suffix);
  // Opens for reading and writing, creating it when missing (never truncates).
  static File open_or_create(const stdfs::path& path, mode_t mode = 0644);
  static File open_dir(const stdfs::path& path);
  // Relative to the open directory `dir` (no path walk, never following a symlink at
  // `name`); `path` is only for messages.
  static File create_at(const File& dir, const std::string& name, stdfs::path path, mode_t mode);  // exclusive
  static File open_dir_at(const File& dir, const std::string& name, stdfs::path path);

  int fd() const { return fd_; }
  const stdfs::path& path() const { return path_; }
  bool valid() const { return fd_ >= 0; }

  void write_all(std::string_view data);
  void pwrite_all(std::string_view data, uint64_t offset);
  // Reads up to n bytes; returns fewer only at end of file.
  size_t read(char* buf, size_t n);
  size_t pread(char* buf, size_t n, uint64_t offset);
  std::string read_all();
  void sync();
  // Asks the kernel to start writing back `len` bytes from `offset` without waiting (advice,
  // not a fault point: the sync() that follows is what makes them durable).
  void start_writeback(uint64_t offset, uint64_t len);
  void truncate(uint64_t size);
  // Permission bits and modification time of the open file or directory (metadata only:
  // not a fault point).
  void set_mode_and_mtime(mode_t mode, const struct timespec& mtime);
  // chown of the open file or directory (metadata only). Before set_mode_and_mtime: a chown
  // clears the set-user-ID and set-group-ID bits.
  void set_owner(uid_t uid, gid_t gid);
  uint64_t size() const;
  struct stat stat() const;
  void close();  // reports close errors, unlike the destructor

 private:
  void write_at(std::string_view data, int64_t offset);

  int fd_ = -1;
  stdfs::path path_;
};

std::string read_file(const stdfs::path& path);

// This tool's cache: `$XDG_CACHE_HOME/mephisto-db`, else `$HOME/.cache/mephisto-db` (the XDG
// convention). Needs no data dir. Deleting it is always safe: it holds scratch space and what can
// be rebuilt (an S3 store's index, docs/S3.md). An error when neither variable is set. Nothing is
// created here.
stdfs::path cache_dir();
// `<cache>/tmp`: the cache's scratch space (private dirs of diff, verify -f and the S3 spool, and
// SQLite's own temporary files). Nothing is created here.
stdfs::path cache_scratch_dir();
// Writes `data` to a temp file beside `path`, fsyncs it, renames over `path`, fsyncs the dir.
void write_file_atomic(const stdfs::path& path, std::string_view data, mode_t mode = 0644);
void rename(const stdfs::path& from, const stdfs::path& to);
// Atomically exchanges two paths (renameat2 RENAME_EXCHANGE). Returns false when the
// filesystem does not support it (EINVAL/ENOSYS), so callers can fall back.
bool exchange(const stdfs::path& a, const stdfs::path& b);
void sync_dir(const stdfs::path& dir);
void mkdirs(const stdfs::path& dir, mode_t mode = 0755);
// One mkdir; an existing path (even a directory) is an error.
void make_dir(const stdfs::path& dir, mode_t mode);
void symlink(const std::string& target, const stdfs::path& link);
// mkdir / symlink / mtime of `name` inside the open directory `dir`; `path` is for messages.
void make_dir_at(const File& dir, const std::string& name, mode_t mode, const stdfs::path& path);
void symlink_at(const std::string& target, const File& dir, const std::string& name, const stdfs::path& path);
void set_mtime_at(const File& dir, const std::string& name, const struct timespec& mtime, const stdfs::path& path);
// Permission bits of `name` in `dir` (not a symlink; a FIFO need not be opened for it).
void set_mode_at(const File& dir, const std::string& name, mode_t mode, const stdfs::path& path);
// lchown of `name` in `dir`, never following a symlink.
void set_owner_at(const File& dir, const std::string& name, uid_t uid, gid_t gid, const stdfs::path& path);
// `name` in `dir` becomes a hard link to `from` (relative to `from_dir`, a final symlink not followed).
void hard_link_at(const File& from_dir, const std::string& from, const File& dir, const std::string& name,
                  const stdfs::path& path);
// A FIFO or a device node `name` in `dir` (`mode` holds the type bits).
void make_node_at(const File& dir, const std::string& name, mode_t mode, dev_t dev, const stdfs::path& path);
void hard_link(const stdfs::path& from, const stdfs::path& to);
// Sets permission bits (not for symlinks) and the modification time, never following a
// symlink at `path`. Metadata only: not a fault point.
void set_mode_and_mtime(const stdfs::path& path, mode_t mode, const struct timespec& mtime, bool is_symlink);
// Flushes the whole filesystem holding `path` (syncfs): one call instead of an fsync per
// file after writing many files.
void sync_filesystem(const stdfs::path& path);
void remove_file(const stdfs::path& path);       // missing is fine
// Cleanup that is no write of the command (a temp file a failed write left, a folder of ours
// once it is empty): not a fault point; failures (missing, not empty) are ignored.
void discard_file(const stdfs::path& path) noexcept;
void discard_empty_dir(const stdfs::path& dir) noexcept;
bool exists(const stdfs::path& path);            // lstat-based: a dangling symlink exists
// Whether two stats are of the same file in the same state, as far as stat can tell: device,
// inode, size, modification and change time (a write moves mtime, a replaced file its inode).
bool same_state(const struct stat& a, const struct stat& b);

// The one way a tree is removed (docs/mounts.md). Removes `path` and everything under it
// without leaving its filesystem (`rm --one-file-system`): entries are removed relative to
// their open parent (openat/unlinkat), a symlink is removed, never followed, and a directory
// that is a mount point (another st_dev, or the root of a bind mount) is never entered. Such
// a mount point is left in place, with the directories leading to it, and named in the
// MountPointLeft thrown once everything else is removed; so is `path` itself when it is a
// mount point (then nothing is removed). Missing is fine. `removed(n)`, when given, is called
// as entries go, for progress (count_tree gives the total).
void remove_tree(const stdfs::path& path, const std::function<void(uint64_t)>& removed = {});
// The entries remove_tree(path) would remove (`path` itself included).
uint64_t count_tree(const stdfs::path& path);
// remove_tree without its fault point, for cleanup on every exit path (a temporary directory's
// destructor): a fault there would only hide the fault under test.
void remove_tree_unfaulted(const stdfs::path& path);

// Thrown by remove_tree when it left mount points in place.
class MountPointLeft : public IoError {
 public:
  MountPointLeft(const stdfs::path& tree, std::vector<stdfs::path> mounts);
  const std::vector<stdfs::path>& mounts() const { return mounts_; }

 private:
  std::vector<stdfs::path> mounts_;
};

// Whether `path` is a directory on which something is mounted: its st_dev differs from its
// parent's, or it is the root of a mount (a bind mount of the same filesystem included).
bool is_mount_point(const stdfs::path& path);
// The mount points strictly inside the directory `dir` (an absolute, symlink-free path),
// sorted, from /proc/self/mountinfo.
std::vector<stdfs::path> mount_points_inside(const stdfs::path& dir);

}  // namespace mdb::fs
