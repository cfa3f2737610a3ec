// The import's transaction as other programs see it (import.md "One transaction"): the run files
// are extracted, hash-checked and flushed into the staging dir before the databases' write lock
// is taken, so a running Mephisto is blocked only while the rows are written and the staged files
// are renamed into place.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "platform/sqlite.h"
#include "tests/import/import_util.h"

namespace mdb::test {
namespace {

struct TraceLine {
  std::string what, path;
};

// The MDB_FAULT_TRACE lines of a run: every write, fsync, rename, ... and SQLite lock change.
std::vector<TraceLine> read_trace(const stdfs::path& file) {
  std::vector<TraceLine> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    size_t tab = line.find('\t');
    if (tab != std::string::npos) out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(ImportTransaction, RunFilesAreStagedBeforeTheDatabasesAreLockedForWriting) {
  TempDir tmp;
  make_sample(tmp / "a", 11);
  stdfs::path dump = export_dump(tmp / "a", tmp / "out");
  stdfs::path data = tmp / "b";
  make_sample(data, 12);  // a data dir in use: its databases exist and are locked by the import
  stdfs::path trace = tmp / "trace";
  RunResult r = import(data, dump, {}, {{"MDB_FAULT_TRACE", trace.string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const std::string staging = (data / ".mephisto-db/import-").string();
  const std::string runs = (data / "data/runs").string();
  std::set<std::string> locked;  // data-dir databases under a SQLite write lock
  int staged_writes = 0, moves = 0, locks = 0;
  for (const TraceLine& t : read_trace(trace)) {
    if (t.what == "lock" && starts_with(t.path, data.string())) {
      locked.insert(t.path);
      ++locks;
    } else if (t.what == "unlock") {
      locked.erase(t.path);
    } else if (starts_with(t.path, staging) && t.what != "rename" && t.what != "remove") {
      ++staged_writes;
      if (!locked.empty()) {
        ADD_FAILURE() << t.what << " " << t.path << " while " << *locked.begin() << " is locked for writing";
        break;
      }
    } else if (t.what == "rename" && starts_with(t.path, staging)) {
      ++moves;  // into place: inside the transaction, before the commit
      if (!locked.count((data / "database.db").string())) {
        ADD_FAILURE() << "moved " << t.path << " outside the transaction";
        break;
      }
    }
  }
  EXPECT_GT(staged_writes, 10);
  EXPECT_GT(moves, 0);
  EXPECT_GT(locks, 0);
  EXPECT_TRUE(stdfs::exists(runs));
}

// The extraction starts once the data dir is locked and runs while the snapshot is taken: when the
// snapshot fails (here its store cannot be opened: the path is a file), the extraction is stopped,
// its staging dir removed, and the data dir is as it was.
TEST(ImportTransaction, ASnapshotThatFailsStopsTheExtractionBesideItAndLeavesNothing) {
  TempDir tmp;
  make_sample(tmp / "a", 11);
  stdfs::path dump = export_dump(tmp / "a", tmp / "out");
  stdfs::path data = tmp / "b";
  make_sample(data, 12);
  stdfs::path store = tmp / "store";
  std::ofstream(store) << "not a store";
  std::map<std::string, std::string> before = logical_tree(data);
  RunResult r = run_mephisto({"--data-dir", data.string(), "--outputs-dir", (tmp / "outputs").string(), "--store",
                              store.string(), "db", "import", "-f", dump.string()},
                             "yes\n");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(store.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Nothing was imported"), std::string::npos) << r.err;
  EXPECT_EQ(changed_paths(before, logical_tree(data)), "");
  for (const auto& e : stdfs::directory_iterator(data / ".mephisto-db"))
    EXPECT_EQ(e.path().filename(), "lock") << "leftover " << e.path();
}

// The files are staged for the plan of the checks, made before the prompt; another import while
// the prompt waits can change that plan: here one run of the dump arrives, and its dir here gets
// a file of its own and a changed file. The transaction's plan wins: that run is no longer new,
// so its local files win and the dump adds nothing to it; every other file is imported once.
TEST(ImportTransaction, ADataDirChangedWhileThePromptWaitsGetsTheFilesOfTheNewPlan) {
  TempDir tmp;
  make_sample(tmp / "a", 11);
  stdfs::path full = export_dump(tmp / "a", tmp / "out");
  std::string run = sql::Db::open_readonly(tmp / "a/database.db")
                        .query_value("SELECT task_run_id FROM task_runs ORDER BY task_run_id LIMIT 1")
                        .to_string();
  stdfs::path one_run = export_dump(tmp / "a", tmp / "out", {"-tri", run});
  stdfs::path data = tmp / "b";
  stdfs::create_directories(data);
  std::map<std::string, std::string> expected = run_files(tmp / "a");
  std::string changed;  // a file of that run, changed here
  RunResult meanwhile;
  RunResult r = run_mephisto_paused(
      {"--data-dir", data.string(), "--outputs-dir", (tmp / "outputs").string(), "db", "import", "-f", full.string()},
      "Type 'yes'",
      [&] {
        meanwhile = import(data, one_run);
        for (const auto& [rel, content] : run_files(data)) {
          if (changed.empty()) changed = rel;
          expected[rel] = content;
        }
        expected[changed] = "changed here";
        write(data / "data" / changed, "changed here");
        std::string notes = stdfs::path(changed).parent_path().string() + "/notes.txt";
        expected[notes] = "mine";
        write(data / "data" / notes, "mine");
      },
      "yes\n");
  ASSERT_EQ(meanwhile.exit_code, 0) << meanwhile.err;
  ASSERT_FALSE(changed.empty());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff_rows(without_bookkeeping(datadir_rows(tmp / "a")), without_bookkeeping(datadir_rows(data))), "");
  EXPECT_EQ(changed_paths(expected, run_files(data)), "");
  EXPECT_EQ(dangling_references(data), std::vector<std::string>{});
}

// The bytes [24, 40) of SQLite's header: the change counter every commit moves, the size, the
// free list: what LocalDbWatch compares besides the file's identity.
std::string header_counters(const stdfs::path& db) {
  return read(db).substr(24, 16);
}

// The checks run again under the lock unless no database changed since they began. A local schema
// that loses a column of the dump while the prompt waits is caught there, whether the database is
// changed in place, replaced by another file (a restore's way), or replaced by one whose header
// counters are those of the file it replaces (only its identity tells them apart). Forcing the
// watch to say "unchanged" makes all three fail at the insert instead, and leaving out the
// identity the third (import.md, "Reading the dump").
TEST(ImportTransaction, ADatabaseChangedWhileThePromptWaitsIsCheckedAgainUnderTheLock) {
  TempDir tmp;
  make_sample(tmp / "a", 21);
  stdfs::path dump = export_dump(tmp / "a", tmp / "out");
  enum class Change { InPlace, Replaced, ReplacedSameHeader };
  for (Change change : {Change::InPlace, Change::Replaced, Change::ReplacedSameHeader}) {
    std::string name = change == Change::InPlace ? "in-place" : change == Change::Replaced ? "replaced" : "same-header";
    SCOPED_TRACE(name);
    stdfs::path data = tmp / name;
    make_sample(data, 22);
    Rows rows_before = datadir_rows(data);
    RunResult r = run_mephisto_paused(
        {"--data-dir", data.string(), "--outputs-dir", (tmp / "outputs").string(), "db", "import", "-f", dump.string()},
        "Type 'yes'",
        [&] {
          stdfs::path db = data / "database.db";
          stdfs::path target = change == Change::InPlace ? db : tmp / (name + ".db");
          if (target != db) stdfs::copy_file(db, target);
          sql::Db::open(target).exec("ALTER TABLE task_runs DROP COLUMN sandbox");
          if (change == Change::ReplacedSameHeader) {
            sql::Db::open(target).exec("VACUUM");  // no free list, as in the file it replaces
            std::string copy = read(target);
            std::string counters = header_counters(db);
            ASSERT_EQ(copy.substr(32, 8), counters.substr(8, 8)) << "both without a free list";
            copy.replace(24, 16, counters);
            write(target, copy);
            ASSERT_EQ(sql::Db::open_readonly(target).query_value("PRAGMA integrity_check").to_string(), "ok");
          }
          if (target != db) stdfs::rename(target, db);
          rows_before = datadir_rows(data);
        },
        "yes\n");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("Your local `mephisto` database does not have column 'sandbox' in table 'task_runs'."),
              std::string::npos)
        << r.err;
    EXPECT_EQ(diff_rows(rows_before, datadir_rows(data)), "");
  }
}

}  // namespace
}  // namespace mdb::test
