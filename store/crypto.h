#pragma once
// The cryptography of an encrypted store (docs/SECURITY.md), all of it from libraries: libsodium's
// XChaCha20-Poly1305 (IETF) and Argon2id, OpenSSL's HMAC-SHA-256. One seal/open pair, used by every
// writer and reader of sealed bytes (pack records and footers, blobs, pins, key wrapping), so there is
// one way bytes are encrypted and one way they are checked.
//
// A sealed message is nonce (24 random bytes) | ciphertext | tag (16): random 192-bit nonces never
// repeat in practice (2^-96 after 2^48 messages under one key), so no counter state is kept anywhere.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "formats/hash.h"

namespace mdb::store {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kNonceBytes = 24;
inline constexpr size_t kTagBytes = 16;
inline constexpr size_t kSealOverhead = kNonceBytes + kTagBytes;

// The store's master key: one key to encrypt, one to compute blob ids. Random, made once when
// the store is created; only ever written wrapped by a password's key (store/keys.h).
struct MasterKey {
  std::array<unsigned char, kKeyBytes> enc{};
  std::array<unsigned char, kKeyBytes> mac{};
  MasterKey() = default;
  MasterKey(const MasterKey&) = default;
  MasterKey& operator=(const MasterKey&) = default;
  ~MasterKey();
  static MasterKey random();
  std::string bytes() const;  // enc | mac
  static std::optional<MasterKey> from_bytes(std::string_view b);
};

class Crypto {
 public:
  explicit Crypto(const MasterKey& key) : key_(key) {}
  const MasterKey& key() const { return key_; }

  // Encrypts and authenticates `plain` under a fresh random nonce; appends to `out`.
  void seal(std::string_view plain, std::string& out) const;
  std::string seal(std::string_view plain) const;
  // The same, in place: `framed` is kNonceBytes of room, the plaintext, kTagBytes of room, and
  // becomes the sealed message (no second buffer for a blob, store/pack.h encode_blob).
  void seal_in_place(std::string& framed) const;
  // The plaintext of a sealed message into `out`; false (and `out` unchanged in meaning) when a
  // byte of it was changed or it was sealed under another key: it is never decrypted into wrong bytes.
  bool open(std::string_view sealed, std::string& out) const;
  // HMAC-SHA-256 of `data` under the MAC key: the blob ids of an encrypted store.
  BlobId mac(std::string_view data) const;

 private:
  MasterKey key_;
};

// A blob's id: SHA-256 of its plaintext in a plain store (`crypto` null), its HMAC in an encrypted one.
BlobId blob_id(const Crypto* crypto, std::string_view raw);

// The key-encryption key of a password (Argon2id v1.3, crypto_pwhash) and the wrapping of the master
// key under it (XChaCha20-Poly1305 with `aad` bound: the store id and the key id).
struct KdfParams {
  std::string salt;  // 16 random bytes
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;
  static KdfParams fresh();
  // Whether the parameters are ones this build will run (a damaged config could ask for terabytes).
  bool sane() const;
};
std::string wrap_master(std::string_view password, const KdfParams& kdf, const MasterKey& key, std::string_view aad);
// nullopt: wrong password, or the wrapped key (or its parameters) changed.
std::optional<MasterKey> unwrap_master(std::string_view password, const KdfParams& kdf, std::string_view wrapped,
                                       std::string_view aad);

// Random bytes from the system's generator (libsodium's randombytes).
std::string random_bytes(size_t n);

}  // namespace mdb::store
