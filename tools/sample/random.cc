#include "tools/sample/random.h"

#include <cstring>

#include "datadir/registry.h"

namespace mdb::sample {

namespace {

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t s = a ^ rotl(b, 23) ^ 0x6a09e667f3bcc909ULL;
  splitmix(s);
  return splitmix(s) ^ b;
}

uint64_t mix(uint64_t a, std::string_view b) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, then mixed
  for (unsigned char c : b) h = (h ^ c) * 0x100000001b3ULL;
  return mix(a, h);
}

Rng::Rng(uint64_t seed) {
  for (uint64_t& s : s_) s = splitmix(seed);
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Rng::below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }

int64_t Rng::range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1)); }

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

std::string Rng::hex(size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n, '0');
  for (char& c : out) c = kDigits[below(16)];
  return out;
}

std::string Rng::upper_alnum(size_t n) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out(n, 'A');
  for (char& c : out) c = kChars[below(36)];
  return out;
}

void Rng::fill(char* out, size_t n) {
  while (n >= 8) {
    uint64_t v = next();
    std::memcpy(out, &v, 8);
    out += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = next();
    std::memcpy(out, &v, n);
  }
}

// A bijection on [0, 2^63): xor with a key, then odd multiplications and xor-shifts, each
// invertible modulo 2^63. Distinct counters therefore give distinct ids.
int64_t Ids::scrambled() {
  constexpr uint64_t kMask = (uint64_t{1} << 63) - 1;
  for (;;) {
    uint64_t x = (counter_++ ^ key_) & kMask;
    x = (x * 0x9e3779b97f4a7c15ULL) & kMask;
    x ^= x >> 29;
    x = (x * 0xbf58476d1ce4e5b9ULL) & kMask;
    x ^= x >> 32;
    x = (x * 0x94d049bb133111ebULL) & kMask;
    x ^= x >> 31;
    if (x >= static_cast<uint64_t>(mdb::kLegacyIdLimit)) return static_cast<int64_t>(x);
  }
}

int64_t Ids::next(const std::string& table) { return legacy_ ? sequential(table) : scrambled(); }

int64_t Ids::sequential(const std::string& table) { return ++last_[table]; }

void Ids::continue_after(const std::string& table, int64_t max_id) {
  int64_t& last = last_[table];
  if (max_id > last) last = max_id;
}

}  // namespace mdb::sample
