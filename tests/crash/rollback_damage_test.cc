// Damage in the store meets an atomic change (issue 11, "damage never spreads"), through the
// real binary: the snapshot an import takes stores a damaged database blob anew, so a killed
// import still rolls back exactly; a rollback that meets a damaged run file restores the rest,
// names the file, settles the marker (Damaged, exit 1) and the next commands work; a rollback
// that fails says what is left instead of "Nothing was imported.".
#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "tests/support/fault_trace.h"
#include "tests/support/testenv.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

const stdfs::path kSeeded = fixtures() / "s2_import/backups/2026_11_25_15_42_21_mephisto_backup.zip";
const stdfs::path kDump = fixtures() / "s1n_source_without_mturk_hits/dumps/2026_11_25_15_42_09_mephisto_dump.zip";
const std::string kRunFile = "data/runs/project_alpha/1/agent_data.bin";

// Flips a byte in the stored bytes of every blob of `store` whose raw length is `raw_len`
// (pack layout version 2: records of a 64-byte header, then the stored bytes). Returns how many.
int damage_blobs_of_length(const stdfs::path& store, uint32_t raw_len) {
  int damaged = 0;
  for (const auto& e : stdfs::directory_iterator(store / "packs")) {
    std::string bytes = read(e.path());
    bool changed = false;
    for (size_t pos = 8; pos + 64 <= bytes.size() && bytes.compare(pos, 4, "MDBR") == 0;) {
      uint32_t stored = 0, raw = 0;
      std::memcpy(&stored, bytes.data() + pos + 36, 4);
      std::memcpy(&raw, bytes.data() + pos + 40, 4);
      if (raw == raw_len) {
        bytes[pos + 64 + stored / 2] ^= 0x20;
        changed = true;
        ++damaged;
      }
      pos += 64 + stored;
    }
    if (!changed) continue;
    stdfs::permissions(e.path(), stdfs::perms(0644));
    write(e.path(), bytes);
  }
  return damaged;
}

class RollbackDamage : public ::testing::Test {
 protected:
  // A seeded data dir with a run file of its own (incompressible, so stored raw), backed up.
  stdfs::path make_target(const std::string& name) {
    stdfs::path data = tmp_ / name / "data";
    unzip_to(kSeeded, data);
    write(data / kRunFile, run_file_);
    return data;
  }
  RunResult run(const stdfs::path& data, std::vector<std::string> args,
                const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> all = {"--data-dir", data.string(), "--store", (data.parent_path() / "store").string(),
                                    "-y", "db"};
    all.insert(all.end(), args.begin(), args.end());
    return run_mephisto(all, "", env);
  }
  RunResult import(const stdfs::path& data, const std::map<std::string, std::string>& env = {}) {
    return run(data, {"import", "-f", kDump.string()}, env);
  }
  // The fault point where the import's rows begin (SQLite's journal of database.db), in a
  // traced run on a copy in the state `prepare` leaves: the change is MARKED by then.
  int rows_point(const std::function<void(const stdfs::path&)>& prepare) {
    stdfs::path data = make_target("reference");
    prepare(data);
    stdfs::path trace = tmp_ / "trace";
    RunResult ok = import(data, {{"MDB_FAULT_TRACE", trace.string()}});
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    std::string journal = (data / "database.db-journal").string();
    return first_fault_point(trace, [&](const FaultPoint& p) { return p.path == journal; });
  }
  TempDir tmp_;
  std::string run_file_ = random_bytes(30000, 11);
};

TEST_F(RollbackDamage, ImportStoresADamagedDatabaseBlobAnewAndAKilledImportRollsBack) {
  auto damaged_backup = [&](const stdfs::path& data) {
    ASSERT_EQ(run(data, {"backup"}).exit_code, 0);
    ASSERT_GT(damage_blobs_of_length(data.parent_path() / "store", 65536), 0);  // database.db's chunks
  };
  int at = rows_point(damaged_backup);
  ASSERT_GT(at, 0);
  stdfs::path data = make_target("killed");
  damaged_backup(data);
  RunResult r = run(data, {"verify", "--read-data"});
  ASSERT_EQ(r.exit_code, 1) << "database.db's blobs are damaged";
  auto before = logical_tree(data);

  r = import(data, {{"MDB_FAULT", "kill@" + std::to_string(at)}});
  ASSERT_EQ(r.exit_code, -SIGKILL) << r.out << r.err;
  EXPECT_NE(r.err.find("was damaged; it was stored anew from the database"), std::string::npos) << r.err;
  ASSERT_TRUE(stdfs::exists(data / ".mephisto-db" / "journal"));

  r = run(data, {"snapshots"});  // any command rolls the import back first
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("the data directory is again exactly snapshot"), std::string::npos) << r.err;
  EXPECT_EQ(changed_paths(before, logical_tree(data)), "");
  EXPECT_FALSE(stdfs::exists(data / ".mephisto-db" / "journal"));
  r = run(data, {"verify", "--read-data"});  // the blobs stored anew made the first backup whole too
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(import(data).exit_code, 0);
}

TEST_F(RollbackDamage, ARollbackMeetingADamagedRunFileRestoresTheRestAndNamesIt) {
  int at = rows_point([](const stdfs::path&) {});
  ASSERT_GT(at, 0);
  for (bool keep_current : {true, false}) {
    SCOPED_TRACE(keep_current ? "the current file is kept" : "the file is missing");
    stdfs::path data = make_target(keep_current ? "kept" : "missing");
    auto before = logical_tree(data);
    RunResult r = import(data, {{"MDB_FAULT", "kill@" + std::to_string(at)}});
    ASSERT_EQ(r.exit_code, -SIGKILL) << r.out << r.err;
    ASSERT_TRUE(stdfs::exists(data / ".mephisto-db" / "journal"));
    flip_in_packs(data.parent_path() / "store", run_file_.substr(15000, 64));  // in the import's snapshot
    if (!keep_current) stdfs::remove(data / kRunFile);

    r = run(data, {"backup"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("is damaged in the store, so it was not restored: " + kRunFile +
                         (keep_current ? " (the current file was kept)" : " (missing")),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("The journal marker is removed and the data directory is usable"), std::string::npos);
    EXPECT_FALSE(stdfs::exists(data / ".mephisto-db" / "journal"));
    auto now = logical_tree(data);
    if (!keep_current) {
      EXPECT_FALSE(stdfs::exists(data / kRunFile));
      before.erase(kRunFile);
    }
    EXPECT_EQ(changed_paths(before, now), "") << "everything else is as before the import";

    r = run(data, {"backup"});  // the next commands work
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(import(data).exit_code, 0);
  }
}

TEST_F(RollbackDamage, AFailedRollbackSaysWhatIsLeftInsteadOfNothingWasImported) {
  int at = rows_point([](const stdfs::path&) {});
  ASSERT_GT(at, 0);
  stdfs::path data = make_target("eio");
  auto before = logical_tree(data);
  // From the rows on, every write fails: the import, then its rollback.
  RunResult r = import(data, {{"MDB_FAULT", "eio@" + std::to_string(at) + "+"}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.err.find("Nothing was imported."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("could not be undone yet"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((data / ".mephisto-db" / "journal").string() + " stays"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("restores snapshot"), std::string::npos) << r.err;
  ASSERT_TRUE(stdfs::exists(data / ".mephisto-db" / "journal"));

  r = run(data, {"snapshots"});  // settles it
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(changed_paths(before, logical_tree(data)), "");
  EXPECT_FALSE(stdfs::exists(data / ".mephisto-db" / "journal"));
}

}  // namespace
}  // namespace mdb::test
