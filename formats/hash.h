#pragma once
// Blob ids and checksums (store.md): a blob's id is the SHA-256 of its plaintext, because
// crowd workers upload files and a crafted collision of a weaker hash would swap content on
// restore. XXH3-128 is used where only accidental damage matters (pack checksums, file
// fingerprints, the dump's file and JSON hashes).
#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

struct XXH3_state_s;  // xxhash.h's streaming state

namespace mdb::store {

struct BlobId {
  std::array<uint8_t, 32> bytes{};

  std::string hex() const;
  // The raw 32 bytes, as stored in keys and manifests.
  std::string_view raw() const { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
  // From 32 raw bytes; throws mdb::Error naming `what` when the length is wrong.
  static BlobId from_raw(std::string_view raw, std::string_view what);
  auto operator<=>(const BlobId&) const = default;
};

struct BlobIdHash {
  size_t operator()(const BlobId& id) const {
    size_t h;
    static_assert(sizeof h <= sizeof id.bytes);
    __builtin_memcpy(&h, id.bytes.data(), sizeof h);  // already uniformly distributed
    return h;
  }
};

BlobId sha256(std::string_view data);

// An XXH3-128 value. Stored as 16 bytes in XXH3's canonical form (big-endian, high half
// first: pack trailers, file-cache keys) or as its two halves (the dump's Cap'n Proto half).
struct Hash128 {
  uint64_t high = 0, low = 0;
  bool operator==(const Hash128&) const = default;
  std::string hex() const;    // 32 lowercase hex digits, high half first
  std::string bytes() const;  // the 16 bytes of the canonical form
  // From the canonical form; throws mdb::Error naming `what` when the length is not 16.
  static Hash128 from_bytes(std::string_view bytes, std::string_view what);
};

Hash128 xxh128(std::string_view data);
std::string hex(std::string_view bytes);
// The bytes of an even number of hex digits; mdb::Error naming `hex` otherwise.
std::string unhex(std::string_view hex);

// Streaming XXH3-128: whole pack files, zip members as they are written or extracted.
class Xxh128Stream {
 public:
  Xxh128Stream();
  ~Xxh128Stream();
  Xxh128Stream(const Xxh128Stream&) = delete;
  Xxh128Stream& operator=(const Xxh128Stream&) = delete;
  void update(std::string_view data);
  Hash128 digest() const;

 private:
  XXH3_state_s* state_;
};

}  // namespace mdb::store
