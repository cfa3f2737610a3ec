#pragma once
// The keys put into one index table since it was opened empty, as a Bloom filter: a key it has
// never seen is not in the table, so the lookup skips LMDB. In a new store (a first backup, the
// snapshot before an import into a new store) nearly every lookup misses, and each one faulted
// in about three map pages: at 67k files those lookups were half of the import's 350k page faults
// (docs/BENCHMARKS_HISTORY.md). Sound only while nothing else writes the table: the index holds it
// (Index::filter_empty_tables).
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

namespace mdb::store {

class KeysPut {
 public:
  // Keys are uniformly random (SHA-256 or HMAC blob ids, XXH3-128 file cache keys) and at least
  // 16 bytes: their first two words are the filter's two hashes. A shorter key is always "maybe".
  void add(std::string_view key) {
    if (key.size() < 16) return;
    auto [a, b] = hashes(key);
    for (uint64_t i = 0; i < kProbes; ++i) set(a + i * b);
  }
  bool maybe_has(std::string_view key) const {
    if (key.size() < 16) return true;
    auto [a, b] = hashes(key);
    for (uint64_t i = 0; i < kProbes; ++i)
      if (!get(a + i * b)) return false;
    return true;
  }

 private:
  // 2^21 bits (256 KiB), 4 probes: one false "maybe" in 100 at 200k keys (M), one in 4 at 1M.
  static constexpr uint64_t kBits = uint64_t{1} << 21, kProbes = 4;

  static std::pair<uint64_t, uint64_t> hashes(std::string_view key) {
    uint64_t a, b;
    std::memcpy(&a, key.data(), 8);
    std::memcpy(&b, key.data() + 8, 8);
    return {a, b | 1};
  }
  void set(uint64_t h) { words_[(h % kBits) / 64] |= uint64_t{1} << (h % 64); }
  bool get(uint64_t h) const { return words_[(h % kBits) / 64] >> (h % 64) & 1; }

  std::vector<uint64_t> words_ = std::vector<uint64_t>(kBits / 64);
};

}  // namespace mdb::store
