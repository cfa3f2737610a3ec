// prune's policies through the real binary (docs/PRUNE.md): --keep-last and --keep-within
// choose among user backups only, automatic snapshots go by --keep-auto (3 newest of each data
// dir by default), and --dry-run reports exactly what a real run does while changing nothing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

const stdfs::path kSeeded = fixtures() / "s2_import/backups/2026_11_25_15_42_21_mephisto_backup.zip";
const stdfs::path kDump = fixtures() / "s1n_source_without_mturk_hits/dumps/2026_11_25_15_42_09_mephisto_dump.zip";

using Json = nlohmann::json;

Json run_json(const stdfs::path& data, const stdfs::path& store, std::vector<std::string> args) {
  args.insert(args.begin(), "--json");
  RunResult r = mdb(data, store, args);
  EXPECT_EQ(r.exit_code, 0) << args[1] << ": " << r.out << r.err;
  return r.exit_code == 0 ? Json::parse(r.out) : Json::object();
}

std::string backup(const stdfs::path& data, const stdfs::path& store) {
  return run_json(data, store, {"backup"}).value("snapshot", "");
}

// Restores `name`; returns the automatic snapshot taken first.
std::string restore(const stdfs::path& data, const stdfs::path& store, const std::string& name) {
  return run_json(data, store, {"restore", "-f", name}).value("snapshot_before", "");
}

std::vector<std::string> strings(const Json& a) {
  std::vector<std::string> out;
  for (const Json& s : a) out.push_back(s.get<std::string>());
  return out;
}

// The store's snapshot names, oldest first, and each one's kind.
std::map<std::string, std::string> kinds(const stdfs::path& data, const stdfs::path& store) {
  std::map<std::string, std::string> out;
  Json j = run_json(data, store, {"snapshots"});
  for (const Json& s : j["snapshots"]) out[s["name"]] = s["kind"];
  return out;
}

using Dirs = DataAndStore;

TEST(PrunePolicy, KeepLastCountsUserBackupsAndKeepsTheThreeNewestAutomaticOnes) {
  Dirs d;
  make_data_dir(d.data);
  std::string b1 = backup(d.data, d.store);
  std::string a1 = restore(d.data, d.store, b1);
  std::string b2 = backup(d.data, d.store);
  std::string a2 = restore(d.data, d.store, b1);
  std::string b3 = backup(d.data, d.store);
  std::string a3 = restore(d.data, d.store, b2);
  std::string a4 = restore(d.data, d.store, b3);
  std::string b4 = backup(d.data, d.store);
  auto k = kinds(d.data, d.store);
  ASSERT_EQ(k.size(), 8u);
  for (const std::string& b : {b1, b2, b3, b4}) EXPECT_EQ(k[b], "backup") << b;
  for (const std::string& a : {a1, a2, a3, a4}) EXPECT_EQ(k[a], "before_restore") << a;

  Json j = run_json(d.data, d.store, {"prune", "--keep-last", "2"});
  EXPECT_EQ(strings(j["kept"]), (std::vector<std::string>{a2, b3, a3, a4, b4}));
  EXPECT_EQ(strings(j["forgotten"]), (std::vector<std::string>{b1, a1, b2}));
  ASSERT_EQ(j["forgotten_snapshots"].size(), 3u);
  EXPECT_EQ(j["forgotten_snapshots"][0]["kind"], "backup");
  EXPECT_EQ(j["forgotten_snapshots"][1]["kind"], "before_restore");

  RunResult r = mdb(d.data, d.store, {"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = mdb(d.data, d.store, {"restore", "-f", b3});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(PrunePolicy, KeepAutoZeroAndOneCountEachDataDirApart) {
  Dirs d;
  stdfs::path other = d.tmp / "other";
  make_data_dir(d.data);
  make_data_dir(other);
  std::string mine = backup(d.data, d.store), theirs = backup(other, d.store);
  std::vector<std::string> my_autos, their_autos;
  for (int i = 0; i < 2; ++i) {
    my_autos.push_back(restore(d.data, d.store, mine));
    their_autos.push_back(restore(other, d.store, theirs));
  }

  // One automatic snapshot of each data dir survives, whichever data dir prune is run for.
  Json j = run_json(d.data, d.store, {"prune", "--keep-auto", "1"});
  EXPECT_EQ(strings(j["kept"]), (std::vector<std::string>{mine, theirs, my_autos[1], their_autos[1]}));
  EXPECT_EQ(strings(j["forgotten"]), (std::vector<std::string>{my_autos[0], their_autos[0]}));

  j = run_json(other, d.store, {"prune", "--keep-auto", "0"});
  EXPECT_EQ(strings(j["kept"]), (std::vector<std::string>{mine, theirs}));
  EXPECT_EQ(strings(j["forgotten"]), (std::vector<std::string>{my_autos[1], their_autos[1]}));

  RunResult r = mdb(d.data, d.store, {"prune", "--keep-auto", "-1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--keep-auto"), std::string::npos) << r.err;
}

TEST(PrunePolicy, WithoutOptionsEveryUserBackupIsKept) {
  Dirs d;
  make_data_dir(d.data);
  std::vector<std::string> backups, autos;
  for (int i = 0; i < 5; ++i) {
    write(d.data / "n.txt", std::to_string(i));
    backups.push_back(backup(d.data, d.store));
    autos.push_back(restore(d.data, d.store, backups.front()));
  }
  Json j = run_json(d.data, d.store, {"prune"});
  EXPECT_EQ(strings(j["forgotten"]), (std::vector<std::string>{autos[0], autos[1]}));
  EXPECT_EQ(j["kept"].size(), 8u);
  // --keep-within alone: the old backups stay too when they are recent.
  j = run_json(d.data, d.store, {"prune", "--keep-within", "1d", "--keep-auto", "0"});
  EXPECT_EQ(strings(j["kept"]), backups);
}

// Every kind of automatic snapshot: before import, before restore, before export -del.
TEST(PrunePolicy, EveryKindIsShownAndKeptByTheAutomaticRule) {
  Dirs d;
  unzip_to(kSeeded, d.data);
  std::string user = backup(d.data, d.store);
  std::string imported = run_json(d.data, d.store, {"import", "-f", kDump.string()}).value("snapshot_before", "");
  std::string deleted =
      run_json(d.data, d.store, {"export", "-del", "-tn", "image_labeling"}).value("snapshot_before", "");
  std::string restored = restore(d.data, d.store, user);
  auto k = kinds(d.data, d.store);
  EXPECT_EQ(k[user], "backup");
  EXPECT_EQ(k[imported], "before_import");
  EXPECT_EQ(k[deleted], "before_export_delete");
  EXPECT_EQ(k[restored], "before_restore");
  RunResult table = mdb(d.data, d.store, {"snapshots"});
  EXPECT_NE(table.out.find("kind"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(imported + "  "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("  before_export_delete  "), std::string::npos) << table.out;
  // Its 56-character name gets a line of its own, so every line fits 100 columns.
  std::istringstream lines(table.out);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 100u) << table.out;

  Json j = run_json(d.data, d.store, {"prune", "--keep-last", "1", "--keep-auto", "1"});
  EXPECT_EQ(strings(j["kept"]), (std::vector<std::string>{user, restored}));
  EXPECT_EQ(strings(j["forgotten"]), (std::vector<std::string>{imported, deleted}));
}

// The store as bytes; index/lock.mdb is LMDB's table of live readers, not store content.
std::map<std::string, std::string> store_bytes(const stdfs::path& store) {
  std::map<std::string, std::string> t = tree(store);
  t.erase("index/lock.mdb");
  return t;
}

TEST(PruneDryRun, ListsWhatWouldGoAndTheBytesFreedAndChangesNothing) {
  Dirs d;
  make_data_dir(d.data);
  write(d.data / "big1.bin", random_bytes(300000, 2));
  std::string old_backup = backup(d.data, d.store);
  std::string auto1 = restore(d.data, d.store, old_backup);
  stdfs::remove(d.data / "big1.bin");
  write(d.data / "big2.bin", random_bytes(200000, 3));
  std::string kept = backup(d.data, d.store);
  auto before = store_bytes(d.store);
  ASSERT_GT(before.size(), 5u);

  RunResult r = mdb(d.data, d.store, {"prune", "--dry-run", "--keep-last", "1", "--keep-auto", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Would forget 2 of 3 snapshots:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  " + old_backup + "  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  backup\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  " + auto1 + "  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  before_restore\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(kept), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Dry run: nothing was changed."), std::string::npos) << r.out;
  EXPECT_EQ(store_bytes(d.store), before) << "a dry run changed the store";

  Json dry = run_json(d.data, d.store, {"prune", "--dry-run", "--keep-last", "1", "--keep-auto", "0"});
  EXPECT_EQ(store_bytes(d.store), before) << "a dry run changed the store";
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(strings(dry["forgotten"]), (std::vector<std::string>{old_backup, auto1}));
  EXPECT_EQ(dry["forgotten_snapshots"][0]["name"], old_backup);
  EXPECT_EQ(dry["forgotten_snapshots"][0]["kind"], "backup");
  EXPECT_FALSE(dry["forgotten_snapshots"][0]["time"].get<std::string>().empty());
  EXPECT_EQ(dry["forgotten_snapshots"][1]["kind"], "before_restore");
  uint64_t predicted = dry["bytes_freed"];
  EXPECT_GT(predicted, 250000u) << dry.dump();  // big1.bin's blob is only in the forgotten ones

  // The real run forgets the same and frees exactly the bytes predicted.
  Json real = run_json(d.data, d.store, {"prune", "--keep-last", "1", "--keep-auto", "0"});
  EXPECT_EQ(real["dry_run"], false);
  EXPECT_EQ(real["forgotten"], dry["forgotten"]);
  EXPECT_EQ(real["bytes_before"], dry["bytes_before"]);
  EXPECT_EQ(real["bytes_freed"].get<uint64_t>(), predicted);
  EXPECT_EQ(real["bytes_after"], dry["bytes_after"]);
  EXPECT_EQ(real["packs_deleted"], dry["packs_deleted"]);
  EXPECT_EQ(real["packs_rewritten"], dry["packs_rewritten"]);
  EXPECT_EQ(mdb(d.data, d.store, {"verify", "--read-data"}).exit_code, 0);
}

// A partly live pack is rewritten; the dry run's figure counts the new pack honestly.
TEST(PruneDryRun, PredictsPackRewrites) {
  Dirs d;
  make_data_dir(d.data);
  // Many small files in one pack; most are gone from the newest backup.
  for (int i = 0; i < 40; ++i) write(d.data / "bulk" / (std::to_string(i) + ".bin"), random_bytes(5000, 100 + i));
  backup(d.data, d.store);
  for (int i = 0; i < 30; ++i) stdfs::remove(d.data / "bulk" / (std::to_string(i) + ".bin"));
  backup(d.data, d.store);
  Json dry = run_json(d.data, d.store, {"prune", "--dry-run", "--keep-last", "1"});
  Json real = run_json(d.data, d.store, {"prune", "--keep-last", "1"});
  EXPECT_GE(dry["packs_rewritten"].get<uint64_t>(), 1u) << dry.dump();
  EXPECT_EQ(real["packs_rewritten"], dry["packs_rewritten"]);
  EXPECT_EQ(real["bytes_freed"], dry["bytes_freed"]);
  EXPECT_GT(real["bytes_freed"].get<uint64_t>(), 100000u) << real.dump();
  EXPECT_EQ(mdb(d.data, d.store, {"verify", "--read-data"}).exit_code, 0);
}

}  // namespace
}  // namespace mdb::test
