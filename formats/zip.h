#pragma once
// Zip archives: a deterministic streaming writer (on zlib and libdeflate, zip_writer.cc) and a safe
// streaming reader (zip_reader.cc: the central directory read in place; members inflated with zlib).
//
// formats/ does no file writes of its own: a Writer's archive bytes, and the central directory
// records it sets aside, go to a zip::Output, which the platform layer implements over its file
// layer (temp file beside the target, fault points, rename on commit; see platform/zipfile.h), and
// member contents come from zip::Input streams read once, front to back, as each member is added.
// Memory holds a few buffers and at most 4 MiB of central directory records (a few dozen bytes per
// member; the rest waits in the Output's scratch), whatever the members' number and sizes.
//
// The Reader never trusts an archive: validate() checks every member (relative names
// without `..`, no symlinks or devices, no duplicates, bounded sizes) before anything is
// extracted, and stream() checks each member's actual size against its declared size.
#include <sys/types.h>

#include <cstddef>
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

namespace mdb::zip {

// Bytes the Writer keeps aside until commit() (central directory records beyond what it holds in
// memory): appended, then read back from the start.
class Scratch {
 public:
  virtual ~Scratch() = default;
  virtual void append(std::string_view data) = 0;
  // Fills up to n bytes from `offset`; fewer only at the end.
  virtual size_t read_at(uint64_t offset, char* buf, size_t n) = 0;
};

// Where a Writer's archive bytes go. Methods may throw; the Writer passes the exception on.
class Output {
 public:
  virtual ~Output() = default;
  // An empty Scratch that nobody else sees and that leaves nothing behind, however the process ends.
  virtual std::unique_ptr<Scratch> scratch() = 0;
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

// A member name as messages show it: quoted, control bytes (NUL included) as \xNN.
std::string shown_name(std::string_view name);

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
  uint64_t local_offset = 0;  // of its local header
  uint32_t crc = 0;
  uint16_t method = 0;  // 0 stored, 8 deflated; others are not supported
  uint16_t flags = 0;   // bit 0: encrypted
};

struct Limits {
  uint64_t max_entries = 10'000'000;
  uint64_t max_member_size = uint64_t{64} << 30;  // 64 GiB declared per member
  uint64_t max_total_size = uint64_t{1} << 40;    // 1 TiB declared in all
  // When set, the declared total must fit in the free space of this directory's filesystem.
  std::optional<std::filesystem::path> extract_to;
};

class Reader;
struct InflateState;  // zlib's stream (zip_reader.cc)

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
  // `read`: the member's bytes as open() read them with its local header, its data from `at`
  // on; empty when the data are read as they are asked for.
  MemberReader(const Reader& reader, Entry entry, uint64_t data_offset, std::string read, size_t at);
  // The next up to n compressed (or stored) bytes; valid until the next call.
  std::string_view take(size_t n);
  // The whole member, checked as read() checks it; only when read_ahead_ holds all its data.
  std::string read_whole();
  size_t read_stored(char* buf, size_t n);
  size_t inflate_into(char* buf, size_t n);

  const Reader& reader_;
  Entry entry_;
  uint64_t next_ = 0;       // offset in the archive of the next compressed byte to read
  uint64_t remaining_ = 0;  // compressed bytes not read yet
  std::string in_;          // compressed bytes read and not all taken yet
  size_t in_at_ = 0;        // the next one to take, when read_ahead_
  bool read_ahead_ = false; // in_ holds the member's whole data
  std::unique_ptr<InflateState> z_;  // deflated members only
  uint32_t crc_ = 0;
  uint64_t total_ = 0;
  bool done_ = false;
};

// The archive's bytes: a file (read with pread, kept open while the Reader lives) or memory.
class Source;

// The members in central-directory order, each read from the archive when the iterator reaches it.
class Members {
 public:
  class iterator {
   public:
    using value_type = Entry;
    using difference_type = std::ptrdiff_t;
    iterator(const Reader* r, uint64_t i);
    const Entry& operator*() const { return entry_; }
    const Entry* operator->() const { return &entry_; }
    iterator& operator++();
    bool operator==(const iterator& o) const { return i_ == o.i_; }

   private:
    void load();
    const Reader* r_;
    uint64_t i_;
    Entry entry_;
  };
  explicit Members(const Reader& r) : r_(r) {}
  iterator begin() const;
  iterator end() const;

 private:
  const Reader& r_;
};

// A zip read from its own central directory (ours, not libzip's): opening it checks the end
// records and every central directory record, and keeps only where each record starts (8 bytes
// a member); a member's name and sizes are read from the archive again when asked for, so memory
// does not grow with the names. entry(), find() and entries() share a window of the directory: one
// thread at a time. open(), stream() and read() only read the archive at offsets (pread) and may run
// on other threads meanwhile (import reads members ahead on workers).
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
  uint64_t size() const { return records_.size(); }
  Entry entry(uint64_t index) const;
  Members entries() const { return Members(*this); }
  // The first member of that name (a scan of the central directory).
  std::optional<Entry> find(std::string_view name) const;

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

 private:
  friend class MemberReader;
  void index();
  // The bytes [offset, offset + n) of the central directory's window, read again when needed.
  std::string_view directory_bytes(uint64_t offset, size_t n) const;
  [[noreturn]] void damaged(const std::string& what) const;
  [[noreturn]] void fail(const Entry& e, const std::string& what) const;

  std::filesystem::path path_;
  std::unique_ptr<Source> source_;
  uint64_t directory_end_ = 0;     // where the central directory ends
  std::vector<uint64_t> records_;  // offset of each member's central directory record
  mutable std::string window_;     // a window of the central directory
  mutable uint64_t window_start_ = 0;
};

}  // namespace mdb::zip
