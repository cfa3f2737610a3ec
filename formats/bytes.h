#pragma once
// Little-endian integer encoding for the store's binary records (pack footers, index values).
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mdb::store {

inline void put_u16(std::string& out, uint16_t v) {
  for (int i = 0; i < 2; ++i) out += static_cast<char>(v >> (8 * i));
}
inline void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>(v >> (8 * i));
}
inline void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>(v >> (8 * i));
}
inline uint64_t get_le(std::string_view in, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in[pos + i])) << (8 * i);
  return v;
}
inline uint16_t get_u16(std::string_view in, size_t pos) { return static_cast<uint16_t>(get_le(in, pos, 2)); }
inline uint32_t get_u32(std::string_view in, size_t pos) { return static_cast<uint32_t>(get_le(in, pos, 4)); }
inline uint64_t get_u64(std::string_view in, size_t pos) { return get_le(in, pos, 8); }

}  // namespace mdb::store
