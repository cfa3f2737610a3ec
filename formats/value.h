#pragma once
// A SQLite value with its storage class. Every path (DB -> JSON -> Cap'n Proto -> DB)
// keeps the class, so a TEXT '007' stays text and an id beyond 2^53 never becomes a double.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mdb {

enum class StorageClass : uint8_t { Null = 0, Integer = 1, Real = 2, Text = 3, Blob = 4 };

struct Value {
  StorageClass kind = StorageClass::Null;
  int64_t i = 0;
  double r = 0;
  std::string s;  // text (UTF-8) or blob bytes

  static Value null() { return {}; }
  static Value integer(int64_t v) { return {StorageClass::Integer, v, 0, {}}; }
  static Value real(double v) { return {StorageClass::Real, 0, v, {}}; }
  static Value text(std::string v) { return {StorageClass::Text, 0, 0, std::move(v)}; }
  static Value blob(std::string v) { return {StorageClass::Blob, 0, 0, std::move(v)}; }

  bool is_null() const { return kind == StorageClass::Null; }
  // Integer value of an integer, or of text holding a canonical decimal integer.
  std::optional<int64_t> as_int() const;
  // Text form as SQLite's CAST(x AS TEXT) would give for integers and text.
  std::string to_string() const;

  // Exact equality: same class and same value (reals compared bitwise-equal or both NaN).
  bool operator==(const Value& o) const;
};

using Row = std::vector<Value>;

// Parses a canonical signed 64-bit decimal ("-12", "42"; no '+', no leading zeros except "0").
std::optional<int64_t> parse_int64(std::string_view s);

}  // namespace mdb
