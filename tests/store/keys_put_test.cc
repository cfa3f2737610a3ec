// The index's filter of keys put into a table opened empty (store/keys_put.h,
// Index::filter_empty_tables): never a false "absent", few false "maybe", and a lookup it
// answers maps no page of the index.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <random>
#include <vector>

#include "store/index.h"
#include "tests/support/testenv.h"

namespace mdb::store {
namespace {

namespace t = mdb::test;

std::string random_key(std::mt19937_64& rng, size_t len) {
  std::string key(len, '\0');
  for (char& c : key) c = static_cast<char>(rng());
  return key;
}

BlobId random_id(std::mt19937_64& rng) {
  std::string raw = random_key(rng, 32);
  return BlobId::from_raw(raw, "test");
}

void put_blobs(Index& index, const std::vector<BlobId>& ids) {
  IndexWriter w(index);
  for (size_t i = 0; i < ids.size(); ++i) {
    PackEntry e;
    e.id = ids[i];
    e.offset = i * 100;
    e.stored_len = e.raw_len = 100;
    index.put_blob(w.next(IndexWriter::Table::Blobs), BlobLocation{std::string(32, 'a'), e});
  }
  w.commit();
}

long minor_faults() {
  struct rusage u {};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
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

TEST(IndexFilter, WhatWasPutSinceTheTablesWereEmptyIsFoundAndNothingElse) {
  t::TempDir dir;
  Index index = Index::open(dir.path(), true);
  index.filter_empty_tables();
  std::mt19937_64 rng(3);
  std::vector<BlobId> ids(5000);
  for (BlobId& id : ids) id = random_id(rng);
  put_blobs(index, ids);
  std::string key = random_key(rng, 16);
  FileCacheRecord rec{7, 1, 2, 3, {ids[0]}};
  {
    Txn w = index.write();
    index.put_filecache(w, key, rec);
    w.commit();
  }
  Txn r = index.read();
  for (const BlobId& id : ids) {
    ASSERT_TRUE(index.has_blob(r, id));
    ASSERT_TRUE(index.blob(r, id).has_value());
  }
  EXPECT_FALSE(index.has_blob(r, random_id(rng)));
  EXPECT_FALSE(index.blob(r, random_id(rng)).has_value());
  ASSERT_TRUE(index.filecache(r, key).has_value());
  EXPECT_EQ(index.filecache(r, key)->size, 7u);
  EXPECT_FALSE(index.filecache(r, random_key(rng, 16)).has_value());
}

// A table that holds keys when the filter is asked for gets none: its keys are found.
TEST(IndexFilter, ATableThatHeldKeysIsNotFiltered) {
  t::TempDir dir;
  std::mt19937_64 rng(5);
  std::vector<BlobId> ids(300);
  for (BlobId& id : ids) id = random_id(rng);
  {
    Index index = Index::open(dir.path(), true);
    put_blobs(index, ids);
  }
  Index index = Index::open(dir.path(), true);
  index.filter_empty_tables();
  BlobId later = random_id(rng);
  put_blobs(index, {later});
  Txn r = index.read();
  for (const BlobId& id : ids) ASSERT_TRUE(index.has_blob(r, id));
  EXPECT_TRUE(index.has_blob(r, later));
}

// With the map dropped every 8 lookups (Index::share_memory), a lookup in the map faults in
// pages; one the filter answers faults in none.
TEST(IndexFilter, ALookupOfAKeyNeverPutMapsNoPage) {
  t::TempDir dir;
  Index index = Index::open(dir.path(), true);
  index.share_memory([] { return true; });
  index.filter_empty_tables();
  std::mt19937_64 rng(9);
  std::vector<BlobId> ids(30000), absent(20000);
  for (BlobId& id : ids) id = random_id(rng);
  for (BlobId& id : absent) id = random_id(rng);
  put_blobs(index, ids);
  Txn r = index.read();
  long before = minor_faults();
  size_t found = 0;
  for (const BlobId& id : absent) found += index.has_blob(r, id);
  long absent_faults = minor_faults() - before;
  before = minor_faults();
  for (size_t i = 0; i < absent.size(); ++i) found += index.has_blob(r, ids[i]);
  long present_faults = minor_faults() - before;
  EXPECT_EQ(found, absent.size());
  EXPECT_LT(absent_faults, 100) << "lookups of keys never put faulted in map pages";
  EXPECT_GT(present_faults, 1000) << "the test's lookups of present keys no longer fault: it shows nothing";
}

}  // namespace
}  // namespace mdb::store
