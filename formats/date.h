#pragma once
// Dates as Mephisto stores them (text in several forms) and as the dump renders them.
// Compare dates as instants (DateTime::instant), never as text.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "formats/value.h"

namespace mdb {

struct DateTime {
  int64_t wall_us = 0;                // wall-clock value as microseconds since 1970-01-01 00:00
  std::optional<int> offset_minutes;  // set when the text carried Z or +HH:MM

  // UTC instant in microseconds; a naive value is taken as UTC (Mephisto stores UTC).
  int64_t instant() const { return wall_us - int64_t{offset_minutes.value_or(0)} * 60'000'000; }
};

// Accepts YYYY-MM-DD (year 1 or later), optionally followed by 'T' or ' ' and HH:MM[:SS[.f{1,9}]], optionally
// followed by 'Z' or an offset (+HH:MM, +HHMM, +HH). Ranges are checked (no Feb 30th).
std::optional<DateTime> parse_date(std::string_view text);

// A Unix time as the original converts it: seconds, or milliseconds when its decimal form has
// 13 characters (Python's len(str(value)), so a sign counts), as a local wall-clock time
// (datetime.fromtimestamp). Nothing for times outside years 1..9999, which Python rejects.
std::optional<DateTime> date_from_unix(int64_t value);

// The date a `_date`/`_at` column holds: text in any form parse_date reads, or an integer Unix
// time (date_from_unix). Nothing for other values (reals, blobs, NULL) and unparsable ones.
std::optional<DateTime> stored_date(const Value& v);

// Python's datetime.isoformat(): YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM].
std::string format_iso(const DateTime& d);
// Python's str(datetime): as format_iso with ' ' instead of 'T'.
std::string format_python_str(const DateTime& d);
// The form this tool writes into databases: YYYY-MM-DD HH:MM:SS.SSS, or six fraction
// digits when the value has sub-millisecond precision. Offsets are converted to UTC.
std::string format_sqlite(const DateTime& d);

}  // namespace mdb
