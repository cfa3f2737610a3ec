// A local store writes its packs around the page cache (O_DIRECT) where the file system allows,
// in whole blocks on a thread of their own (store/local_backend.cc): the bytes are the same as
// through the page cache, a late refusal falls back to it, and a failed write fails the pack.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <random>

#include "store/local_backend.h"
#include "store/pack.h"
#include "tests/support/testenv.h"

namespace mdb::store {
namespace {

namespace t = mdb::test;
namespace stdfs = std::filesystem;

constexpr size_t kBlock = 512 << 10;  // local_backend.cc's DirectBlocks::kSize

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 random(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(random());
  return out;
}

// Whether a file in `dir` can be switched to direct writes at all.
bool direct_allowed(const stdfs::path& dir) {
  fs::File probe = fs::File::create(dir / "probe", true, 0644);
  bool ok = probe.set_direct(true);
  probe = fs::File();
  stdfs::remove(dir / "probe");
  return ok;
}

// Fails one write of a whole block: with EINVAL (a file system that takes O_DIRECT at fcntl()
// but refuses the write), or with ENOSPC (the disk is full).
class FailsOneBlock : public fs::EnvWrapper {
 public:
  explicit FailsOneBlock(int error, int nth) : EnvWrapper(fs::posix_env()), error_(error), nth_(nth) {}
  size_t write(int fd, std::string_view data, int64_t offset, const stdfs::path& path) override {
    if (data.size() == kBlock && ++blocks_ == nth_) {
      errno = error_;
      return 0;
    }
    return EnvWrapper::write(fd, data, offset, path);
  }
  int blocks() const { return blocks_; }

 private:
  int error_, nth_;
  std::atomic<int> blocks_{0};
};

class DirectPacks : public ::testing::Test {
 protected:
  void SetUp() override { backend.create_layout(); }
  // The cases that test the direct writes themselves fail, saying why, on a file system without them.
  void require_direct() {
    ASSERT_TRUE(direct_allowed(dir / "packs")) << "the test's file system refuses O_DIRECT: nothing here is tested";
  }

  t::TempDir dir;
  LocalBackend backend{dir.path()};
};

// A direct writer keeps what does not fill a block; one through the page cache writes each append.
TEST_F(DirectPacks, AreUsedWhereTheFileSystemAllowsThemAndHoldTheBytesAppended) {
  std::string bytes = random_bytes(3 * kBlock + 12345, 1);
  auto w = backend.create(ObjectKind::Pack);
  w->append(bytes.substr(0, 1000));
  stdfs::path temporary = stdfs::directory_iterator(dir / "packs")->path();
  // On this machine's file system (ext4 on CI): a file system without O_DIRECT takes the other branch.
  EXPECT_EQ(stdfs::file_size(temporary), direct_allowed(dir.path()) ? 0u : 1000u);
  w->append(bytes.substr(1000));
  w->finish("p");
  EXPECT_TRUE(t::read(dir / "packs" / "p") == bytes);
}

TEST_F(DirectPacks, APackOfManyBlobsIsTheSameAsThroughThePageCache) {
  ASSERT_NO_FATAL_FAILURE(require_direct());
  std::vector<std::string> blobs;
  for (unsigned i = 0; i < 40; ++i) blobs.push_back(i % 2 ? random_bytes(40000 + i * 997, i) : std::string(70000 + i, 'a' + i % 26));
  PackWriter w(backend);
  for (const std::string& b : blobs) w.add(sha256(b), BlobType::Data, b);
  std::string name = w.finish();
  std::string bytes = t::read(dir / "packs" / name);
  EXPECT_EQ(trailer_pack_checksum(bytes).hex(), name);  // the name is the checksum of the bytes written
  auto entries = decode_footer(bytes, bytes.size(), name, nullptr);
  ASSERT_EQ(entries.size(), blobs.size());
  for (size_t i = 0; i < blobs.size(); ++i)
    EXPECT_EQ(decode_blob(std::string_view(bytes).substr(entries[i].offset, entries[i].stored_len), entries[i], name,
                          nullptr),
              blobs[i]);
}

TEST_F(DirectPacks, AWriteRefusedLateGoesThroughThePageCache) {
  ASSERT_NO_FATAL_FAILURE(require_direct());
  FailsOneBlock env(EINVAL, 2);
  fs::UseEnv use(env);
  std::string bytes = random_bytes(4 * kBlock + 77, 2);
  auto w = backend.create(ObjectKind::Pack);
  w->append(bytes);
  w->finish("p");
  EXPECT_GE(env.blocks(), 2);  // the refusal happened
  EXPECT_TRUE(t::read(dir / "packs" / "p") == bytes);
}

TEST_F(DirectPacks, AFailedBlockFailsThePackAndLeavesNoTemporary) {
  ASSERT_NO_FATAL_FAILURE(require_direct());
  FailsOneBlock env(ENOSPC, 2);
  fs::UseEnv use(env);
  {
    auto w = backend.create(ObjectKind::Pack);
    try {
      w->append(random_bytes(4 * kBlock, 3));
      w->finish("p");
      ADD_FAILURE() << "a pack whose write failed was finished";
    } catch (const fs::IoError& e) {
      EXPECT_NE(std::string(e.what()).find("cannot write"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(strerror(ENOSPC)), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(stdfs::is_empty(dir / "packs"));
}

}  // namespace
}  // namespace mdb::store
