#pragma once
// How files are cut into blobs (store.md, "Chunking"):
//   - files up to kWholeFileMax: one blob;
//   - SQLite databases: the online-backup copy cut into kDatabaseChunk pieces (a multiple
//     of every SQLite page size, so a page rewritten in place changes one chunk);
//   - other large files: content-defined chunks (FastCDC-style gear hash with normalized
//     chunking), so an insert does not shift every later chunk.
// The parameters are recorded in the store's config; changing them only costs dedup.
#include <array>
#include <cstddef>
#include <cstdint>

namespace mdb::store {

inline constexpr uint64_t kWholeFileMax = 1u << 20;
inline constexpr uint64_t kDatabaseChunk = 64u << 10;
inline constexpr uint64_t kCdcMin = 256u << 10;
inline constexpr uint64_t kCdcAvg = 1u << 20;
inline constexpr uint64_t kCdcMax = 4u << 20;
inline constexpr uint64_t kGearSeed = 0x6d657068'6973746fULL;  // "mephisto"

// The length of the next content-defined chunk of `data` (n bytes). When no boundary is
// found it returns min(n, kCdcMax): callers pass at least kCdcMax bytes unless at the end.
size_t cdc_cut(const uint8_t* data, size_t n);

}  // namespace mdb::store
