// Fuzz target: the ~/.mephisto/config.yml parser. Any input must either parse or raise
// mdb::Error; never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "datadir/config.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)mdb::parse_main_data_directory(text, "fuzz.yml");
  } catch (const mdb::Error&) {
  }
  return 0;
}
