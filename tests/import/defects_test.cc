// One regression test per import-related defect of the original (tests/fixtures/README.md), and the
// original's import error paths (s6 logs) with our exit codes and messages.
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "formats/zip.h"
#include "platform/sqlite.h"
#include "tests/import/import_util.h"

namespace mdb::test {
namespace {

const stdfs::path kS1Dumps = fixtures() / "s1_realistic_export/dumps";
const stdfs::path kS1Full = kS1Dumps / "2026_11_25_15_36_49_mephisto_dump.zip";
const stdfs::path kS1nFull = fixtures() / "s1n_source_without_mturk_hits/dumps/2026_11_25_15_42_09_mephisto_dump.zip";
const stdfs::path kS6 = fixtures() / "s6_backup_restore_and_import_errors";
const stdfs::path kSeeded = fixtures() / "s2_import/backups/2026_11_25_15_42_21_mephisto_backup.zip";

void exec(const stdfs::path& db, const std::string& sql) {
  sql::Db d = sql::Db::open(db);
  d.exec(sql);
}

// A data dir holding the s1n dump (random ids, the same names as the s1 dumps).
struct S1nDir {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  S1nDir() {
    stdfs::create_directories(data);
    RunResult r = import(data, kS1nFull);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
};

// Defect 3: legacy qualification ids clash between data dirs; the dump's get fresh ids and every
// reference follows (grants, reviews, prolific qualification_ids, imported_data).
TEST(Defect3, SmallQualificationIdsThatClashGetFreshIds) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  unpack_backup(kSeeded, data);
  exec(data / "database.db", "INSERT INTO qualifications (qualification_id, qualification_name) VALUES "
                             "(1, 'local_one'), (2, 'local_two'), (3, 'local_three')");
  RunResult r = import(data, kS1nFull, {"-v", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("mephisto.qualifications: 3 inserted, 0 merged, 3 remapped"), std::string::npos) << r.out;
  EXPECT_EQ(query(data / "database.db", "SELECT qualification_name FROM qualifications WHERE qualification_id < 4 "
                                        "ORDER BY 1"),
            "local_one\nlocal_three\nlocal_two\n");
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM qualifications WHERE qualification_id >= 1000000"), "3\n");
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM granted_qualifications WHERE qualification_id < 4"), "0\n");
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM worker_review WHERE updated_qualification_id < 4 OR "
                                        "revoked_qualification_id < 4"),
            "0\n");
  EXPECT_EQ(query(data / "prolific/prolific.db", "SELECT count(*) FROM qualifications WHERE qualification_ids = '[2]'"),
            "0\n");
  // imported_data names the grants by their ids here.
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM imported_data WHERE table_name = "
                                        "'granted_qualifications' AND unique_field_values LIKE '%\", \"_\"]'"),
            "0\n");
  EXPECT_EQ(dangling_references(data), std::vector<std::string>{});
}

// Defect 7: apostrophes, quotes and SQL-looking text in names and labels are just text.
TEST(Defect7, QuotesInNamesAndLabels) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  unpack_backup(kSeeded, data);
  exec(data / "database.db", "UPDATE requesters SET requester_name = 'it''s \"q\"; DROP TABLE units; --' "
                             "WHERE provider_type = 'mock'");
  RunResult r = import(data, kS1nFull, {"-l", "it's", "-l", "\xc3\xbcn\xc3\xaf", "-l", "a\"b"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(query(data / "database.db", "SELECT DISTINCT data_labels FROM imported_data"),
            "[\"a\\\"b\", \"it's\", \"\\u00fcn\\u00ef\"]\n");
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM requesters WHERE requester_name LIKE 'it''s%'"), "1\n");
  EXPECT_EQ(dangling_references(data), std::vector<std::string>{});
}

// Defect 10: a merge redirects the provider rows too, and merged rows keep our date form.
TEST(Defect10, ConflictsRedirectProviderRowsAndMergedDatesKeepOurForm) {
  S1nDir dir;
  // s1 has the same projects, tasks, requesters, workers and qualifications by name, with other
  // ids, and earlier creation dates.
  RunResult r = import(dir.data, kS1Full);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Finished successfully. Imported 5 TaskRuns"), std::string::npos) << r.out;
  EXPECT_EQ(dangling_references(dir.data), std::vector<std::string>{});
  stdfs::path db = dir.data / "database.db";
  EXPECT_EQ(query(db, "SELECT count(*) FROM requesters"), "3\n");
  EXPECT_EQ(query(db, "SELECT count(*) FROM task_runs"), "10\n");
  // No orphan provider requester: every one is a local requester.
  EXPECT_EQ(query(dir.data / "mock/mock.db", "SELECT count(*) FROM requesters"), "1\n");
  // Earliest creation_date wins, written in our form.
  EXPECT_EQ(query(db, "SELECT count(*) FROM projects WHERE creation_date LIKE '2026-11-25 15:36:%' AND "
                      "creation_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]'"),
            "2\n");
}

// Defect 11: the example resolver works on prolific conflicts (an empty entry is the default).
TEST(Defect11, ExampleResolverOnProlificConflicts) {
  S1nDir dir;
  RunResult r = import(dir.data, kS1Full, {"-cr", "ExampleMergeConflictResolver"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(query(dir.data / "database.db", "SELECT task_name FROM tasks ORDER BY 1"),
            "image_labeling + image_labeling\nsentiment_review + sentiment_review\n"
            "\xd0\xbe\xd0\xbf\xd1\x80\xd0\xbe\xd1\x81_\xc3\xbc" "n\xc3\xaf" "code + "
            "\xd0\xbe\xd0\xbf\xd1\x80\xd0\xbe\xd1\x81_\xc3\xbc" "n\xc3\xaf" "code\n");
  EXPECT_EQ(query(dir.data / "prolific/prolific.db", "SELECT DISTINCT creation_date FROM workers"),
            "2000-01-01 00:00:00.000\n");
}

// Defect 12: -k merges the dump's imported_data without its local "_" label.
TEST(Defect12, KeepImportMetadataDoesNotLeakTheLocalLabel) {
  S1nDir dir;
  ASSERT_EQ(import(dir.data, kS1Full).exit_code, 0);  // conflicts: rows labelled "_"
  ASSERT_NE(query(dir.data / "database.db", "SELECT count(*) FROM imported_data WHERE data_labels LIKE '%\"\\_\"%' "
                                            "ESCAPE '\\'"),
            "0\n");
  RunResult e = run_mephisto({"--data-dir", dir.data.string(), "--outputs-dir", (dir.tmp / "out").string(), "db",
                              "export"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  stdfs::path zip = stdfs::directory_iterator(dir.tmp / "out" / "export")->path();
  TempDir other;
  stdfs::path fresh = other / "data";
  stdfs::create_directories(fresh);
  RunResult r = import(fresh, zip, {"-k"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(query(fresh / "database.db", "SELECT count(*) FROM imported_data WHERE data_labels LIKE '%\"\\_\"%' "
                                         "ESCAPE '\\'"),
            "0\n");
  // The dump's labels are there: its own file's label on the rows it brought in.
  EXPECT_NE(query(fresh / "database.db", "SELECT count(*) FROM imported_data WHERE data_labels LIKE "
                                         "'%2026\\_11\\_25\\_15\\_36\\_49\\_mephisto\\_dump%' ESCAPE '\\'"),
            "0\n");
}

// Defects 13 and 15: failures exit 1 (usage errors 2), and validation creates nothing: a dir
// without provider datastores gets none from a dump that is refused.
TEST(Defect13And15, ErrorsExitNonZeroAndValidationCreatesNothing) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  unpack_backup(kSeeded, data);
  stdfs::remove_all(data / "prolific");
  stdfs::remove_all(data / "mturk");
  std::map<std::string, std::string> before = tree(data);
  RunResult r = import(data, kS6 / "tampered_dumps/tamper_bad_structure.zip");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Your local `mephisto` database does not have table 'no_such_table'."), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("table `no_such_table`, row 0: expecting it to be a JSON object, not `1`."), std::string::npos);
  EXPECT_EQ(tree(data), before);
  r = import(data, kS1nFull, {"-cr", "NoSuchResolver"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("Conflict resolver 'NoSuchResolver' not found"), std::string::npos) << r.err;
  EXPECT_EQ(tree(data), before);
}

TEST(ImportErrors, TheOriginalsErrorPathsWithOurExitCodes) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  unpack_backup(kSeeded, data);
  std::map<std::string, std::string> before = tree(data);
  struct Case {
    stdfs::path zip;
    std::vector<std::string> args;
    int exit;
    std::string message;
  };
  std::vector<Case> cases = {
      {kS6 / "tampered_dumps/tamper_no_metadata.zip", {}, 1,
       "Dump file has to contain metadata under `dump_metadata` key."},
      {kS6 / "tampered_dumps/tamper_invalid_json.zip", {}, 1, "Expecting property name enclosed in double quotes"},
      {kS1Dumps / "2026_11_25_15_39_00_mephisto_dump.zip", {}, 1,
       "You cannot use regular import with a qualification-only dump file."},
      {kS1nFull, {"-qo"}, 1, "You cannot use `--qualification-only` option to import a regular dump file."},
      {kS1Dumps / "2026_11_25_15_39_00_mephisto_dump.zip", {"-qo", "-l", "x"}, 2, "--labels"},
      {tmp / "nope.zip", {}, 1, "Could not find dump file"},
  };
  for (const Case& c : cases) {
    RunResult r = import(data, c.zip, c.args);
    EXPECT_EQ(r.exit_code, c.exit) << c.zip << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.zip << ": " << r.err;
    EXPECT_NE(r.err.find(c.exit == 2 ? "" : "Nothing was imported."), std::string::npos) << r.err;
    EXPECT_EQ(tree(data), before);
  }
  // Answering anything but "yes": nothing changes, exit 1.
  RunResult no = run_mephisto({"--data-dir", data.string(), "db", "import", "-f", kS1nFull.string()}, "no\n");
  EXPECT_EQ(no.exit_code, 1);
  EXPECT_NE(no.out.find("Exiting now ..."), std::string::npos);
  EXPECT_EQ(tree(data), before);
}

TEST(ImportErrors, RenamedZipUsesItsOnlyJsonMember) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  unpack_backup(kSeeded, data);
  RunResult r = import(data, kS6 / "tampered_dumps/renamed_dump.zip");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Imported 5 TaskRuns"), std::string::npos) << r.out;
}

// -f: a bare name that is not in the current dir is looked up in <outputs>/export/.
TEST(ImportErrors, RelativeFileIsFoundInOutputsExport) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  stdfs::create_directories(data);
  stdfs::create_directories(tmp / "outputs" / "export");
  stdfs::copy_file(kS1nFull, tmp / "outputs" / "export" / kS1nFull.filename());
  RunResult r = import(data, kS1nFull.filename());
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// import.md "Run files": for a task run already here, local files win and the dump's other files
// are added.
TEST(RunFiles, AnExistingRunKeepsItsFilesAndGainsTheMissingOnes) {
  S1nDir dir;
  stdfs::path run = dir.data / "data/runs/project_alpha/1151115676005583791";
  stdfs::path edited, removed;
  for (const auto& e : stdfs::recursive_directory_iterator(run))
    if (e.path().filename() == "agent_data.json") (edited.empty() ? edited : removed) = e.path();
  ASSERT_FALSE(removed.empty());
  write(edited, "{\"edited\": \"locally\"}");
  std::string lost = read(removed);
  stdfs::remove(removed);
  RunResult r = import(dir.data, kS1nFull);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read(edited), "{\"edited\": \"locally\"}");
  EXPECT_EQ(read(removed), lost);
}

// A failure while writing is rolled back and says so, naming the row.
TEST(ImportErrors, AWriteFailureNamesTheRowAndSaysNothingWasImported) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  unpack_backup(kSeeded, data);
  // A local task whose name is the one the dump's task gets by the example resolver's concatenation
  // makes that update violate tasks.task_name's UNIQUE constraint.
  exec(data / "database.db", "INSERT INTO tasks (task_id, task_name, task_type) VALUES (5, 'image_labeling', 'x'), "
                             "(6, 'image_labeling + image_labeling', 'x')");
  std::map<std::string, std::string> before = logical_tree(data);
  RunResult r = import(data, kS1nFull, {"-cr", "ExampleMergeConflictResolver"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("Database `mephisto`, table `tasks`, row task_id 4734103056002487821: cannot update the local "
                       "row"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("UNIQUE constraint failed: tasks.task_name. Nothing was imported."), std::string::npos) << r.err;
  EXPECT_EQ(logical_tree(data), before);
}


// Defect 2's table: mturk.run_mappings has no key, so a row is present when an identical one is.
// "Identical" is as the local table compares (its collation), and a row the dump holds twice is
// imported once, also when the lookups go to a copy of the table rather than to it.
TEST(TableWithoutAKey, ARowIsPresentUnderTheLocalCollationAndARepeatedOneIsImportedOnce) {
  TempDir tmp;
  make_sample(tmp / "a", 11, {"--task-runs", "5", "--units-per-run", "3"});
  stdfs::path dump = export_dump(tmp / "a", tmp / "out");
  // The dump without its Cap'n Proto half, its first run mapping twice.
  zip::Reader reader(dump);
  std::vector<RawZipMember> members;
  for (const zip::Entry& e : reader.entries()) {
    if (e.is_directory || e.name.size() < 6 || e.name.compare(e.name.size() - 6, 6, ".capnp") == 0) continue;
    std::string data = reader.read(e, 1 << 30);
    if (e.name.find('/') == std::string::npos) {
      nlohmann::ordered_json j = nlohmann::ordered_json::parse(data);
      nlohmann::ordered_json& mappings = j["mturk"]["run_mappings"];
      ASSERT_EQ(mappings.size(), 3u);
      mappings.push_back(mappings[0]);
      data = j.dump();
    }
    members.emplace_back(e.name, data);
  }
  stdfs::path edited = tmp / "edited" / dump.filename();
  write(edited, raw_zip(members));
  // Locally: the table compares hit ids without case and holds the other two in lower case.
  stdfs::path data = tmp / "a";
  std::string first = query(data / "mturk/mturk.db", "SELECT hit_id FROM run_mappings ORDER BY rowid LIMIT 1");
  exec(data / "mturk/mturk.db",
       "CREATE TABLE nocase (hit_id TEXT COLLATE NOCASE, run_id TEXT);"
       "INSERT INTO nocase SELECT lower(hit_id), run_id FROM run_mappings WHERE rowid > (SELECT min(rowid) FROM run_mappings);"
       "DROP TABLE run_mappings; ALTER TABLE nocase RENAME TO run_mappings;");
  ASSERT_EQ(query(data / "mturk/mturk.db", "SELECT count(*) FROM run_mappings WHERE hit_id COLLATE BINARY != upper(hit_id)"), "2\n");

  RunResult r = import(data, edited);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(query(data / "mturk/mturk.db", "SELECT count(*) FROM run_mappings"), "3\n");
  EXPECT_EQ(query(data / "mturk/mturk.db", "SELECT hit_id FROM run_mappings ORDER BY rowid DESC LIMIT 1"), first);
}

// A dump of 30 runs of 110 units, made once for the TempFiles tests: importing it, the dump's
// staging database outgrows its cache and SQLite makes temporary files.
class TempFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<TempDir>();
    make_sample(*tmp_ / "src", 3, {"--task-runs", "30", "--units-per-run", "110"});
    dump_ = export_dump(*tmp_ / "src", *tmp_ / "out");
  }
  static void TearDownTestSuite() { tmp_.reset(); }
  struct Watched {
    RunResult result;
    bool created = false;  // a file was created in the watched dir
    int runs_before = 0;   // the data dir's task runs before the import
  };
  // Imports the dump into a new sample data dir `dir`/data with `env`, watching `watched`.
  static Watched import_watching(const stdfs::path& dir, const stdfs::path& watched,
                                 const std::map<std::string, std::string>& env) {
    make_sample(dir / "data", 4);
    int runs_before = std::stoi(query(dir / "data/database.db", "SELECT count(*) FROM task_runs"));
    stdfs::create_directories(watched);
    int watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    EXPECT_GE(watch, 0);
    EXPECT_GE(inotify_add_watch(watch, watched.c_str(), IN_CREATE), 0);
    RunResult r = import(dir / "data", dump_, {}, env);
    char events[4096];
    ssize_t n = ::read(watch, events, sizeof events);
    ::close(watch);
    return {r, n > 0, runs_before};
  }
  static inline std::unique_ptr<TempDir> tmp_;
  static inline stdfs::path dump_;
};

// SQLite's own temporary files go into the cache's tmp/, never into $TMPDIR: nothing outside the
// data dir, the store, the outputs dir and the cache is written. Watched with inotify, as SQLite
// unlinks them at once.
TEST_F(TempFiles, SqliteTemporaryFilesGoIntoTheCacheNotIntoTmpdir) {
  TempDir tmp;
  Watched w = import_watching(tmp.path(), tmp / "system-tmp",
                               {{"TMPDIR", (tmp / "system-tmp").string()}, {"XDG_CACHE_HOME", (tmp / "cache").string()}});
  ASSERT_EQ(w.result.exit_code, 0) << w.result.out << w.result.err;
  EXPECT_FALSE(w.created) << "a file was created in $TMPDIR";
  EXPECT_TRUE(stdfs::is_directory(tmp / "cache/mephisto-db/tmp"));
}

// With no cache at all (neither XDG_CACHE_HOME nor HOME), SQLite's temporary files go where
// SQLite puts them ($TMPDIR), as PATHS.md says, and the import works all the same.
TEST_F(TempFiles, WithNoCacheSqliteTemporaryFilesGoToTmpdirAndTheImportWorks) {
  TempDir tmp;
  Watched w = import_watching(tmp.path(), tmp / "system-tmp",
                               {{"TMPDIR", (tmp / "system-tmp").string()}, {"XDG_CACHE_HOME", ""}, {"HOME", ""}});
  ASSERT_EQ(w.result.exit_code, 0) << w.result.out << w.result.err;
  EXPECT_TRUE(w.created) << "no temporary file in $TMPDIR: did the staging database not spill at this size?";
  EXPECT_EQ(std::stoi(query(tmp / "data/database.db", "SELECT count(*) FROM task_runs")), w.runs_before + 30);
}

}  // namespace
}  // namespace mdb::test
