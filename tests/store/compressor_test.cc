// The compressor's workers: results in submission order whatever the timing, bounded bytes in
// flight, blobs held at their stored size, and a store whose packs are the same bytes however the
// threads are scheduled, and with one thread or several.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "store/compressor.h"
#include "store/store.h"
#include "tests/support/tree_util.h"

namespace mdb::store {
namespace {

namespace t = mdb::test;

std::string blob(size_t i) {
  std::mt19937_64 rng(i);
  // Alternate compressible text and random bytes, of varied sizes.
  size_t n = 1 + rng() % 200000;
  std::string s(n, 'a' + static_cast<char>(i % 26));
  if (i % 2)
    for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(Compressor, ReturnsJobsInSubmissionOrderAndStaysBounded) {
  Compressor c(1u << 20, nullptr, 2);
  size_t taken = 0;
  auto check = [&](const Compressor::Blob& j) {
    std::string raw = blob(taken);
    EXPECT_EQ(j.id, sha256(raw)) << taken;
    EXPECT_EQ(j.raw_len, raw.size());
    EXPECT_EQ(j.compression, taken % 2 ? Compression::None : Compression::Zstd) << taken;
    EXPECT_EQ(j.stored.capacity(), j.stored.size()) << "a waiting blob holds no spare buffer";
    PackEntry e{j.id, 0, static_cast<uint32_t>(j.stored.size()), j.raw_len, BlobType::Data, j.compression};
    EXPECT_EQ(decode_blob(j.stored, e, "test", nullptr), raw);
    ++taken;
  };
  size_t in_flight = 0;  // raw bytes submitted and not yet taken, counted here independently
  for (size_t i = 0; i < 300; ++i) {
    std::string raw = blob(i);
    c.submit(sha256(raw), BlobType::Data, raw);
    in_flight += raw.size();
    while (c.full()) {  // as the store does: wait only when the window is full
      auto j = c.next();
      ASSERT_TRUE(j.has_value());
      in_flight -= j->raw_len;
      check(*j);
    }
    EXPECT_LT(in_flight, 1u << 20) << "after blob " << i;
  }
  EXPECT_GT(taken, 0u);  // the window did fill up on the way
  while (auto j = c.next()) check(*j);
  EXPECT_EQ(taken, 300u);
  EXPECT_FALSE(c.next().has_value());  // nothing in flight: no wait
}

// One worker is a thread beside the caller, not a serial pool (as it was by mistake until
// 2026-12-05: a pool of one thread runs its jobs inside submit()); none only with MDB_THREADS=1.
TEST(Compressor, OneWorkerCompressesBesideTheCaller) {
  EXPECT_FALSE(Compressor(1u << 20, nullptr, 1).serial());
  EXPECT_TRUE(Compressor(1u << 20, nullptr, 0).serial());
  {
    t::ThreadsForTest two("2");
    EXPECT_EQ(compress_threads(), 1u);
  }
  t::ThreadsForTest one("1");
  EXPECT_EQ(compress_threads(), 0u);
}

// An encrypted store's blobs, compressed into their sealed message's place and sealed there
// (encode_blob), in batches on the worker or serially: the same blobs under the key, in submission
// order, each opening to its raw bytes and none to plain bytes, held at their stored size.
TEST(Compressor, AnEncryptedStoresBlobsComeSealedInSubmissionOrder) {
  Crypto crypto(MasterKey::random());
  std::vector<std::pair<Compression, size_t>> layouts[2];  // compression and stored size of each blob
  for (unsigned threads : {0u, 1u}) {
    Compressor c(1u << 20, &crypto, threads);
    EXPECT_EQ(c.serial(), threads == 0);
    auto check = [&](const Compressor::Blob& j) {
      size_t i = layouts[threads].size();
      std::string raw = blob(i);
      EXPECT_EQ(j.id, crypto.mac(raw)) << i;
      EXPECT_EQ(j.raw_len, raw.size());
      EXPECT_EQ(j.compression, i % 2 ? Compression::None : Compression::Zstd) << i;
      EXPECT_EQ(j.stored.capacity(), j.stored.size()) << "a waiting blob holds no spare buffer";
      PackEntry e{j.id, 0, static_cast<uint32_t>(j.stored.size()), j.raw_len, BlobType::Data, j.compression};
      EXPECT_EQ(decode_blob(j.stored, e, "test", &crypto), raw) << i;
      EXPECT_THROW(decode_blob(j.stored, e, "test", nullptr), CorruptError) << "sealed, not plain: " << i;
      layouts[threads].emplace_back(j.compression, j.stored.size());
    };
    for (size_t i = 0; i < 200; ++i) {
      std::string raw = blob(i);
      c.submit(crypto.mac(raw), BlobType::Data, raw);
      while (c.full()) check(*c.next());
    }
    while (auto j = c.next()) check(*j);
  }
  EXPECT_EQ(layouts[0].size(), 200u);
  EXPECT_EQ(layouts[0], layouts[1]);
  // Sealed in place, a message is what seal() makes of the same bytes: it opens, and a changed
  // byte of it does not.
  std::string plain = blob(7), framed = std::string(kNonceBytes, '\0') + plain + std::string(kTagBytes, '\0');
  crypto.seal_in_place(framed);
  std::string opened;
  ASSERT_TRUE(crypto.open(framed, opened));
  EXPECT_EQ(opened, plain);
  EXPECT_EQ(framed.size(), crypto.seal(plain).size());
  framed[kNonceBytes + 3] ^= 1;
  EXPECT_FALSE(crypto.open(framed, opened));
}

TEST(Compressor, DropsUnfinishedJobsOnDestruction) {
  auto c = std::make_unique<Compressor>(64u << 20, nullptr, 2);
  for (size_t i = 0; i < 50; ++i) c->submit(sha256(blob(i)), BlobType::Data, blob(i));
  c.reset();  // joins the thread without waiting for the rest
}

// Pack boundaries and contents follow the order of add(), not the worker's timing: stores fed
// the same blobs, compressing serially ($MDB_THREADS=1, in add()) or on the worker, hold
// byte-identical packs.
TEST(Compressor, StorePacksDoNotDependOnTiming) {
  t::TempDir dir;
  for (const char* name : {"a", "b", "c"}) {
    t::ThreadsForTest with(name[0] == 'a' ? "1" : "2");
    EXPECT_EQ(compress_threads(), name[0] == 'a' ? 0u : std::min(2u, kMaxCompressThreads));
    Store s(dir / name, Store::Mode::Write, "test");
    for (size_t i = 0; i < 700; ++i) s.add(BlobType::Data, blob(i));  // over one pack target
    uint64_t stored = s.stats().bytes_stored;  // counts the blobs still in flight
    SnapshotRecord rec;
    rec.name = "s";
    s.commit_snapshot(rec);
    EXPECT_EQ(s.stats().bytes_stored, stored);
  }
  auto packs = [&](const char* name) {  // a pack is named by its checksum: same names, same bytes
    std::vector<std::string> out;
    for (auto& e : stdfs::directory_iterator(dir / name / "packs")) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_GE(packs("a").size(), 3u);  // two data packs at least, and the snapshot's
  EXPECT_EQ(packs("a"), packs("b"));
  EXPECT_EQ(packs("a"), packs("c"));
}

}  // namespace
}  // namespace mdb::store
