// The manifest part and snapshot record decoders (Cap'n Proto from a pack) on untrusted
// bytes: a decoded entry always has a safe relative path; anything else is an mdb::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "formats/safe_path.h"
#include "store/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    for (const mdb::store::Entry& e : mdb::store::decode_manifest_part(bytes, "fuzz"))
      if (!mdb::relative_path_problem(e.path).empty()) __builtin_trap();
  } catch (const mdb::Error&) {
  }
  try {
    mdb::store::decode_snapshot(bytes, "fuzz");
  } catch (const mdb::Error&) {
  }
  return 0;
}
