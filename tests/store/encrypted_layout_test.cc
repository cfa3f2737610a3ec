// Where an encrypted local store keeps its index (docs/SECURITY.md, docs/store.md): in the cache
// dir, as an S3 store does, never in clear beside the packs. Through the real binary: no byte under
// the store dir but the config holds a name or content of the data dir; the cache is rebuilt when
// deleted; a store of the old layout (index/ beside the packs) moves to the cache on its first write.
#include <gtest/gtest.h>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using nlohmann::json;

const std::string kPassword = "layout test password";
const std::string kSecretText = "participant-5120 said: keep this private";

struct EncryptedStore : DataAndStore {
  stdfs::path cache = tmp / "cache";
  std::map<std::string, std::string> env = {{"MEPHISTO_PASSWORD", kPassword}, {"XDG_CACHE_HOME", cache.string()}};
  EncryptedStore() {
    make_data_dir(data);
    write(data / "data" / "runs" / "private-notes-file.txt", kSecretText);
    ::usleep(100'000);  // past the file cache's racy window (store/backup.cc): files are trusted
  }
  RunResult run(std::vector<std::string> args) const { return mdb(data, store, std::move(args), env); }
  json backup() const {
    RunResult r = run({"--json", "--encrypt", "backup"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json::object();
  }
  stdfs::path cached_index() const {
    return cache / "mephisto-db" / json::parse(read(store / "config"))["id"].get<std::string>() / "index";
  }
};

// Every path and byte under `dir` but its `config`.
std::string everything_but_config(const stdfs::path& dir) {
  std::string out;
  for (const auto& e : stdfs::recursive_directory_iterator(dir)) {
    out += e.path().string() + "\n";
    if (e.is_regular_file() && e.path() != dir / "config") out += read(e.path());
  }
  return out;
}

TEST(EncryptedLayout, NothingUnderTheStoreButTheConfigHoldsANameOrContentOfTheDataDir) {
  EncryptedStore s;
  auto before = describe(s.data);
  std::string name = s.backup().value("snapshot", "");
  write(s.data / "data" / "runs" / "second-file.txt", "second");
  std::string second = s.backup().value("snapshot", "");
  EXPECT_FALSE(stdfs::exists(s.store / "index"));
  EXPECT_FALSE(stdfs::exists(s.store / "tmp"));
  EXPECT_TRUE(stdfs::exists(s.cached_index() / "data.mdb"));
  std::string all = everything_but_config(s.store);
  for (const std::string& plain :
       {kSecretText, std::string("private-notes-file"), std::string("second-file"), std::string("assign_data"),
        std::string("database.db"), name, second, s.data.string(), kPassword})
    EXPECT_EQ(all.find(plain), std::string::npos) << plain;
  // The cache, deleted, is rebuilt from the store (index objects, pack footers).
  stdfs::remove_all(s.cache);
  RunResult r = s.run({"--json", "snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["snapshots"].size(), 2u) << r.out;
  stdfs::remove_all(s.cache);
  TempDir t;
  r = mdb(t / "data", s.store, {"restore", "-f", name}, s.env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(t / "data")), "");
  r = s.run({"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// The layout of builds before the move: the LMDB index as index/ (and tmp/) in the store dir, no
// index objects. Made from today's layout by moving the cache's index into the store.
void make_old_layout(const EncryptedStore& s) {
  stdfs::rename(s.cached_index(), s.store / "index");
  stdfs::remove_all(s.store / "indexes");
  stdfs::create_directory(s.store / "tmp");
  stdfs::remove_all(s.cache);
}

TEST(EncryptedLayout, AnOldStoreWithIndexBesideThePacksMovesItToTheCacheOnItsFirstWrite) {
  EncryptedStore s;
  auto before = describe(s.data);
  std::string name = s.backup().value("snapshot", "");
  int unchanged_read = s.backup().value("files_read", -1);  // what a backup of nothing new reads
  make_old_layout(s);
  // A read builds the cache and leaves the store as it is.
  RunResult r = s.run({"--json", "snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["snapshots"].size(), 2u) << r.out;
  EXPECT_TRUE(stdfs::exists(s.store / "index" / "data.mdb"));
  // The first write: index/ and tmp/ gone, the file cache carried over (no file read again).
  json j = s.backup();
  EXPECT_EQ(j.value("files_read", -2), unchanged_read) << j.dump();
  EXPECT_FALSE(stdfs::exists(s.store / "index"));
  EXPECT_FALSE(stdfs::exists(s.store / "tmp"));
  EXPECT_EQ(everything_but_config(s.store).find("private-notes-file"), std::string::npos);
  // Index objects name every pack now: a new cache needs no footer, and lists both snapshots.
  stdfs::remove_all(s.cache);
  r = s.run({"--json", "snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["snapshots"].size(), 3u) << r.out;
  TempDir t;
  r = mdb(t / "data", s.store, {"restore", "-f", name}, s.env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(t / "data")), "");
}

}  // namespace
}  // namespace mdb::test
