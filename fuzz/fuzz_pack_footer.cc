// The pack footer decoder, the record scanner and blob decoding on untrusted bytes (a damaged
// or hostile pack): every input ends in entries within bounds or a CorruptError, never a crash
// or a hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "store/pack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    for (const mdb::store::PackEntry& e : mdb::store::decode_footer(bytes, size, "fuzz", nullptr)) {
      if (e.offset + e.stored_len > size) __builtin_trap();  // the decoder promised bounds
      if (e.raw_len > (1u << 20)) continue;                  // keep each run's memory small
      try {
        mdb::store::decode_blob(bytes.substr(e.offset, e.stored_len), e, "fuzz", nullptr);
      } catch (const mdb::store::CorruptError&) {
      }
    }
  } catch (const mdb::store::CorruptError&) {
  }
  for (const mdb::store::PackEntry& e : mdb::store::scan_records(bytes, nullptr)) {
    if (e.offset + e.stored_len > size) __builtin_trap();  // the scanner promised bounds
    if (e.raw_len > (1u << 20)) continue;
    try {
      mdb::store::decode_blob(bytes.substr(e.offset, e.stored_len), e, "fuzz", nullptr);
    } catch (const mdb::store::CorruptError&) {
    }
  }
  return 0;
}
