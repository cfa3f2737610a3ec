// Fuzz target: the `-cr FILE.json` resolver description parser. Any input must either give a
// resolver or raise mdb::UsageError; never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "import/resolver.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    mdb::ConflictResolver r = mdb::ConflictResolver::parse(text, "fuzz.json");
    (void)r.strategy(mdb::DbId::Mephisto, "tasks");
  } catch (const mdb::UsageError&) {
  }
  return 0;
}
