// The filter of keys put into an index table opened empty (store/keys_put.h): never a false
// "absent", and few false "maybe". How the index uses it: index_map_test.cc (IndexFilter).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "store/keys_put.h"

namespace mdb::store {
namespace {

std::string random_key(std::mt19937_64& rng, size_t len) {
  std::string key(len, '\0');
  for (char& c : key) c = static_cast<char>(rng());
  return key;
}

TEST(KeysPut, EveryKeyPutIsMaybeAndFewKeysNeverPutAre) {
  std::mt19937_64 rng(11);
  KeysPut keys;
  std::vector<std::string> put(200000);
  for (std::string& k : put) keys.add(k = random_key(rng, 32));
  for (const std::string& k : put) ASSERT_TRUE(keys.maybe_has(k));
  size_t false_maybe = 0;
  for (int i = 0; i < 200000; ++i) false_maybe += keys.maybe_has(random_key(rng, 16));
  EXPECT_LT(false_maybe, 200000u / 50) << "more than 2% false positives at 200k keys";
}

TEST(KeysPut, AKeyTooShortToHashIsAlwaysMaybe) {
  KeysPut keys;
  EXPECT_TRUE(keys.maybe_has("short"));
  EXPECT_FALSE(keys.maybe_has(std::string(16, 'x')));
}

}  // namespace
}  // namespace mdb::store
