// Fuzz target: the streaming reader of a dump's JSON member. Any input must either be read (rows
// and problems reported to the visitor) or raise mdb::Error; never crash, hang, overflow the stack
// or read out of bounds. Reads go through small chunks so buffer refills are exercised.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "formats/dump_json.h"
#include "base/error.h"

namespace {

struct Sink : mdb::DumpJsonVisitor {
  size_t cells = 0;
  void row(std::string_view, std::string_view, size_t, const std::vector<std::string>& columns,
           mdb::Row& values) override {
    if (columns.size() != values.size()) __builtin_trap();
    cells += values.size();
  }
  void problem(std::string) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  Sink sink;
  try {
    mdb::read_dump_json([&](char* buf, size_t n) {
      size_t k = std::min({n, text.size() - pos, size_t{7}});
      text.copy(buf, k, pos);
      pos += k;
      return k;
    }, sink, "fuzz.json");
  } catch (const mdb::Error&) {
  }
  return 0;
}
