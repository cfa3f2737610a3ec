#pragma once
// How a value read from a dump becomes the value stored in a database, one rule for the import and
// for tests that compare a dump with a database (or the JSON half with the Cap'n Proto half):
// Mephisto-DB keys (`*_id` and `id` columns) and prolific `id`s are integers (the original's JSON
// writes Mephisto `*_id` values as strings, and its `-r` turns prolific ids into strings too);
// dates, whatever form they were written in, become our DB form `YYYY-MM-DD HH:MM:SS.SSS`, so equal
// instants compare equal.
#include <optional>
#include <string>
#include <string_view>

#include "datadir/registry.h"
#include "formats/value.h"

namespace mdb {

// True for the columns whose values are integer keys: Mephisto `*_id` and `id`, prolific `id`.
bool is_integer_key_column(DbId db, std::string_view column);

// Converts `v` in place. Returns what is wrong (one clause, e.g. "\"abc\" is not an integer id")
// when the value cannot be converted; `v` is then unchanged. NaN, Infinity and -Infinity (Python's
// json writes and reads them) are refused in every column: SQLite stores NaN as NULL, and an
// infinity only as a REAL that no Mephisto column holds (a TEXT column would turn it into 'Inf').
std::optional<std::string> normalize_dump_value(DbId db, std::string_view column, Value& v);

// Parses an integer written as text the way SQLite's INTEGER affinity accepts it from the original
// (optional sign, decimal digits, leading zeros allowed, within 64 bits).
std::optional<int64_t> parse_integer_text(std::string_view text);

}  // namespace mdb
