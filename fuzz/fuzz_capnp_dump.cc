// The Cap'n Proto dump stream reader on untrusted bytes: every input ends in success or an
// mdb::Error, never a crash, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "formats/capnp_dump.h"
#include "base/error.h"

namespace {

class Visitor : public mdb::capnp_dump::StreamVisitor {
 public:
  void header(const mdb::capnp_dump::Header&) override {}
  void row(std::string_view, std::string_view, size_t, const std::vector<std::string>&, mdb::Row&) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t pos = 0;
  auto read = [&](char* buf, size_t n) {
    size_t k = std::min(n, size - pos);
    std::memcpy(buf, data + pos, k);
    pos += k;
    return k;
  };
  Visitor visitor;
  mdb::capnp_dump::ReadLimits limits;
  limits.max_value_bytes = 16 << 20;
  try {
    mdb::capnp_dump::read_stream(read, visitor, "fuzz.capnp", limits);
  } catch (const mdb::Error&) {
  }
  return 0;
}
