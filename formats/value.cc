#include "formats/value.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "formats/pyjson.h"

namespace mdb {

std::optional<int64_t> parse_int64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string_view digits = s[0] == '-' ? s.substr(1) : s;
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  if (s == "-0") return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> Value::as_int() const {
  if (kind == StorageClass::Integer) return i;
  if (kind == StorageClass::Text) return parse_int64(s);
  return std::nullopt;
}

std::string Value::to_string() const {
  switch (kind) {
    case StorageClass::Null: return "NULL";
    case StorageClass::Integer: return std::to_string(i);
    case StorageClass::Real: return python_float_repr(r);
    case StorageClass::Text:
    case StorageClass::Blob: return s;
  }
  return {};
}

bool Value::operator==(const Value& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case StorageClass::Null: return true;
    case StorageClass::Integer: return i == o.i;
    case StorageClass::Real:
      return (std::isnan(r) && std::isnan(o.r)) || std::memcmp(&r, &o.r, sizeof r) == 0 || r == o.r;
    case StorageClass::Text:
    case StorageClass::Blob: return s == o.s;
  }
  return false;
}

}  // namespace mdb
