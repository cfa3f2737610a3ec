// PyJsonWriter::compact() on untrusted bytes (the dump_metadata text of a Cap'n Proto half): every
// input is taken or refused, never a crash; what it takes with indent=None comes out unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "formats/pyjson.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  int indent = static_cast<int>(data[0] % 10) - 1;  // -1 (None) to 8
  std::string_view json(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string out;
  mdb::PyJsonWriter w(out, indent);
  bool taken = w.compact(json);
  if (taken && indent < 0 && out != json) std::abort();
  return 0;
}
