#pragma once
// Blob ids and checksums (store.md): a blob's id is the SHA-256 of its plaintext, because
// crowd workers upload files and a crafted collision of a weaker hash would swap content on
// restore. XXH3-128 is used where only accidental damage matters (pack checksums, file
// fingerprints).
#include <xxhash.h>

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

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

// XXH3-128 as 16 bytes (big-endian canonical form) and as 32 hex digits.
using Hash128 = std::array<uint8_t, 16>;
Hash128 xxh128(std::string_view data);
std::string hex(std::string_view bytes);
// The bytes of an even number of hex digits; mdb::Error naming `hex` otherwise.
std::string unhex(std::string_view hex);

// Streaming XXH3-128, for checksums of whole pack files.
class Xxh128Stream {
 public:
  Xxh128Stream();
  ~Xxh128Stream();
  Xxh128Stream(const Xxh128Stream&) = delete;
  Xxh128Stream& operator=(const Xxh128Stream&) = delete;
  void update(std::string_view data);
  Hash128 digest() const;

 private:
  XXH3_state_t* state_;
};

}  // namespace mdb::store
