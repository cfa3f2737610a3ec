// The zip reader (formats/zip_reader.cc: end records, zip64, central directory records, local
// headers, inflate) on untrusted bytes: opening, validation and reading every member must
// end in success or an mdb::Error, never a crash, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "formats/zip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    mdb::zip::Reader reader(bytes, "fuzz.zip");
    mdb::zip::Limits limits;
    limits.max_total_size = 64 << 20;
    bool valid = true;
    try {
      reader.validate(limits);
    } catch (const mdb::Error&) {
      valid = false;
    }
    for (const mdb::zip::Entry& e : reader.entries()) {
      try {
        // Unvalidated members too: the per-read bounds alone must keep memory in check.
        reader.read(e, valid ? limits.max_total_size : 1 << 20);
      } catch (const mdb::Error&) {
      }
    }
  } catch (const mdb::Error&) {
  }
  return 0;
}
