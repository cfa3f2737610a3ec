#pragma once
// Zip archives: a deterministic streaming writer (on zlib and libdeflate, zip_writer.cc) and a safe reader
// (on libzip, zip.cc).
//
// formats/ does no file writes of its own: a Writer's archive bytes go to a zip::Output,
// which the store layer implements over its file layer (temp file beside the target, fault
// points, rename on commit; see store/zipfile.h), and member contents come from zip::Input
// streams read once, front to back, as each member is added. Memory holds one buffer and the
// central directory records (a few dozen bytes per member), whatever the members' sizes.
//
// The Reader never trusts an archive: validate() checks every member (relative names
// without `..`, no symlinks or devices, no duplicates, bounded sizes) before anything is
// extracted, and stream() checks each member's actual size against its declared size.
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ordered_pool.h"

struct zip;
struct zip_file;
struct zip_source;
struct zip_error;

namespace mdb::zip {

// Where a Writer's archive bytes go. Methods may throw; the Writer passes the exception on.
class Output {
 public:
  virtual ~Output() = default;
  // Starts a fresh archive (nothing written yet).
  virtual void begin() = 0;
  virtual void write_at(uint64_t offset, std::string_view data) = 0;
  // Makes the archive durable and visible under its final name.
  virtual void commit() = 0;
  // Removes everything written; never throws; may be called more than once.
  virtual void rollback() noexcept = 0;
  // The final path, for messages.
  virtual std::string name() const = 0;
};

// The bytes of one member, read once while the archive is written.
class Input {
 public:
  virtual ~Input() = default;
  // Called right before the first read.
  virtual void open() {}
  // Fills up to n bytes; returns 0 at the end.
  virtual size_t read(char* buf, size_t n) = 0;
  // The size, if known when the writer asks (right after open()); lets the writer avoid
  // zip64 fields for small members. A wrong value is an error.
  virtual std::optional<uint64_t> size() { return std::nullopt; }
  // Called after the last read.
  virtual void close() {}
};

// An Input over bytes in memory.
std::unique_ptr<Input> memory_input(std::string data);

// Member names: relative, '/'-separated, no empty, "." or ".." components, no NUL;
// directories end in '/'. Throws mdb::Error naming the archive and the member otherwise.
void check_member_name(std::string_view name, bool directory, const std::string& archive);

class Writer {
 public:
  // Every member gets the modification time `mtime` (a fixed value makes archives
  // reproducible) and Unix modes 0644 (files) / 0755 (directories, executables).
  // Members up to 1 MiB are compressed on `threads` worker threads; the archive's bytes are
  // the same whatever the thread count (inputs are still read on the caller's thread, in order).
  Writer(std::unique_ptr<Output> out, time_t mtime, unsigned threads = worker_threads());
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  // Without commit(): nothing is left behind (Output::rollback).
  ~Writer();

  // Adds one member: its input is read now, its bytes are written in the order of the calls
  // (at the latest by commit()). Names must be valid UTF-8 (non-ASCII names are flagged as UTF-8)
  // and pass check_member_name, and be unique (the caller's duty). File contents are deflated,
  // or stored (method 0) when they do not compress (media), with zip64 fields where needed.
  // After an exception the writer can only be destroyed.
  void add_directory(std::string_view name);  // a trailing '/' is added when missing
  void add_file(std::string_view name, std::unique_ptr<Input> in, bool executable = false);

  // Writes the central directory and commits the Output. Any failure (of an input, of the
  // output) propagates as thrown; the destructor then rolls the Output back.
  void commit();

  uint64_t member_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One member as the central directory declares it.
struct Entry {
  uint64_t index = 0;
  std::string name;          // raw bytes as stored
  bool name_is_utf8 = true;  // false: not valid UTF-8 (validate() rejects it)
  uint64_t size = 0;         // declared uncompressed size
  uint64_t compressed_size = 0;
  bool is_directory = false;
  uint32_t unix_mode = 0;  // from the external attributes when made on Unix, else 0
};

struct Limits {
  uint64_t max_entries = 10'000'000;
  uint64_t max_member_size = uint64_t{64} << 30;  // 64 GiB declared per member
  uint64_t max_total_size = uint64_t{1} << 40;    // 1 TiB declared in all
  // When set, the declared total must fit in the free space of this directory's filesystem.
  std::optional<std::filesystem::path> extract_to;
};

class Reader;

// Pull-style reading of one member, for parsers that ask for bytes as they go (Reader::open).
// Makes the same checks as Reader::stream: damage, CRC, actual size against declared size.
class MemberReader {
 public:
  MemberReader(const MemberReader&) = delete;
  MemberReader& operator=(const MemberReader&) = delete;
  ~MemberReader();
  // Fills up to n bytes; returns 0 at the end, once the member proved complete and intact.
  size_t read(char* buf, size_t n);

 private:
  friend class Reader;
  MemberReader(const Reader& reader, const Entry& entry, ::zip_file* file)
      : reader_(reader), entry_(entry), file_(file) {}
  const Reader& reader_;
  const Entry& entry_;
  ::zip_file* file_;
  uint64_t total_ = 0;
};

class Reader {
 public:
  // Opens and indexes the archive; throws mdb::Error naming it when it is not a readable zip.
  explicit Reader(const std::filesystem::path& path);
  // An archive in memory (tests, fuzzing); `bytes` must outlive the reader. `name` is for messages.
  Reader(std::string_view bytes, const std::string& name);
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader();

  const std::filesystem::path& path() const { return path_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(std::string_view name) const;

  // Checks every member before anything is extracted; throws mdb::Error naming the zip
  // and the member: unsafe or invalid-UTF-8 names, duplicates (also a file used as a
  // directory), symlinks, devices, encryption, unsupported compression, sizes over the
  // limits, declared total beyond the free space.
  void validate(const Limits& limits) const;

  // Streams the member's bytes to `sink` in chunks. Fails (naming zip and member) when
  // the data are corrupt or their actual size differs from the declared size.
  void stream(const Entry& e, const std::function<void(std::string_view)>& sink) const;
  // Opens the member for pull-style reading.
  std::unique_ptr<MemberReader> open(const Entry& e) const;
  // The member in memory; fails when it declares or holds more than max_size bytes.
  std::string read(const Entry& e, uint64_t max_size) const;

  // Frees libzip's copy of the central directory (hundreds of bytes per member; entries()
  // stay), for a long pause between reads of a big archive. The next read opens the archive
  // again and fails, naming it, when its members are no longer those of entries(). No member
  // may be open meanwhile.
  void release();

 private:
  friend class MemberReader;
  void index();
  ::zip* open_archive() const;
  ::zip* archive() const;  // open, again after release()
  [[noreturn]] void fail(const Entry& e, const std::string& what) const;

  std::filesystem::path path_;
  std::optional<std::string_view> bytes_;  // an archive in memory
  mutable ::zip* za_ = nullptr;            // opened again on demand after release()
  std::vector<Entry> entries_;
};

}  // namespace mdb::zip
