#pragma once
// Writes the run files of a data dir with deterministic modification times: each file
// gets the time of the row it belongs to, and every directory that gained an entry gets
// the time given to flush_dirs(), so the same seed gives the same tree, mtimes included.
#include <cstdint>
#include <filesystem>
#include <set>
#include <string_view>

namespace mdb::sample {

namespace stdfs = std::filesystem;

class Files {
 public:
  explicit Files(stdfs::path root) : root_(std::move(root)) {}

  // Writes `rel` (relative to the root), creating its directories. `mtime_us`: Unix microseconds.
  void write(const stdfs::path& rel, std::string_view bytes, int64_t mtime_us);
  // Rewrites an existing file in place (its directory gains no entry).
  void rewrite(const stdfs::path& rel, std::string_view bytes, int64_t mtime_us);
  // Marks a directory as changed by something else (SQLite's journal files).
  void touched(const stdfs::path& rel) { touched_.insert(root_ / rel); }
  // Sets the mtime of every changed directory, deepest first, and forgets them.
  void flush_dirs(int64_t mtime_us);

  const stdfs::path& root() const { return root_; }
  uint64_t files() const { return files_; }
  uint64_t bytes() const { return bytes_; }

 private:
  void make_dirs(const stdfs::path& dir);
  void put(const stdfs::path& path, std::string_view bytes, int64_t mtime_us);

  stdfs::path root_;
  std::set<stdfs::path> known_;    // directories known to exist, since the last flush
  std::set<stdfs::path> touched_;  // directories that gained an entry, since the last flush
  uint64_t files_ = 0;
  uint64_t bytes_ = 0;
};

// Sets the modification (and access) time of `path`.
void set_mtime(const stdfs::path& path, int64_t mtime_us);

}  // namespace mdb::sample
