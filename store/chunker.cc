#include "store/chunker.h"

#include <bit>

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

}  // namespace mdb::store
