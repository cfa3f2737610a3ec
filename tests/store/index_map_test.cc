// The pages of the index's map that stay resident (Index::touched): an index within the map
// budget stays mapped whole, and one whose command runs other work beside it
// (Index::share_memory, an import's extraction beside its snapshot) keeps to 4 MiB. A writer's
// filter of the keys it put into a table opened empty (Index::filter_empty_tables) answers
// lookups of any other key without the map; that filter itself (store/keys_put.h) never says a
// key put is absent, and seldom that one never put may be there.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "store/index.h"
#include "tests/support/testenv.h"

namespace mdb::store {
namespace {

namespace t = mdb::test;

// The KiB of `file` this process has resident through its mappings (/proc/self/smaps).
size_t resident_kib(const stdfs::path& file) {
  std::ifstream smaps("/proc/self/smaps");
  size_t kib = 0;
  bool in_file = false;
  for (std::string line; std::getline(smaps, line);) {
    std::istringstream fields(line);
    std::string first;
    fields >> first;
    if (first == "Rss:") {
      size_t n = 0;
      fields >> n;
      if (in_file) kib += n;
    } else if (first.find('-') != std::string::npos && first.back() != ':') {
      in_file = line.size() >= file.string().size() &&
                line.compare(line.size() - file.string().size(), std::string::npos, file.string()) == 0;
    }
  }
  return kib;
}

std::string random_key(std::mt19937_64& rng, size_t len) {
  std::string key(len, '\0');
  for (char& c : key) c = static_cast<char>(rng());
  return key;
}

BlobId random_id(std::mt19937_64& rng) { return BlobId::from_raw(random_key(rng, 32), "test"); }

// Puts `ids` into the blob table, in transactions of IndexWriter's size.
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

// An index of `n` random blobs; returns their ids.
std::vector<BlobId> fill(Index& index, size_t n) {
  std::mt19937_64 rng(7);
  std::vector<BlobId> ids(n);
  for (BlobId& id : ids) id = random_id(rng);
  put_blobs(index, ids);
  return ids;
}

long minor_faults() {
  struct rusage u {};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// The KiB of data.mdb resident after every page of the index was read and then 64 lookups made,
// sharing memory while `share` says so (given or not).
size_t resident_after_lookups(const stdfs::path& dir, const std::function<bool()>& share) {
  Index index = Index::open(dir, true);
  if (share) index.share_memory(share);
  std::vector<BlobId> ids = fill(index, 30000);
  size_t used_kib = stdfs::file_size(dir / "data.mdb") / 1024;
  EXPECT_GT(used_kib, 5u << 10) << "the index must be larger than the shared budget";
  EXPECT_LT(used_kib, 11u << 10) << "and smaller than the whole budget";
  Txn txn = index.read();
  uint64_t seen = 0;
  index.for_each_blob(txn, [&](const BlobLocation&) { ++seen; });
  EXPECT_EQ(seen, ids.size());
  for (size_t i = 0; i < 64; ++i) EXPECT_TRUE(index.has_blob(txn, ids[i * 383]));
  return resident_kib(dir / "data.mdb");
}

TEST(IndexMap, AnIndexWithinTheBudgetStaysMappedWhole) {
  t::TempDir dir;
  size_t kib = resident_after_lookups(dir.path(), nullptr);
  EXPECT_GT(kib, size_t{4} << 10) << kib << " KiB";
}

TEST(IndexMap, AnIndexSharingMemoryKeepsAtMostFourMiBOfItsMapResident) {
  t::TempDir dir;
  size_t kib = resident_after_lookups(dir.path(), [] { return true; });
  EXPECT_LT(kib, size_t{4} << 10) << kib << " KiB";
}

// The work beside the store's ended (an import's extraction before its snapshot did): the whole
// budget is back, and refaulting the map no longer slows the snapshot.
TEST(IndexMap, AnIndexWhoseSharingEndedStaysMappedWhole) {
  t::TempDir dir;
  size_t kib = resident_after_lookups(dir.path(), [] { return false; });
  EXPECT_GT(kib, size_t{4} << 10) << kib << " KiB";
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

// The blob table's epoch: made with the index, kept by reopening and by puts, renewed by a
// transaction that takes a blob out (once), and a file cache record keeps the one it was given;
// one written before epochs (32 bytes, then the chunk ids) still reads, with none.
TEST(IndexEpoch, ABlobTakenOutRenewsItAndRecordsOfEitherLayoutRead) {
  t::TempDir dir;
  std::mt19937_64 rng(9);
  std::vector<BlobId> ids(3);
  for (BlobId& id : ids) id = random_id(rng);
  uint64_t made = 0;
  {
    Index index = Index::open(dir.path(), true);
    made = index.blobs_epoch(index.read());
    EXPECT_NE(made, 0u);
    put_blobs(index, ids);
    EXPECT_EQ(index.blobs_epoch(index.read()), made);
  }
  Index index = Index::open(dir.path(), true);
  EXPECT_EQ(index.blobs_epoch(index.read()), made);
  std::string key = random_key(rng, 16);
  FileCacheRecord rec{7, 1, 2, 3, {ids[0], ids[1]}, made};
  {
    Txn w = index.write();
    index.put_filecache(w, key, rec);
    EXPECT_FALSE(w.removed_blobs());
    index.del_blob(w, ids[2]);
    EXPECT_TRUE(w.removed_blobs());
    w.commit();
  }
  Txn r = index.read();
  uint64_t renewed = index.blobs_epoch(r);
  EXPECT_NE(renewed, made);
  EXPECT_NE(renewed, 0u);
  std::optional<FileCacheRecord> back = index.filecache(r, key);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->epoch, made);
  EXPECT_EQ(back->chunks, rec.chunks);
  EXPECT_EQ(back->inode, 3u);

  std::string old_key = random_key(rng, 16), old_value;
  for (uint64_t v : {7, 1, 2, 3}) old_value += std::string(reinterpret_cast<const char*>(&v), 8);  // little-endian
  old_value += std::string(ids[0].raw()) + std::string(ids[1].raw());
  {
    Txn w = index.write();
    MDB_dbi table = 0;
    ASSERT_EQ(mdb_dbi_open(w.get(), "filecache", 0, &table), 0);
    MDB_val k{old_key.size(), old_key.data()}, v{old_value.size(), old_value.data()};
    ASSERT_EQ(mdb_put(w.get(), table, &k, &v, 0), 0);
    w.commit();
  }
  std::optional<FileCacheRecord> old = index.filecache(index.read(), old_key);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->epoch, 0u);
  EXPECT_EQ(old->size, 7u);
  EXPECT_EQ(old->chunks, rec.chunks);
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
