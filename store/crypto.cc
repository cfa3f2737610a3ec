#include "store/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <cstring>

#include "base/error.h"

namespace mdb::store {

namespace {

// libsodium must be initialised once before use; it is thread-safe and idempotent.
void init_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw Error("libsodium could not be initialised (no random source?)");
}

const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

static_assert(kNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

// Argon2id cost: 3 passes over 32 MiB (above OWASP's 2 x 19 MiB), about a tenth of a second;
// 32 MiB keeps a command's peak memory near a plain store's (64 MiB, libsodium's "interactive",
// would raise it by a third; a backup derives the key while it walks, docs/SECURITY.md).
constexpr uint64_t kOps = 3;
constexpr uint64_t kMem = 32ull << 20;

// The one seal every sealed object goes through. Writes a nonce at `framed`, the ciphertext of the
// `n` bytes at `plain` after it and the tag after that (kSealOverhead + n bytes in all). `plain`
// may be framed + kNonceBytes: libsodium encrypts in place, so a caller that framed its plaintext
// saves a copy.
void aead_seal_into(unsigned char* framed, const unsigned char* plain, size_t n, std::string_view aad,
                    const unsigned char* key) {
  init_sodium();
  randombytes_buf(framed, kNonceBytes);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(framed + kNonceBytes, &clen, plain, n, u8(aad), aad.size(), nullptr,
                                             framed, key);
}

// Appends `plain` sealed to `out`.
void aead_seal(std::string_view plain, std::string_view aad, const unsigned char* key, std::string& out) {
  size_t at = out.size();
  out.resize(at + kSealOverhead + plain.size());
  aead_seal_into(reinterpret_cast<unsigned char*>(out.data()) + at, u8(plain), plain.size(), aad, key);
}

bool aead_open(std::string_view sealed, std::string_view aad, const unsigned char* key, std::string& out) {
  init_sodium();
  if (sealed.size() < kSealOverhead) return false;
  std::string plain(sealed.size() - kSealOverhead, '\0');
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()), &mlen, nullptr,
                                                 u8(sealed) + kNonceBytes, sealed.size() - kNonceBytes, u8(aad),
                                                 aad.size(), u8(sealed), key) != 0)
    return false;
  out = std::move(plain);
  return true;
}

struct Kek {
  std::array<unsigned char, kKeyBytes> k{};
  ~Kek() { sodium_memzero(k.data(), k.size()); }
};

bool derive(std::string_view password, const KdfParams& kdf, Kek& kek) {
  init_sodium();
  if (!kdf.sane()) return false;
  return crypto_pwhash(kek.k.data(), kek.k.size(), password.data(), password.size(), u8(kdf.salt), kdf.opslimit,
                       kdf.memlimit, crypto_pwhash_ALG_ARGON2ID13) == 0;
}

}  // namespace

MasterKey::~MasterKey() {
  sodium_memzero(enc.data(), enc.size());
  sodium_memzero(mac.data(), mac.size());
}

MasterKey MasterKey::random() {
  init_sodium();
  MasterKey k;
  randombytes_buf(k.enc.data(), k.enc.size());
  randombytes_buf(k.mac.data(), k.mac.size());
  return k;
}

std::string MasterKey::bytes() const {
  std::string out(reinterpret_cast<const char*>(enc.data()), enc.size());
  out.append(reinterpret_cast<const char*>(mac.data()), mac.size());
  return out;
}

std::optional<MasterKey> MasterKey::from_bytes(std::string_view b) {
  if (b.size() != 2 * kKeyBytes) return std::nullopt;
  MasterKey k;
  std::memcpy(k.enc.data(), b.data(), kKeyBytes);
  std::memcpy(k.mac.data(), b.data() + kKeyBytes, kKeyBytes);
  return k;
}

void Crypto::seal(std::string_view plain, std::string& out) const { aead_seal(plain, {}, key_.enc.data(), out); }

void Crypto::seal_in_place(std::string& framed) const {
  if (framed.size() < kSealOverhead) throw Error("a message to seal in place has no room for its nonce and tag");
  auto* p = reinterpret_cast<unsigned char*>(framed.data());
  aead_seal_into(p, p + kNonceBytes, framed.size() - kSealOverhead, {}, key_.enc.data());
}

std::string Crypto::seal(std::string_view plain) const {
  std::string out;
  seal(plain, out);
  return out;
}

bool Crypto::open(std::string_view sealed, std::string& out) const {
  return aead_open(sealed, {}, key_.enc.data(), out);
}

BlobId Crypto::mac(std::string_view data) const {
  // OpenSSL's HMAC runs on the CPU's SHA extensions (> 1 GB/s); libsodium's SHA-256 is portable
  // C at a third of that, and blob ids hash every byte a backup reads.
  BlobId id;
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key_.mac.data(), static_cast<int>(key_.mac.size()), u8(data), data.size(), id.bytes.data(),
            &len) ||
      len != id.bytes.size())
    throw Error("OpenSSL could not compute an HMAC-SHA-256");
  return id;
}

BlobId blob_id(const Crypto* crypto, std::string_view raw) { return crypto ? crypto->mac(raw) : sha256(raw); }

KdfParams KdfParams::fresh() {
  KdfParams p;
  p.salt = random_bytes(crypto_pwhash_SALTBYTES);
  p.opslimit = kOps;
  p.memlimit = kMem;
  return p;
}

bool KdfParams::sane() const {
  return salt.size() == crypto_pwhash_SALTBYTES && opslimit >= crypto_pwhash_OPSLIMIT_MIN && opslimit <= 64 &&
         memlimit >= crypto_pwhash_MEMLIMIT_MIN && memlimit <= (4ull << 30);
}

std::string wrap_master(std::string_view password, const KdfParams& kdf, const MasterKey& key, std::string_view aad) {
  Kek kek;
  if (!derive(password, kdf, kek)) throw Error("Argon2id could not derive a key (out of memory?)");
  std::string out, plain = key.bytes();
  aead_seal(plain, aad, kek.k.data(), out);
  sodium_memzero(plain.data(), plain.size());
  return out;
}

std::optional<MasterKey> unwrap_master(std::string_view password, const KdfParams& kdf, std::string_view wrapped,
                                       std::string_view aad) {
  Kek kek;
  if (!derive(password, kdf, kek)) return std::nullopt;
  std::string plain;
  if (!aead_open(wrapped, aad, kek.k.data(), plain)) return std::nullopt;
  std::optional<MasterKey> k = MasterKey::from_bytes(plain);
  sodium_memzero(plain.data(), plain.size());
  return k;
}

std::string random_bytes(size_t n) {
  init_sodium();
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

}  // namespace mdb::store
