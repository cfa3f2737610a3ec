// A backup into an encrypted store derives its key (Argon2id) on a worker while it walks the data
// dir (docs/SECURITY.md "Opening a store"). Through the real binary, on a store whose key entry is
// made deliberately slow to open (its own opslimit raised, the master key re-wrapped): the walk,
// file cache matching and reading of changed files happen before the key is known (`backup --json`
// counts the entries walked meanwhile), the snapshot restores byte for byte, and a wrong password
// still fails with one line after that walk, changing neither the store nor the cache.
#include <gtest/gtest.h>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "store/keys.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using nlohmann::json;

const std::string kPassword = "overlap test password";
// Argon2id passes over the entry's 32 MiB: about 24 x 25 ms, far longer than walking this data dir.
constexpr uint64_t kSlowOpslimit = 24;

struct SlowKey : DataAndStore {
  stdfs::path cache = tmp / "cache";
  // Two workers whatever the machine has: with one, the key is derived before the walk (serial).
  std::map<std::string, std::string> env = {
      {"MEPHISTO_PASSWORD", kPassword}, {"XDG_CACHE_HOME", cache.string()}, {"MDB_THREADS", "2"}};
  SlowKey() {
    make_data_dir(data);
    ::usleep(100'000);  // past the file cache's racy window (store/backup.cc): files are trusted
    RunResult r = run({"--json", "--encrypt", "backup"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    slow_down_key();
  }
  RunResult run(std::vector<std::string> args) const { return mdb(data, store, std::move(args), env); }

  // The config's one key entry re-wrapped under kSlowOpslimit passes, its mac made anew.
  void slow_down_key() const {
    json cfg = json::parse(read(store / "config"));
    std::string id = cfg["id"].get<std::string>();
    json& e = cfg["encryption"]["keys"][0];
    store::KdfParams kdf;
    kdf.salt = store::unhex(e["kdf"]["salt"].get<std::string>());
    kdf.opslimit = e["kdf"]["opslimit"].get<uint64_t>();
    kdf.memlimit = e["kdf"]["memlimit"].get<uint64_t>();
    std::string aad = store::key_aad(id, e["id"].get<std::string>());
    std::optional<store::MasterKey> master =
        store::unwrap_master(kPassword, kdf, store::unhex(e["wrapped"].get<std::string>()), aad);
    ASSERT_TRUE(master.has_value());
    kdf.opslimit = kSlowOpslimit;
    e["kdf"]["opslimit"] = kSlowOpslimit;
    e["wrapped"] = store::hex(store::wrap_master(kPassword, kdf, *master, aad));
    cfg.erase("mac");
    cfg["mac"] = store::config_mac(cfg, store::Crypto(*master));
    write(store / "config", cfg.dump(2) + "\n");
  }
  // One file changed, one added: read by the next backup.
  void change_files() const {
    write(data / "data" / "runs" / "changed-after-first-backup.txt", std::string(300000, 'c'));
    write(data / "data" / "runs" / "second.txt", random_bytes(200000, 11));
    ::usleep(100'000);
  }
};

TEST(KeyOverlap, TheWalkAndTheChangedFilesAreReadBeforeTheKeyIsKnown) {
  SlowKey s;
  s.change_files();
  auto before = describe(s.data);
  RunResult r = s.run({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  // Every entry (files, dirs, the symlink) was walked and the changed files read while Argon2id ran.
  EXPECT_GE(j.value("files_read", 0), 2) << r.out;
  EXPECT_GE(j.value("entries_before_key", 0), j.value("files", 0) + j.value("dirs", 0)) << r.out;
  // Held entries were stored in order, their file cache entries too: nothing is read again.
  r = s.run({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).value("files_read", -1), 0) << r.out;
  TempDir t;
  r = mdb(t / "data", s.store, {"restore", "-f", j.value("snapshot", "")}, s.env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(t / "data")), "");
  // Serial (one worker): the key is derived first, nothing is walked before it.
  std::map<std::string, std::string> serial = s.env;
  serial["MDB_THREADS"] = "1";
  write(s.data / "data" / "runs" / "third.txt", "third");
  ::usleep(100'000);
  r = mdb(s.data, s.store, {"--json", "backup"}, serial);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).value("entries_before_key", -1), 0) << r.out;
}

// What is held is bounded (4 MiB, store/backup.cc): a bigger changed file makes the backup wait for
// the key there, its chunks so far stored then; the entries after it are not held.
TEST(KeyOverlap, AFileBiggerThanWhatIsHeldWaitsForTheKey) {
  SlowKey s;
  write(s.data / "data" / "big-upload.bin", random_bytes(6u << 20, 5));
  ::usleep(100'000);
  auto before = describe(s.data);
  RunResult r = s.run({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_GE(j.value("entries_before_key", 0), 1) << r.out;
  EXPECT_LT(j.value("entries_before_key", 0), j.value("files", 0) + j.value("dirs", 0)) << r.out;
  TempDir t;
  r = mdb(t / "data", s.store, {"restore", "-f", j.value("snapshot", "")}, s.env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(t / "data")), "");
}

TEST(KeyOverlap, AWrongPasswordAfterTheWalkChangesNeitherTheStoreNorTheCache) {
  SlowKey s;
  s.change_files();
  auto without_locks = [](std::map<std::string, std::string> t) {  // lock files name the last user
    for (auto it = t.begin(); it != t.end();)
      it = it->first == "lock" || it->first.ends_with("/lock") || it->first.ends_with("lock.mdb") ? t.erase(it)
                                                                                                   : std::next(it);
    return t;
  };
  auto store_before = without_locks(tree(s.store)), cache_before = without_locks(tree(s.cache));
  std::map<std::string, std::string> wrong = s.env;
  wrong["MEPHISTO_PASSWORD"] = "not the password";
  RunResult r = mdb(s.data, s.store, {"backup"}, wrong);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("Error: Wrong password", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(changed_paths(store_before, without_locks(tree(s.store))), "");
  EXPECT_EQ(changed_paths(cache_before, without_locks(tree(s.cache))), "");
  // The right password then backs up the changes.
  r = s.run({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(json::parse(r.out).value("files_read", 0), 2) << r.out;
}

}  // namespace
}  // namespace mdb::test
