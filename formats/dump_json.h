#pragma once
// Streaming reader of a dump's JSON member (export.md "JSON rendering", import.md "Reading the
// dump"). Rows are handed to a visitor one at a time, so memory stays flat however large the dump.
//
// The tokenizer is our own rather than a JSON library's because dumps need what those reject or
// lose: Python's `NaN`/`Infinity`, lone surrogates `\udc80`-`\udcff` (our writer's surrogateescape
// for invalid UTF-8, see pyjson.h) decoded back to the raw bytes, and integers beyond 2^63 reported
// instead of rounded through a double. It is iterative and bounds the nesting depth, so hostile
// nesting (10,000 levels) is a clean error, never a stack overflow.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/value.h"

namespace mdb {

class DumpJsonVisitor {
 public:
  virtual ~DumpJsonVisitor() = default;
  // A top-level key other than "dump_metadata" whose value is an object (a DB key: "mephisto" or
  // a provider type; the caller decides which keys are valid).
  virtual void begin_db(std::string_view /*db*/) {}
  virtual void begin_table(std::string_view /*db*/, std::string_view /*table*/) {}
  // One row of `table`: `columns` are its field names in document order, `values` the values
  // (JSON string -> Text, integer -> Integer, true/false -> Integer 1/0 as Python's sqlite3 stores
  // them, float/NaN/Infinity -> Real, null -> Null). `index` counts rows from 0 within the table.
  // A row with a problem (a nested value, an integer beyond 64 bits) is reported through
  // problem() and not passed here.
  virtual void row(std::string_view db, std::string_view table, size_t index,
                   const std::vector<std::string>& columns, Row& values) = 0;
  // `items` counts the table's array items, rows with problems included.
  virtual void end_table(std::string_view /*db*/, std::string_view /*table*/, size_t /*items*/) {}
  // The "dump_metadata" value, whatever its type.
  virtual void metadata(nlohmann::ordered_json /*meta*/) {}
  // A problem with the dump's structure or one value, as one sentence naming the DB, table, row and
  // column. The reader carries on with the next item so every problem is reported at once.
  virtual void problem(std::string message) = 0;
};

struct DumpJsonLimits {
  size_t max_depth = 64;                 // the dump's layout needs 4 levels; metadata a few more
  size_t max_string_bytes = size_t{1} << 30;  // one value; SQLite's own limit is 1 GB
};

// Reads the whole document from `read` (fills a buffer, returns the byte count, 0 at the end).
// Throws mdb::Error naming `source` with line and column for malformed JSON, a top level that is
// not an object, or nesting deeper than the limit.
using ReadFn = std::function<size_t(char* buf, size_t n)>;
void read_dump_json(const ReadFn& read, DumpJsonVisitor& visitor, std::string_view source,
                    const DumpJsonLimits& limits = {});
void read_dump_json(std::string_view text, DumpJsonVisitor& visitor, std::string_view source,
                    const DumpJsonLimits& limits = {});

// How a value is named in problem messages: JSON for scalars ("1", "\"x\"", "null"; text
// escaped as the dump escapes it, cut after 60 bytes), "a blob of N bytes" for blobs.
std::string describe_json_value(const Value& v);

}  // namespace mdb
