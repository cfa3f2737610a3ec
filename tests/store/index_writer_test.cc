// IndexWriter: the index's writes in transactions that each dirty a bounded number of pages, far
// fewer of them while the index is young (a first backup), with the memory LMDB keeps for dirty
// pages bounded however many writes there are.
#include <gtest/gtest.h>
#include <malloc.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "store/index.h"
#include "tests/support/sanitized.h"
#include "tests/support/testenv.h"

#if defined(__SANITIZE_ADDRESS__)
#define MDB_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MDB_TEST_ASAN 1
#endif
#endif
#ifdef MDB_TEST_ASAN
#include <sanitizer/allocator_interface.h>
#endif

namespace mdb::store {
namespace {

namespace t = mdb::test;

// The bytes this process has allocated and not freed (LMDB mallocs a transaction's dirty pages
// and keeps them on its own free list for the next transaction).
size_t heap_in_use() {
#ifdef MDB_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  return mallinfo2().uordblks;
#endif
}

BlobId random_id(std::mt19937_64& rng) {
  BlobId id;
  for (uint8_t& b : id.bytes) b = static_cast<uint8_t>(rng());
  return id;
}

// `n` blobs of packs of 4000 and as many file cache entries, as a first backup writes them: one
// IndexWriter per pack (Store::write_index). Returns the transactions committed.
uint64_t write_like_a_first_backup(Index& index, size_t n, std::mt19937_64& rng) {
  uint64_t commits = 0;
  for (size_t done = 0; done < n;) {
    IndexWriter w(index);
    std::string pack = std::string(31, '0') + std::to_string(done / 4000 % 10);
    for (size_t i = 0; i < 4000 && done < n; ++i, ++done) {
      PackEntry e;
      e.id = random_id(rng);
      e.offset = i * 100;
      e.stored_len = e.raw_len = 100;
      index.put_blob(w.next(IndexWriter::Table::Blobs), BlobLocation{pack, e});
      FileCacheRecord rec{100, 1, 1, done, {e.id}};
      index.put_filecache(w.next(IndexWriter::Table::FileCache), random_id(rng).hex().substr(0, 16), rec);
    }
    w.commit();
    commits += w.commits();
  }
  return commits;
}

TEST(IndexWriter, AYoungIndexCommitsFarLessOftenThanOncePerThousandWrites) {
  t::TempDir dir;
  Index index = Index::open(dir.path(), true);
  std::mt19937_64 rng(1);
  const size_t n = 40000;
  uint64_t commits = write_like_a_first_backup(index, n, rng);
  // 80000 writes: 79 transactions of 1024 writes. The estimate lets the early ones, into a small
  // tree, take many more.
  EXPECT_LT(commits, 2 * n / 1024 * 3 / 4) << commits << " transactions";
  EXPECT_GE(commits, n / 4000) << "one per pack at least";
  EXPECT_EQ(index.blob_count(index.read()), n);
}

TEST(IndexWriter, TheDirtyPagesLmdbHoldsStayBoundedInALargeIndex) {
  t::TempDir dir;
  Index index = Index::open(dir.path(), true);
  std::mt19937_64 rng(2);
  size_t before = heap_in_use();
  write_like_a_first_backup(index, t::kSanitized ? 60000 : 160000, rng);
  size_t grown = heap_in_use() - std::min(before, heap_in_use());
  // kDirtyPageBudget pages of 4 KiB, with room for the estimate's spread and LMDB's lists.
  EXPECT_LT(grown, size_t{6} << 20) << grown << " bytes";
}

// The estimate never counts fewer leaves than random writes really land on.
RC_GTEST_PROP(IndexWriter, TheEstimateCoversTheLeavesRandomWritesLandOn, ()) {
  uint64_t leaves = *rc::gen::inRange<uint64_t>(1, 5000);
  uint64_t writes = *rc::gen::inRange<uint64_t>(0, 5000);
  std::mt19937_64 rng(leaves * 7919 + writes);
  std::set<uint64_t> landed;
  for (uint64_t i = 0; i < writes; ++i) landed.insert(rng() % leaves);
  double estimate = random_write_pages(leaves, writes);
  RC_ASSERT(estimate + 3 * std::sqrt(static_cast<double>(landed.size())) >= static_cast<double>(landed.size()));
  RC_ASSERT(estimate <= static_cast<double>(writes) * (1 + 1.0 / 64 + 1.0 / 16) + 1e-9);
}

}  // namespace
}  // namespace mdb::store
