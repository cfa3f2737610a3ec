// A damaged store index (index/data.mdb): random bytes, or random parts of it overwritten.
// No command dies of a signal on it (LMDB trusts the bytes it maps): each fails with exit
// status 1 and a message, naming the file and `verify --repair-index` when the damage is in
// LMDB's structure or the index's records; `verify --repair-index` rebuilds the index from
// the packs and then everything works again.
#include <gtest/gtest.h>

#include <lmdb.h>

#include <nlohmann/json.hpp>
#include <random>

#include "tests/support/sanitized.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

// The file with `seed`'s damage: even seeds replace every byte, odd ones overwrite 1 to 6
// ranges of up to two pages at random places (one of them in the meta pages for every third).
std::string damage(const std::string& pristine, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string bytes = pristine;
  if (seed % 2 == 0) {
    for (char& c : bytes) c = static_cast<char>(rng());
    return bytes;
  }
  int ranges = 1 + static_cast<int>(rng() % 6);
  for (int i = 0; i < ranges; ++i) {
    size_t len = 1 + rng() % 8192;
    size_t at = (seed % 3 == 0 && i == 0) ? rng() % 8192 : rng() % bytes.size();
    for (size_t p = at; p < std::min(bytes.size(), at + len); ++p) bytes[p] = static_cast<char>(rng());
  }
  return bytes;
}

// A command's outcome on a damaged index: success (the damage missed what it reads) or
// exit status 1 with an error; never a signal, never a usage error.
void expect_clean_outcome(const RunResult& r, const std::string& what, int& named_index) {
  SCOPED_TRACE(what);
  ASSERT_GE(r.exit_code, 0) << "killed by signal " << -r.exit_code << "\n" << r.err;
  if (r.exit_code == 0) return;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.err.rfind("Error: ", 0) == 0 || r.err.find("Problem: ") != std::string::npos) << r.err;
  if (r.err.find("index/data.mdb is damaged") != std::string::npos) {
    EXPECT_NE(r.err.find("mephisto db verify --repair-index"), std::string::npos) << r.err;
    ++named_index;
  }
}

// Seeds 1 to 40 in four blocks, so the blocks run in parallel (seeds 1-3, 11-13, ... in the
// sanitized build).
class DamagedIndex : public ::testing::TestWithParam<int> {};

TEST_P(DamagedIndex, NoCommandDiesAndRepairBringsEverythingBack) {
  TempDir tmp;
  stdfs::path pristine_data = tmp / "pristine-data", pristine_store = tmp / "pristine-store";
  make_data_dir(pristine_data);
  for (int i = 0; i < 400; ++i)  // enough blobs and cached files for branch pages in the index
    write(pristine_data / "data" / "many" / ("f" + std::to_string(i) + ".txt"), "file " + std::to_string(i));
  RunResult r = mdb(pristine_data, pristine_store, {"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string first = nlohmann::json::parse(r.out)["snapshot"];
  auto first_tree = describe(pristine_data);
  write(pristine_data / "more.txt", "more");
  ASSERT_EQ(mdb(pristine_data, pristine_store, {"backup"}).exit_code, 0);
  const std::string pristine = read(pristine_store / "index" / "data.mdb");
  ASSERT_GE(pristine.size(), 16u * 4096) << "an index of several pages";

  int named_index = 0, random_files = 0;
  const uint64_t block = static_cast<uint64_t>(GetParam()), seeds = static_cast<uint64_t>(trials(10));
  for (uint64_t seed = 1 + 10 * block; seed <= seeds + 10 * block; ++seed) {
    random_files += seed % 2 == 0;
    SCOPED_TRACE("seed " + std::to_string(seed));
    stdfs::path data = tmp / ("data" + std::to_string(seed)), store = tmp / ("store" + std::to_string(seed));
    copy_tree(pristine_data, data);
    copy_tree(pristine_store, store);
    write(store / "index" / "data.mdb", damage(pristine, seed));

    expect_clean_outcome(mdb(data, store, {"snapshots"}), "snapshots", named_index);
    expect_clean_outcome(mdb(data, store, {"verify"}), "verify", named_index);
    expect_clean_outcome(mdb(data, store, {"backup"}), "backup", named_index);
    expect_clean_outcome(mdb(data, store, {"restore", "-f", first}), "restore", named_index);

    r = mdb(data, store, {"verify", "--repair-index"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    r = mdb(data, store, {"--json", "snapshots"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json listed = nlohmann::json::parse(r.out);
    std::vector<std::string> names;
    for (const auto& s : listed["snapshots"]) names.push_back(s["name"]);
    EXPECT_NE(std::find(names.begin(), names.end(), first), names.end()) << r.out;
    r = mdb(data, store, {"verify", "--read-data"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    r = mdb(data, store, {"restore", "-f", first});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(diff(first_tree, describe(data)), "");
    stdfs::remove_all(data);
    stdfs::remove_all(store);
  }
  EXPECT_GE(named_index, 4 * random_files) << "every command on a store of random bytes names the damaged index";
}

INSTANTIATE_TEST_SUITE_P(Seeds, DamagedIndex, ::testing::Range(0, 4));

// Damage that hides a snapshot's name (its entry's key and value overwritten, as the damage
// suite's zeroing did): restore of that name names the damaged index rather than saying there
// is no such snapshot.
TEST(DamagedIndexEntry, RestoreOfANameTheDamageHidesNamesTheIndex) {
  DataAndStore d;
  make_data_dir(d.data);
  std::string snap = backup_snapshot(d.data, d.store);
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 8);
  mdb_env_set_mapsize(env, size_t{1} << 30);
  ASSERT_EQ(mdb_env_open(env, (d.store / "index").c_str(), 0, 0644), 0);
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  ASSERT_EQ(mdb_dbi_open(txn, "snapshots", 0, &dbi), 0);
  MDB_val key{snap.size(), snap.data()};
  ASSERT_EQ(mdb_del(txn, dbi, &key, nullptr), 0);
  std::string zeros(snap.size(), '\0'), bad(3, '\0');
  MDB_val zkey{zeros.size(), zeros.data()}, value{bad.size(), bad.data()};
  ASSERT_EQ(mdb_put(txn, dbi, &zkey, &value, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  RunResult r = mdb(d.data, d.store, {"restore", "-f", snap});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find((d.store / "index" / "data.mdb").string() + " is damaged"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mdb::test
