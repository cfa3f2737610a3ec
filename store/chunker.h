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
#include <functional>
#include <string>
#include <string_view>

namespace mdb::fs {
class File;
}  // namespace mdb::fs

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

// The one way a file is cut into blobs: what `f` reads from its position on, as one chunk
// when it fits in kWholeFileMax, otherwise as content-defined chunks; `fn` gets each chunk in
// order. `buffer` is reused between calls (at most kCdcMax + 1 MiB). Backup and the healing of
// damaged blobs (store/heal.h) both cut through here, so they find the same blob ids.
void for_each_chunk(fs::File& f, std::string& buffer, const std::function<void(std::string_view)>& fn);
// The same over any reader: `read(buf, n)` fills up to n bytes, fewer only at the end (diff cuts
// zip members through here, so they get the ids backup gives the same bytes).
using ReadFn = std::function<size_t(char* buf, size_t n)>;
void for_each_chunk(const ReadFn& read, std::string& buffer, const std::function<void(std::string_view)>& fn);
// The same for a database (or its copy): kDatabaseChunk pieces.
void for_each_fixed_chunk(fs::File& f, std::string& buffer, const std::function<void(std::string_view)>& fn);

}  // namespace mdb::store
