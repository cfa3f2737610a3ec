#pragma once
// Deterministic randomness for the sample generator. Everything derives from the --seed
// through these types (never std::random distributions, whose output differs between
// standard libraries), so the same seed gives the same bytes everywhere.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mdb::sample {

// Combines values into a well-mixed 64-bit seed (splitmix64 finaliser).
uint64_t mix(uint64_t a, uint64_t b);
uint64_t mix(uint64_t a, std::string_view b);

// xoshiro256** seeded through splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t next();
  uint64_t below(uint64_t n);                 // uniform in [0, n), n > 0
  int64_t range(int64_t lo, int64_t hi);      // uniform in [lo, hi]
  double uniform();                           // [0, 1)
  bool chance(double p) { return uniform() < p; }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

  std::string hex(size_t n);           // lowercase hex digits (Prolific ids)
  std::string upper_alnum(size_t n);   // A-Z0-9 (MTurk ids)
  void fill(char* out, size_t n);      // random bytes (incompressible)

 private:
  uint64_t s_[4];
};

// Primary keys. Random mode mirrors Mephisto >= 1.4: 63-bit ids >= 1,000,000, made by a
// keyed bijection of a counter so they never repeat within one run. Sequential mode
// (legacy data, and qualifications/grants, which the original still numbers 1, 2, ...)
// continues from the largest id seen per table.
class Ids {
 public:
  Ids(uint64_t key, bool legacy) : key_(key), legacy_(legacy) {}

  // A new id for `table`: random, or sequential for legacy data.
  int64_t next(const std::string& table);
  // Always sequential (qualifications, granted qualifications).
  int64_t sequential(const std::string& table);
  // Makes sequential ids of `table` continue after `max_id`.
  void continue_after(const std::string& table, int64_t max_id);

 private:
  int64_t scrambled();

  uint64_t key_;
  bool legacy_;
  uint64_t counter_ = 0;
  std::map<std::string, int64_t> last_;
};

}  // namespace mdb::sample
