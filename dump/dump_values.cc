#include "dump/dump_values.h"

#include <charconv>
#include <cmath>

#include "formats/date.h"
#include "formats/dump_json.h"

namespace mdb {

bool is_integer_key_column(DbId db, std::string_view column) {
  if (db == DbId::Mephisto) return column == "id" || is_id_column(column);
  return rules_of(db) == DbId::Prolific && column == "id";
}

std::optional<int64_t> parse_integer_text(std::string_view text) {
  std::string_view digits = text;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty() || digits.size() > 40) return std::nullopt;
  std::string canonical = negative ? "-" : "";
  size_t first = digits.find_first_not_of('0');
  canonical += first == std::string_view::npos ? "0" : std::string(digits.substr(first));
  int64_t v = 0;
  auto [p, ec] = std::from_chars(canonical.data(), canonical.data() + canonical.size(), v);
  if (ec != std::errc() || p != canonical.data() + canonical.size()) return std::nullopt;
  return v;
}

std::optional<std::string> normalize_dump_value(DbId db, std::string_view column, Value& v) {
  if (v.is_null()) return std::nullopt;
  if (v.kind == StorageClass::Real && std::isnan(v.r))
    return "NaN is not a number a database can store (SQLite would keep NULL instead)";
  if (v.kind == StorageClass::Real && std::isinf(v.r))
    return describe_json_value(v) + " is not a finite number, and Mephisto's databases hold finite numbers only";
  if (is_integer_key_column(db, column)) {
    if (v.kind == StorageClass::Integer) return std::nullopt;
    std::optional<int64_t> id = v.kind == StorageClass::Text ? parse_integer_text(v.s) : std::nullopt;
    if (!id) return describe_json_value(v) + " is not an integer id";
    v = Value::integer(*id);
    return std::nullopt;
  }
  if (is_date_column(column)) {
    std::optional<DateTime> date = stored_date(v);
    if (!date) return describe_json_value(v) + " is not a date";
    v = Value::text(format_sqlite(*date));
  }
  return std::nullopt;
}

}  // namespace mdb
