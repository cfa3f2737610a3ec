// The pages of the index's map that stay resident (Index::touched): an index within the map
// budget stays mapped whole, and one whose command runs other work beside it
// (Index::share_memory, an import's extraction beside its snapshot) keeps to 4 MiB.
#include <gtest/gtest.h>

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

// An index of `n` random blobs; returns their ids.
std::vector<BlobId> fill(Index& index, size_t n) {
  std::mt19937_64 rng(7);
  std::vector<BlobId> ids(n);
  IndexWriter w(index);
  for (size_t i = 0; i < n; ++i) {
    for (uint8_t& b : ids[i].bytes) b = static_cast<uint8_t>(rng());
    PackEntry e;
    e.id = ids[i];
    e.offset = i * 100;
    e.stored_len = e.raw_len = 100;
    index.put_blob(w.next(IndexWriter::Table::Blobs), BlobLocation{std::string(32, 'a'), e});
  }
  w.commit();
  return ids;
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

}  // namespace
}  // namespace mdb::store
