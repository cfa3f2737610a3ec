#include "formats/hash.h"

#include <openssl/sha.h>
#include <xxhash.h>

#include <cstring>

#include "base/error.h"

namespace mdb::store {

std::string hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string unhex(std::string_view hex) {
  auto digit = [&](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw Error("\"" + std::string(hex) + "\" is not a string of hex digits");
  };
  if (hex.size() % 2) throw Error("\"" + std::string(hex) + "\" has an odd number of hex digits");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) out += static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1]));
  return out;
}

std::string BlobId::hex() const { return store::hex(raw()); }

BlobId BlobId::from_raw(std::string_view raw, std::string_view what) {
  BlobId id;
  if (raw.size() != id.bytes.size())
    throw Error(std::string(what) + ": a blob id of " + std::to_string(raw.size()) + " bytes (expected 32)");
  std::memcpy(id.bytes.data(), raw.data(), raw.size());
  return id;
}

BlobId sha256(std::string_view data) {
  BlobId id;
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), id.bytes.data());
  return id;
}

std::string Hash128::hex() const { return store::hex(bytes()); }

std::string Hash128::bytes() const {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH128_hash_t{low, high});
  return std::string(reinterpret_cast<const char*>(c.digest), sizeof c.digest);
}

Hash128 Hash128::from_bytes(std::string_view bytes, std::string_view what) {
  XXH128_canonical_t c;
  if (bytes.size() != sizeof c.digest)
    throw Error(std::string(what) + ": an XXH3-128 value of " + std::to_string(bytes.size()) + " bytes (expected 16)");
  std::memcpy(c.digest, bytes.data(), sizeof c.digest);
  XXH128_hash_t h = XXH128_hashFromCanonical(&c);
  return {h.high64, h.low64};
}

namespace {
Hash128 halves(XXH128_hash_t h) { return {h.high64, h.low64}; }
}  // namespace

Hash128 xxh128(std::string_view data) { return halves(XXH3_128bits(data.data(), data.size())); }

Xxh128Stream::Xxh128Stream() : state_(XXH3_createState()) {
  if (!state_) throw std::bad_alloc();
  XXH3_128bits_reset(state_);
}

Xxh128Stream::~Xxh128Stream() { XXH3_freeState(state_); }

void Xxh128Stream::update(std::string_view data) { XXH3_128bits_update(state_, data.data(), data.size()); }

Hash128 Xxh128Stream::digest() const { return halves(XXH3_128bits_digest(state_)); }

}  // namespace mdb::store
