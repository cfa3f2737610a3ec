#pragma once
// The one file layer every write of ours goes through (like LevelDB's Env). It counts
// operations so tests can assert that an unchanged tree is not read, and it hosts the
// fault points used by crash and fault-injection tests:
//   MDB_FAULT=<kind>@<n>  kind = kill | enospc | eio | short | sigint | sigterm | sighup; fires
//                         at the n-th fault point (each write, fsync, rename, remove or mkdir
//                         counts as one). The signal kinds send that signal to the process, as
//                         a user's Ctrl-C or kill would, at exactly that point. "<kind>@<n>+"
//                         fires at that point and every later one (a disk that stays full, a
//                         user pressing Ctrl-C again while the command cleans up).
//   MDB_FAULT_COUNT=FILE  at exit, write the number of fault points passed to FILE.
//   MDB_FAULT_TRACE=FILE  append "<operation>\t<path>" to FILE for each fault point, and for each
//                         SQLite write lock taken ("lock") or released ("unlock"), so tests can
//                         check the order of a command's writes.
// Without these variables the layer is a thin RAII wrapper over POSIX calls.
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
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
  uint64_t fault_points = 0;
};
Stats& stats();

// Called before every mutating operation. Throws IoError or kills the process when the
// configured fault fires. `what` names the operation for messages.
void fault_point(std::string_view what, const stdfs::path& path);
// Returns how many bytes a write of `size` should really write (short-write injection).
size_t fault_write_size(size_t size);
// Appends "<what>\t<path>" to the MDB_FAULT_TRACE file, if set (not a fault point).
void trace(std::string_view what, const stdfs::path& path);

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
  // Creates or truncates. `exclusive`: fail if it exists.
  static File create(const stdfs::path& path, bool exclusive = false, mode_t mode = 0644);
  static File open_append(const stdfs::path& path);
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
  void truncate(uint64_t size);
  // Permission bits and modification time of the open file or directory (metadata only:
  // not a fault point).
  void set_mode_and_mtime(mode_t mode, int64_t mtime_ns);
  uint64_t size() const;
  struct stat stat() const;
  void close();  // reports close errors, unlike the destructor

 private:
  int fd_ = -1;
  stdfs::path path_;
};

std::string read_file(const stdfs::path& path);
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
void set_mtime_at(const File& dir, const std::string& name, int64_t mtime_ns, const stdfs::path& path);
void hard_link(const stdfs::path& from, const stdfs::path& to);
// Sets permission bits (not for symlinks) and the modification time, never following a
// symlink at `path`. Metadata only: not a fault point.
void set_mode_and_mtime(const stdfs::path& path, mode_t mode, int64_t mtime_ns, bool is_symlink);
// Flushes the whole filesystem holding `path` (syncfs): one call instead of an fsync per
// file after writing many files.
void sync_filesystem(const stdfs::path& path);
void remove_file(const stdfs::path& path);       // missing is fine
bool exists(const stdfs::path& path);            // lstat-based: a dangling symlink exists

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
