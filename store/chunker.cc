#include "store/chunker.h"

#include <bit>
#include <cstring>

#include "base/interrupt.h"
#include "platform/env.h"

namespace mdb::store {

namespace {

std::array<uint64_t, 256> make_gear() {
  std::array<uint64_t, 256> g{};
  uint64_t x = kGearSeed;
  for (uint64_t& v : g) {  // splitmix64: fixed, so boundaries never change between builds
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    v = z ^ (z >> 31);
  }
  return g;
}

const std::array<uint64_t, 256> kGear = make_gear();

// Normalized chunking: a stricter mask before the average size, a looser one after, which
// concentrates chunk sizes around the average. The hash shifts left, so its top bits
// depend on the most recent bytes: masks select top bits.
constexpr int kAvgBits = std::countr_zero(kCdcAvg);
constexpr uint64_t top_mask(int bits) { return ~uint64_t{0} << (64 - bits); }
constexpr uint64_t kMaskStrict = top_mask(kAvgBits + 2);
constexpr uint64_t kMaskLoose = top_mask(kAvgBits - 2);

}  // namespace

size_t cdc_cut(const uint8_t* data, size_t n) {
  if (n <= kCdcMin) return n;
  size_t end = n < kCdcMax ? n : kCdcMax;
  size_t normal = end < kCdcAvg ? end : kCdcAvg;
  uint64_t h = 0;
  size_t i = kCdcMin;
  for (; i < normal; ++i) {
    h = (h << 1) + kGear[data[i]];
    if (!(h & kMaskStrict)) return i + 1;
  }
  for (; i < end; ++i) {
    h = (h << 1) + kGear[data[i]];
    if (!(h & kMaskLoose)) return i + 1;
  }
  return end;
}

// Bytes [start, start + have) of the buffer are read and not yet handed on; the buffer is
// refilled (after moving those to the front) whenever less than a maximal chunk is left.
void for_each_chunk(fs::File& f, std::string& buffer, const std::function<void(std::string_view)>& fn) {
  for_each_chunk([&f](char* buf, size_t n) { return f.read(buf, n); }, buffer, fn);
}

void for_each_chunk(const ReadFn& read, std::string& buffer, const std::function<void(std::string_view)>& fn) {
  buffer.resize(kCdcMax + (1u << 20));  // a maximal chunk of lookahead, refilled per MiB
  size_t start = 0, have = 0;
  bool eof = false, first = true;
  while (!eof || have > 0) {
    interrupt::check();
    if (!eof && have < kCdcMax) {
      std::memmove(buffer.data(), buffer.data() + start, have);
      start = 0;
      size_t n = read(buffer.data() + have, buffer.size() - have);
      eof = n < buffer.size() - have;
      have += n;
    }
    if (have == 0) break;
    const char* data = buffer.data() + start;
    // A file that fits in one blob is one blob; larger ones are cut by content.
    size_t len =
        (eof && first && have <= kWholeFileMax) ? have : cdc_cut(reinterpret_cast<const uint8_t*>(data), have);
    fn(std::string_view(data, len));
    first = false;
    start += len;
    have -= len;
  }
}

void for_each_fixed_chunk(fs::File& f, std::string& buffer, const std::function<void(std::string_view)>& fn) {
  buffer.resize(kDatabaseChunk);
  for (;;) {
    interrupt::check();
    size_t n = f.read(buffer.data(), kDatabaseChunk);
    if (n == 0) break;
    fn(std::string_view(buffer.data(), n));
    if (n < kDatabaseChunk) break;
  }
}

}  // namespace mdb::store
