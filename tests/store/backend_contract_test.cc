// The contract of store/backend.h, run against every backend: what the blob store above
// relies on whichever medium holds the objects. A new backend joins by adding its factory to
// backends(); it passes when every case here does.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <thread>

#include "store/local_backend.h"
#include "store/s3_backend.h"
#include "tests/support/s3server.h"
#include "tests/support/testenv.h"

namespace mdb::store {
namespace {

namespace t = mdb::test;
namespace stdfs = std::filesystem;

struct BackendCase {
  std::string name;
  std::function<std::unique_ptr<Backend>(const stdfs::path& scratch)> make;
};

void PrintTo(const BackendCase& c, std::ostream* os) { *os << c.name; }

const std::vector<BackendCase>& backends() {
  static const std::vector<BackendCase> cases = {
      {"Local",
       [](const stdfs::path& scratch) {
         auto b = std::make_unique<LocalBackend>(scratch / "store");
         b->create_layout();
         return std::unique_ptr<Backend>(std::move(b));
       }},
      // A real radosgw (tests/support/s3server.h), a fresh bucket each test: under a prefix,
      // and at the bucket's root. Writers spool into the cache dir: the test's own.
      {"S3",
       [](const stdfs::path& scratch) {
         ::setenv("XDG_CACHE_HOME", (scratch / "cache").c_str(), 1);
         auto b = std::make_unique<S3Backend>("s3://" + t::fresh_bucket() + "/some/prefix", t::s3_server());
         b->create_layout();
         return std::unique_ptr<Backend>(std::move(b));
       }},
      {"S3BucketRoot",
       [](const stdfs::path& scratch) {
         ::setenv("XDG_CACHE_HOME", (scratch / "cache").c_str(), 1);
         auto b = std::make_unique<S3Backend>("s3://" + t::fresh_bucket(), t::s3_server());
         b->create_layout();
         return std::unique_ptr<Backend>(std::move(b));
       }},
  };
  return cases;
}

class BackendContract : public ::testing::TestWithParam<BackendCase> {
 protected:
  void SetUp() override { backend_ = GetParam().make(tmp_.path()); }

  std::string write_pack(const std::string& name, const std::string& bytes) {
    auto w = backend_->create(ObjectKind::Pack);
    w->append(bytes.substr(0, bytes.size() / 2));
    w->append(bytes.substr(bytes.size() / 2));
    w->finish(name);
    backend_->sync(ObjectKind::Pack);
    return name;
  }

  std::vector<std::string> names(ObjectKind kind) {
    std::vector<std::string> out;
    for (const ObjectInfo& o : backend_->list(kind)) out.push_back(o.name);
    std::sort(out.begin(), out.end());
    return out;
  }

  t::TempDir tmp_;
  std::unique_ptr<Backend> backend_;
};

TEST_P(BackendContract, AnObjectIsVisibleOnlyOnceFinished) {
  auto w = backend_->create(ObjectKind::Pack);
  w->append("partial bytes");
  EXPECT_TRUE(names(ObjectKind::Pack).empty());
  w->finish("p1");
  backend_->sync(ObjectKind::Pack);
  EXPECT_EQ(names(ObjectKind::Pack), std::vector<std::string>{"p1"});
  EXPECT_EQ(backend_->read_all(ObjectKind::Pack, "p1"), "partial bytes");
  EXPECT_EQ(backend_->size(ObjectKind::Pack, "p1"), 13u);
}

TEST_P(BackendContract, AnUnfinishedWriterLeavesNothing) {
  {
    auto w = backend_->create(ObjectKind::Pack);
    w->append("never finished");
  }
  EXPECT_TRUE(names(ObjectKind::Pack).empty());
  EXPECT_FALSE(backend_->size(ObjectKind::Pack, "anything"));
}

TEST_P(BackendContract, ReadsReturnTheBytesAskedForAndFewerOnlyAtTheEnd) {
  std::string bytes;
  for (int i = 0; i < 100000; ++i) bytes += static_cast<char>(i * 7);
  write_pack("p", bytes);
  EXPECT_EQ(backend_->read(ObjectKind::Pack, "p", 0, 10), bytes.substr(0, 10));
  EXPECT_EQ(backend_->read(ObjectKind::Pack, "p", 54321, 4000), bytes.substr(54321, 4000));
  EXPECT_EQ(backend_->read(ObjectKind::Pack, "p", bytes.size() - 5, 100), bytes.substr(bytes.size() - 5));
  EXPECT_EQ(backend_->read(ObjectKind::Pack, "p", bytes.size(), 10), "");
}

// Appends of uneven sizes, from one byte to over 1 MiB (a writer that gathers appends into blocks
// of its own must cut them anywhere): the object holds exactly the bytes appended, in order.
TEST_P(BackendContract, ALargeObjectOfUnevenAppendsReadsBackExactly) {
  std::mt19937 random(7);
  std::string bytes;
  auto w = backend_->create(ObjectKind::Pack);
  for (size_t n : {size_t{1}, size_t{4095}, size_t{300000}, size_t{524288}, size_t{700001}, size_t{3}, size_t{1048576}}) {
    std::string piece(n, '\0');
    for (char& c : piece) c = static_cast<char>(random());
    w->append(piece);
    bytes += piece;
  }
  w->finish("big");
  backend_->sync(ObjectKind::Pack);
  EXPECT_EQ(backend_->size(ObjectKind::Pack, "big"), bytes.size());
  EXPECT_TRUE(backend_->read_all(ObjectKind::Pack, "big") == bytes);
}

// Not only unlisted (contract 4): once the writer and the backend are gone, no byte of it is left
// on this machine (a local temporary, an S3 writer's spool file).
TEST_P(BackendContract, AnUnfinishedLargeWriterLeavesNoFile) {
  {
    auto w = backend_->create(ObjectKind::Pack);
    w->append(std::string(3u << 20, 'x'));  // more than a writer keeps before it writes
  }
  EXPECT_TRUE(names(ObjectKind::Pack).empty());
  // Its 3 MiB are gone with the writer, not only once the backend goes (a long command makes many
  // writers); a backend's own small files (a scratch dir's owner mark) may stay while it lives.
  uintmax_t bytes = 0;
  for (const auto& e : stdfs::recursive_directory_iterator(tmp_.path()))
    if (e.is_regular_file()) bytes += e.file_size();
  EXPECT_LT(bytes, 4096u) << "the unfinished object's bytes stayed on disk after its writer";
  backend_.reset();
  for (const auto& e : stdfs::recursive_directory_iterator(tmp_.path()))
    EXPECT_FALSE(e.is_regular_file()) << e.path() << " was left behind";
}

TEST_P(BackendContract, AMissingObjectIsDamageNamingIt) {
  for (bool whole : {false, true}) {
    try {
      whole ? backend_->read_all(ObjectKind::Pack, "0123") : backend_->read(ObjectKind::Pack, "0123", 0, 1);
      FAIL() << "read of a missing object returned";
    } catch (const CorruptError& e) {
      EXPECT_NE(std::string(e.what()).find("0123"), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(backend_->size(ObjectKind::Pack, "0123"));
}

TEST_P(BackendContract, ListNamesEveryCompleteObjectOnceWithItsSize) {
  write_pack("a", "1");
  write_pack("b", "22");
  write_pack("c", "333");
  auto w = backend_->create(ObjectKind::Pack);  // still being written
  w->append("4444");
  std::vector<ObjectInfo> all = backend_->list(ObjectKind::Pack);
  std::sort(all.begin(), all.end(), [](const ObjectInfo& x, const ObjectInfo& y) { return x.name < y.name; });
  ASSERT_EQ(all.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(all[i].name, std::string(1, static_cast<char>('a' + i)));
    EXPECT_EQ(all[i].size, i + 1);
  }
}

TEST_P(BackendContract, SaveReplacesAWholeObject) {
  backend_->save(ObjectKind::Config, "config", "version 1");
  EXPECT_EQ(backend_->read_all(ObjectKind::Config, "config"), "version 1");
  EXPECT_EQ(backend_->read(ObjectKind::Config, "config", 0, 7), "version");  // cached for reading
  backend_->save(ObjectKind::Config, "config", "version 2, longer");
  EXPECT_EQ(backend_->read_all(ObjectKind::Config, "config"), "version 2, longer");
  EXPECT_EQ(backend_->read(ObjectKind::Config, "config", 0, 17), "version 2, longer");
  EXPECT_EQ(names(ObjectKind::Config), std::vector<std::string>{"config"});
}

TEST_P(BackendContract, PinsAreSavedListedAndRemovedApartFromPacks) {
  write_pack("p", "pack bytes");
  backend_->save(ObjectKind::Pin, "a.json", "{\"snapshot\": \"s1\"}");
  backend_->save(ObjectKind::Pin, "b.json", "{}");
  backend_->save(ObjectKind::Pin, "a.json", "{\"snapshot\": \"s2\"}");
  EXPECT_EQ(names(ObjectKind::Pin), (std::vector<std::string>{"a.json", "b.json"}));
  EXPECT_EQ(names(ObjectKind::Pack), std::vector<std::string>{"p"});
  EXPECT_EQ(backend_->read_all(ObjectKind::Pin, "a.json"), "{\"snapshot\": \"s2\"}");
  backend_->remove(ObjectKind::Pin, "a.json");
  EXPECT_EQ(names(ObjectKind::Pin), std::vector<std::string>{"b.json"});
  backend_->remove_abandoned();
  EXPECT_EQ(names(ObjectKind::Pin), std::vector<std::string>{"b.json"});
}

TEST_P(BackendContract, CreateNewStoresOnlyWhenTheNameIsFree) {
  EXPECT_TRUE(backend_->create_new(ObjectKind::Lock, "l1", "first"));
  EXPECT_FALSE(backend_->create_new(ObjectKind::Lock, "l1", "second"));
  EXPECT_EQ(backend_->read_all(ObjectKind::Lock, "l1"), "first");
  EXPECT_TRUE(backend_->create_new(ObjectKind::Config, "config", "c"));
  EXPECT_FALSE(backend_->create_new(ObjectKind::Config, "config", "d"));
  EXPECT_EQ(backend_->read_all(ObjectKind::Config, "config"), "c");
}

TEST_P(BackendContract, OfTwoRacingCreatorsExactlyOneWins) {
  std::atomic<int> won{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 4; ++i)
    racers.emplace_back([&, i] { won += backend_->create_new(ObjectKind::Config, "config", std::to_string(i)); });
  for (std::thread& t : racers) t.join();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(backend_->read_all(ObjectKind::Config, "config").size(), 1u);
}

TEST_P(BackendContract, IndexAndLockObjectsAreListedApartFromTheOtherKinds) {
  write_pack("p", "pack bytes");
  backend_->save(ObjectKind::Pin, "a.json", "{}");
  EXPECT_TRUE(backend_->create_new(ObjectKind::Index, "i1", "index one"));
  EXPECT_TRUE(backend_->create_new(ObjectKind::Lock, "k1", "lock"));
  backend_->save(ObjectKind::Lock, "k1", "lock, refreshed");  // a refresh replaces it
  EXPECT_EQ(names(ObjectKind::Index), std::vector<std::string>{"i1"});
  EXPECT_EQ(names(ObjectKind::Lock), std::vector<std::string>{"k1"});
  EXPECT_EQ(names(ObjectKind::Pack), std::vector<std::string>{"p"});
  EXPECT_EQ(names(ObjectKind::Pin), std::vector<std::string>{"a.json"});
  EXPECT_EQ(backend_->read_all(ObjectKind::Lock, "k1"), "lock, refreshed");
  backend_->remove(ObjectKind::Lock, "k1");
  backend_->remove(ObjectKind::Index, "i1");
  EXPECT_TRUE(names(ObjectKind::Lock).empty());
  EXPECT_TRUE(names(ObjectKind::Index).empty());
}

TEST_P(BackendContract, RemoveTakesOneObjectAndAMissingOneIsFine) {
  write_pack("a", "1");
  write_pack("b", "2");
  EXPECT_EQ(backend_->read_all(ObjectKind::Pack, "a"), "1");
  backend_->remove(ObjectKind::Pack, "a");
  backend_->remove(ObjectKind::Pack, "never-was");
  EXPECT_EQ(names(ObjectKind::Pack), std::vector<std::string>{"b"});
  EXPECT_THROW(backend_->read(ObjectKind::Pack, "a", 0, 1), CorruptError);
}

TEST_P(BackendContract, ADeadWritersTemporariesAreInvisibleAndRemovedAsAbandoned) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // dies mid-object, as kill -9 would: no destructor runs
    auto w = backend_->create(ObjectKind::Pack);
    w->append(std::string(100000, 'x'));
    w.release();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  write_pack("kept", "k");
  EXPECT_EQ(names(ObjectKind::Pack), std::vector<std::string>{"kept"});
  backend_->remove_abandoned();
  EXPECT_EQ(names(ObjectKind::Pack), std::vector<std::string>{"kept"});
  if (GetParam().name == "Local") {  // nothing but the finished pack is left on disk
    EXPECT_EQ(std::distance(stdfs::directory_iterator(tmp_ / "store" / "packs"), stdfs::directory_iterator()), 1);
  }
}

INSTANTIATE_TEST_SUITE_P(All, BackendContract, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<BackendCase>& i) { return i.param.name; });

}  // namespace
}  // namespace mdb::store
