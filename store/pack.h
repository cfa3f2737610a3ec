#pragma once
// Pack files (store.md): append-only files holding many blobs, each zstd-compressed (or raw
// when compression saves less than 3%), ending with a footer that lists the blobs and two
// XXH3-128 checksums. Layout, all integers little-endian:
//
//   "MDBPACK2"
//   records, back to back, each a kRecordHeaderSize header then the blob's stored bytes:
//     "MDBR" id[32] stored_len:u32 raw_len:u32 type:u8 compression:u8 reserved:u16
//     header_checksum[16] (XXH3-128 of the 48 bytes before it)
//   footer entries, kEntrySize bytes each:
//     id[32] offset:u64 stored_len:u32 raw_len:u32 type:u8 compression:u8 reserved:u16
//   trailer, kTrailerSize bytes:
//     count:u32 entries_offset:u64 footer_checksum[16] pack_checksum[16] "MDBPEND1"
//
// footer_checksum covers the entries, count and entries_offset, so the footer can be read
// and trusted without reading the blobs; pack_checksum covers everything before it.
// A pack is written under a temporary name, fsynced, then renamed to the hex of its
// pack_checksum: a pack with a final name is complete and durable.
// The record headers make each record self-checking, so the blobs of a pack whose footer is
// damaged or cut off can still be found (scan_records). Footer offsets point at the blob
// bytes, past the header. Packs written before version 2 ("MDBPACK1") have no record headers
// (blobs back to back) and stay readable everywhere; only scanning needs version 2.
//
// An encrypted store's packs ("MDBPACKE", docs/store.md "Encryption") have the same layout with
// three parts sealed (store/crypto.h): each record header is "MDBR" then its 44 bytes of fields
// sealed (88 bytes; the seal replaces the header checksum); each blob's stored bytes are its
// compressed bytes sealed (stored_len counts the 40 bytes of nonce and tag); the footer entries are
// sealed as one message. Only the magic, the blob count and the trailer's offsets are plaintext.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/hash.h"
#include "store/backend.h"
#include "store/crypto.h"

namespace mdb::store {

namespace stdfs = std::filesystem;

enum class BlobType : uint8_t { Data = 0, Tree = 1, Snapshot = 2 };
enum class Compression : uint8_t { None = 0, Zstd = 1 };

inline constexpr std::string_view kPackMagic = "MDBPACK2";  // what PackWriter writes
inline constexpr std::string_view kPackMagicV1 = "MDBPACK1";
inline constexpr std::string_view kPackMagicSealed = "MDBPACKE";  // an encrypted store's
inline constexpr std::string_view kPackEndMagic = "MDBPEND1";
inline constexpr std::string_view kRecordMagic = "MDBR";
inline constexpr size_t kRecordHeaderSize = 64;
inline constexpr size_t kHeaderFieldsSize = 44;  // id, stored_len, raw_len, type, compression, reserved
inline constexpr size_t kSealedRecordHeaderSize = 4 + kHeaderFieldsSize + kSealOverhead;
// The record header size of the packs written with `crypto` (null: a plain store).
inline size_t record_header_size(const Crypto* crypto) { return crypto ? kSealedRecordHeaderSize : kRecordHeaderSize; }
// What sealing adds to each stored blob and to the footer.
inline size_t seal_overhead(const Crypto* crypto) { return crypto ? kSealOverhead : 0; }
inline constexpr size_t kEntrySize = 52;
inline constexpr size_t kTrailerSize = 52;
// The size of a pack file PackWriter makes of `count` blobs of `stored_bytes` in all.
inline uint64_t pack_file_size(uint64_t count, uint64_t stored_bytes, const Crypto* crypto = nullptr) {
  return kPackMagic.size() + stored_bytes + count * (record_header_size(crypto) + kEntrySize) + kTrailerSize +
         seal_overhead(crypto);
}
// Whether `bytes` (a pack or its start) begins with the magic of any version.
bool has_pack_magic(std::string_view bytes);
// Whether its magic says the pack has record headers to scan (version 2, or sealed with `crypto`).
bool has_record_headers(std::string_view bytes, const Crypto* crypto);
// No blob is larger than this (file chunks are at most 4 MiB, manifest parts are bounded).
inline constexpr uint32_t kMaxBlobSize = 16u << 20;

struct PackEntry {
  BlobId id;
  uint64_t offset = 0;
  uint32_t stored_len = 0;
  uint32_t raw_len = 0;
  BlobType type = BlobType::Data;
  Compression compression = Compression::None;
};

// The kEntrySize bytes of a footer entry (the layout above); index objects list entries so too.
std::string encode_footer_entry(const PackEntry& e);

// Decodes the footer from the last bytes of a pack of `pack_size` bytes (`tail` may be the
// whole pack). Checks magic, layout, footer checksum and every entry's bounds; throws
// CorruptError naming `what` otherwise. `crypto`: the store's keys (null: a plain store), for this
// and every function below. Untrusted input: fuzzed.
std::vector<PackEntry> decode_footer(std::string_view tail, uint64_t pack_size, const std::string& what,
                                     const Crypto* crypto);
// The stored pack checksum (from the trailer) of a pack whose tail is `tail`.
Hash128 trailer_pack_checksum(std::string_view tail);

// The records of a version 2 pack found by walking its record headers from the start, without
// the footer: every record whose header checksum holds and whose bytes lie within `bytes`.
// After a damaged header it resumes at the next record magic. Empty for a version 1 pack.
// The blobs are not checked: decode_blob each before trusting it. Untrusted input: fuzzed.
std::vector<PackEntry> scan_records(std::string_view bytes, const Crypto* crypto);

// What can be saved of a pack whose footer is damaged or cut off: the records scan_records
// finds whose blob decodes to its id, and the byte ranges [first, second) holding no such record
// (the footer, and whatever was damaged or cut off).
struct Salvage {
  std::vector<PackEntry> blobs;
  std::vector<std::pair<uint64_t, uint64_t>> lost;
  // "N intact blobs found by scanning its records; bytes A-B, C-D of its S hold no intact blob ..."
  std::string summary(uint64_t pack_size) const;
};
Salvage salvage_pack(std::string_view bytes, const std::string& what, const Crypto* crypto);

// Reads and decodes the footer of the pack `name` (two small reads), with the backend's keys.
std::vector<PackEntry> read_footer(Backend& backend, const std::string& name);

// The zstd level a blob of `type` is compressed at: 1 for manifest parts, 3 for the rest. A part
// is written again whenever anything in its stretch of the tree changed (most of a manifest, each
// day), and on parts level 1 is 1.4x faster than 3 for the same size (4.69x against 4.61x on the
// parts of a one-day incremental at S); on data (JSON, database chunks) level 3 saves 2.5% more.
int zstd_level(BlobType type);
// Compresses `raw` with zstd at `level` into `out`; returns None (and leaves `out` empty) when
// that saves less than 3%. `out` holds no more capacity than its bytes: blobs wait in memory
// for their pack, and a buffer of ZSTD_compressBound bytes each would double what they hold.
// `room_before`/`room_after`: bytes left before and after the compressed bytes in `out` (for a
// seal's nonce and tag).
Compression compress(std::string_view raw, int level, std::string& out, size_t room_before = 0, size_t room_after = 0);
// The bytes a pack stores for the blob `raw`: compressed (compress(); `c` says how), then sealed
// when `crypto` is not null. Takes `raw` by value: a blob stored as it is comes back without a copy.
std::string encode_blob(std::string raw, BlobType type, const Crypto* crypto, Compression& c);
// Turns stored bytes back into the blob (opened, decompressed) and checks its id (blob_id) against
// `e.id`: a blob is returned only when it is exactly what was stored under that id.
std::string decode_blob(std::string_view stored, const PackEntry& e, const std::string& where, const Crypto* crypto);

class PackWriter {
 public:
  explicit PackWriter(Backend& backend);
  PackWriter(const PackWriter&) = delete;
  ~PackWriter() = default;  // an unfinished pack's object is abandoned (ObjectWriter)

  // Appends a blob; `stored` is `raw` compressed as `c` (see compress()), then sealed when the
  // backend has keys.
  void add(const BlobId& id, BlobType type, uint32_t raw_len, Compression c, std::string_view stored);
  // Convenience: compresses, seals when the backend has keys, and appends.
  void add(const BlobId& id, BlobType type, std::string_view raw);

  uint64_t size() const { return offset_; }
  bool empty() const { return entries_.empty(); }
  const std::vector<PackEntry>& entries() const { return entries_; }

  // Writes the footer and finishes the object under its name; then makes the name durable
  // (Backend::sync) unless the caller does that once for several packs (`sync` false).
  // Returns the pack name (32 hex digits).
  std::string finish(bool sync = true);

 private:
  void append(std::string_view bytes);
  void flush_buffer();

  Backend& backend_;
  const Crypto* crypto_;
  std::unique_ptr<ObjectWriter> out_;
  Xxh128Stream checksum_;
  std::string buffer_;
  uint64_t offset_ = 0;
  std::vector<PackEntry> entries_;
};

bool is_pack_name(std::string_view name);

}  // namespace mdb::store
