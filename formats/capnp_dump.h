#pragma once
// The Cap'n Proto half of a dump (schema and layout: formats/dump.capnp). Exact storage classes,
// exact bytes, streamed: the writer emits whole messages to a sink as batches fill, the reader
// hands rows to a visitor one at a time. Every message stays far below Cap'n Proto's default
// traversal limit, whatever the size of the dump or of one value.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "formats/hash.h"
#include "formats/value.h"

namespace mdb::capnp_dump {

constexpr uint32_t kFormatVersion = 1;

struct Header {
  uint32_t format_version = kFormatVersion;
  std::string dump_metadata;  // the "dump_metadata" value as compact JSON text
  std::string json_member;    // the JSON member's name in the zip
  uint64_t json_size = 0;
  store::Hash128 json_hash;  // xxh3-128 of the JSON member
  uint64_t file_count = 0;  // files that follow the header
};

struct FileRecord {
  std::string path;  // member name in the zip
  uint64_t size = 0;
  store::Hash128 hash;  // xxh3-128 of the content
};

using Sink = std::function<void(std::string_view)>;

// Writes messages to `sink`. A stream is: header(), then file_count file() calls, then tables
// (begin_table, row..., end_table), then finish(). The pieces may also be written by separate
// writers into separate sinks and concatenated in that order (messages are self-delimiting):
// the export writes the header last, once the JSON and file hashes are known.
class StreamWriter {
 public:
  explicit StreamWriter(Sink sink);
  ~StreamWriter();
  void header(const Header& h);
  void file(const FileRecord& f);
  void begin_table(std::string_view db, std::string_view table, std::vector<std::string> columns);
  // `values` has one value per column.
  void row(const Row& values);
  void end_table();
  // A database that has no tables (the JSON member's `"inhouse": {}`), between tables.
  void empty_database(std::string_view db);
  // Writes pending files; call once at the end.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class StreamVisitor {
 public:
  virtual ~StreamVisitor() = default;
  virtual void header(const Header& h) = 0;
  virtual void file(const FileRecord& /*f*/) {}
  virtual void begin_table(std::string_view /*db*/, std::string_view /*table*/,
                           const std::vector<std::string>& /*columns*/) {}
  // `index` counts rows from 0 within the table; `values` may be moved from.
  virtual void row(std::string_view db, std::string_view table, size_t index, const std::vector<std::string>& columns,
                   Row& values) = 0;
  virtual void end_table(std::string_view /*db*/, std::string_view /*table*/) {}
  // A database without tables, in its place among the tables.
  virtual void empty_database(std::string_view /*db*/) {}
};

// Fills `buf` with up to n bytes; returns 0 at the end of the stream.
using ReadFn = std::function<size_t(char* buf, size_t n)>;

struct ReadLimits {
  uint64_t max_value_bytes = uint64_t{1} << 30;  // one large value (SQLite's own limit is 1 GB)
};

// Reads a whole stream. Throws mdb::Error naming `source` and the message number when the bytes
// are not a valid stream of this layout (damaged framing, wrong order, a row whose arity differs
// from its columns, a table or database twice, fewer or more files than the header says, an unknown format
// version, a truncated large value).
void read_stream(const ReadFn& read, StreamVisitor& visitor, std::string_view source, const ReadLimits& limits = {});

}  // namespace mdb::capnp_dump
