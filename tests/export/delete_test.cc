// export -del: what it deletes (compared with the original's before/after states), that nothing
// dangles afterwards, the parent-task rule, -l, the prompt, and crashes at any point leaving
// exactly the before or the after state.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "platform/sqlite.h"
#include "tests/export/export_support.h"
#include "tests/support/fault_trace.h"

namespace mdb::test {
namespace {

std::set<std::string> inserts(const std::string& dump) {
  std::set<std::string> out;
  std::istringstream in(dump);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("INSERT INTO", 0) == 0 && line.find("sqlite_sequence") == std::string::npos) out.insert(line);
  return out;
}

std::set<std::string> original_inserts(const std::string& state, const std::string& db) {
  return inserts(read(fixtures() / "s1_realistic_export" / "db_state" / state / (db + ".dump.sql")));
}

std::set<std::string> prefixed(const std::set<std::string>& rows, const std::string& table) {
  std::set<std::string> out;
  for (const std::string& r : rows)
    if (r.rfind("INSERT INTO " + table + " ", 0) == 0) out.insert(r);
  return out;
}

std::set<std::string> minus(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  for (const std::string& x : a)
    if (!b.count(x)) out.insert(x);
  return out;
}

class Delete : public ::testing::Test {
 protected:
  void SetUp() override { data_ = unpack(s1_backup(), tmp_.path()); }
  RunResult del(const std::vector<std::string>& args, const std::string& out = "out") {
    std::vector<std::string> all = {"-del"};
    all.insert(all.end(), args.begin(), args.end());
    return export_dump(data_, tmp_ / out, all, "yes\n");
  }
  std::set<std::string> rows(const std::string& db_file) { return inserts(sqlite_dump(data_ / db_file)); }
  TempDir tmp_;
  stdfs::path data_;
};

TEST_F(Delete, PartialByTaskNameDeletesTheRunsTasksAndTiedProviderRowsOnly) {
  RunResult r = del({"-tn", "image_labeling"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Created backup snapshot (just in case): "), std::string::npos) << r.out;
  EXPECT_EQ(foreign_key_violations(data_), std::vector<std::string>{});
  EXPECT_EQ(dangling_references(data_), std::vector<std::string>{});

  // The Mephisto DB as the original leaves it, except the onboarding agents of the deleted runs,
  // which the original keeps pointing at deleted runs (its defect 6).
  std::set<std::string> ours = rows("database.db"), theirs = original_inserts("delpart_after", "database");
  EXPECT_EQ(minus(ours, theirs), std::set<std::string>{});
  std::set<std::string> only_theirs = minus(theirs, ours);
  EXPECT_EQ(only_theirs.size(), 2u);
  EXPECT_EQ(prefixed(only_theirs, "onboarding_agents"), only_theirs);
  // mock: the units of the deleted runs go too (the original keeps them); requesters and workers stay.
  std::set<std::string> mock = rows("mock/mock.db"), mock_before = original_inserts("delpart_before", "mock_mock");
  EXPECT_EQ(prefixed(mock, "requesters"), prefixed(mock_before, "requesters"));
  EXPECT_EQ(prefixed(mock, "workers"), prefixed(mock_before, "workers"));
  EXPECT_EQ(prefixed(mock, "units").size(), 3u);  // the units of the опрос run
  // Other providers are untouched.
  EXPECT_EQ(rows("prolific/prolific.db"), original_inserts("delpart_before", "prolific_prolific"));
  EXPECT_EQ(rows("mturk/mturk.db"), original_inserts("delpart_before", "mturk_mturk"));
  // Run dirs of the deleted runs are gone; everything else under data/ stays.
  EXPECT_FALSE(stdfs::exists(data_ / "data/runs/project_alpha/27277894756585191"));
  EXPECT_FALSE(stdfs::exists(data_ / "data/runs/project_alpha/2468234616205570102"));
  EXPECT_TRUE(stdfs::exists(data_ / "data/runs/project_alpha/1366341334178983519"));
  EXPECT_TRUE(stdfs::exists(data_ / "data/runs/Проект_β/6035209599903972796"));
  EXPECT_EQ(listing(data_ / ".mephisto-db"), std::vector<std::string>{"lock"});  // no leftovers of ours
  // Everything deleted is in the dump.
  Dump d = read_dump(dump_zips(tmp_ / "out").at(0));
  EXPECT_EQ(d.json["mephisto"]["task_runs"].size(), 2u);
  Dump their_dump = read_dump(fixtures() / "s1_realistic_export" / "dumps" / "2026_11_25_15_40_35_mephisto_dump.zip");
  EXPECT_EQ(d.json["dump_metadata"]["export_options"], their_dump.json["dump_metadata"]["export_options"]);
}

TEST_F(Delete, FullDeleteEmptiesEveryExportedTableAndRemovesTheRunDirsOnly) {
  std::string stray = "user notes";
  write(data_ / "data" / "notes.txt", stray);
  RunResult r = del({});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* db : {"database.db", "mock/mock.db", "prolific/prolific.db", "mturk/mturk.db"}) {
    std::set<std::string> left = rows(db);
    for (const std::string& row : left) EXPECT_EQ(row.rfind("INSERT INTO migrations ", 0), 0u) << db << ": " << row;
  }
  EXPECT_EQ(read(data_ / "data" / "notes.txt"), stray);
  EXPECT_EQ(listing(data_ / "data"),
            (std::vector<std::string>{"notes.txt", "runs", "runs/project_alpha", "runs/Проект_β"}));
}

TEST_F(Delete, ATaskNamedAsParentStaysAndTheOutputSaysSo) {
  {
    sql::Db db = sql::Db::open(data_ / "database.db");
    db.exec("UPDATE tasks SET parent_task_id = 3632310764262991685 WHERE task_name = 'sentiment_review'");
  }
  RunResult r = del({"-tn", "image_labeling"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Task image_labeling (3632310764262991685) was kept: another task names it as its parent."),
            std::string::npos)
      << r.out;
  sql::Db db = sql::Db::open_readonly(data_ / "database.db");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM tasks WHERE task_name = 'image_labeling'").i, 1);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM task_runs WHERE task_id = 3632310764262991685").i, 0);
  EXPECT_EQ(foreign_key_violations(data_), std::vector<std::string>{});
  EXPECT_EQ(dangling_references(data_), std::vector<std::string>{});
}

TEST_F(Delete, LabelsDeleteTheLabelledRunsOnly) {
  {
    sql::Db db = sql::Db::open(data_ / "database.db");
    db.exec(
        "INSERT INTO imported_data (source_file_name, data_labels, table_name, unique_field_names, "
        "unique_field_values) VALUES ('x.zip', '[\"batch_\\u00fc\"]', 'task_runs', '[\"task_run_id\"]', "
        "'[\"6035209599903972796\"]')");
  }
  std::set<std::string> before = rows("database.db");
  RunResult r = del({"-l", "batch_ü"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::set<std::string> gone = minus(before, rows("database.db"));
  // The run, its 3 assignments, units and agents, and the reviews of its units: nothing else
  // (the original's -del -l wipes the whole DB, its defect 16).
  std::map<std::string, int> per_table;
  for (const std::string& row : gone) ++per_table[row.substr(12, row.find(' ', 12) - 12)];
  EXPECT_EQ(per_table, (std::map<std::string, int>{
                           {"agents", 3}, {"assignments", 3}, {"task_runs", 1}, {"units", 3}, {"worker_review", 2}}));
  EXPECT_EQ(rows("database.db").count(*prefixed(before, "tasks").begin()), 1u);
  EXPECT_EQ(dangling_references(data_), std::vector<std::string>{});
}

TEST_F(Delete, AnsweringAnythingButYesChangesNothing) {
  std::map<std::string, std::string> before = state_of(data_);
  int n = 0;
  for (std::string answer : {"no\n", "", "\n", "y\n", "YES\n", "yes \n", " yes\n", "yes\r\n"}) {
    SCOPED_TRACE(answer);
    stdfs::path out = tmp_ / ("out" + std::to_string(n++));
    RunResult r = export_dump(data_, out, {"-del"}, answer);
    EXPECT_EQ(r.exit_code, 1);
    // The original's options block, prompt and answer, line for line.
    EXPECT_EQ(lines(r.out), original_log_lines("s1_realistic_export/logs/export_delete_answer_no.log"));
    EXPECT_EQ(state_of(data_), before);
    EXPECT_FALSE(stdfs::exists(out / "export"));
  }
}

// Every filter kind deletes the runs it exported and nothing else; tasks go only with -tn/-ti.
TEST(DeleteFilters, EachFilterKindDeletesExactlyTheExportedRuns) {
  struct Case {
    std::vector<std::string> args;
    std::set<std::string> runs;  // the runs exported and deleted
    bool tasks_go;
  };
  const std::vector<Case> cases = {
      {{"-ti", "6100533639716298169"}, {"1366341334178983519", "6208928103485905434"}, true},
      {{"-tri", "6035209599903972796"}, {"6035209599903972796"}, false},
      {{"-trs", "2026-11-25T16:36:16.200+01:00"}, {"1366341334178983519", "6035209599903972796"}, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[0]);
    TempDir tmp;
    stdfs::path data = unpack(s1_backup(), tmp.path());
    std::vector<std::string> args = {"-del"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    RunResult r = export_dump(data, tmp / "out", args, "yes\n");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    Dump d = read_dump(dump_zips(tmp / "out").at(0));
    std::set<std::string> exported, left, tasks_left;
    for (const Json& run : d.json["mephisto"]["task_runs"]) exported.insert(run["task_run_id"].get<std::string>());
    EXPECT_EQ(exported, c.runs);
    sql::Db db = sql::Db::open_readonly(data / "database.db");
    sql::Stmt runs = db.prepare("SELECT task_run_id FROM task_runs");
    while (runs.step()) left.insert(std::to_string(runs.column_int(0)));
    EXPECT_EQ(left.size(), 5 - c.runs.size());
    for (const std::string& id : c.runs) EXPECT_FALSE(left.count(id)) << id;
    // The exported runs' tasks: gone with -ti (their runs all went), kept otherwise.
    sql::Stmt task = db.prepare("SELECT count(*) FROM tasks WHERE task_id = ?1");
    for (const Json& t : d.json["mephisto"]["tasks"]) {
      task.bind(1, std::stoll(t["task_id"].get<std::string>()));
      ASSERT_TRUE(task.step());
      EXPECT_EQ(task.column_int(0), c.tasks_go ? 0 : 1) << t["task_name"];
      task.reset();
    }
    EXPECT_EQ(dangling_references(data), std::vector<std::string>{});
    EXPECT_EQ(foreign_key_violations(data), std::vector<std::string>{});
  }
}

// kill -9 at sampled fault points of -del (every write, fsync, rename, remove, mkdir of ours and
// SQLite's): the next command finds exactly the state before, or exactly the state after.
TEST(DeleteCrash, KillAnywhereLeavesBeforeOrAfter) {
  TempDir tmp;
  stdfs::path pristine = unpack(s1_backup(), tmp / "pristine");
  auto copy = [&](const std::string& name) {
    stdfs::path to = tmp / name / "data";
    stdfs::create_directories(to.parent_path());
    stdfs::copy(pristine, to, stdfs::copy_options::recursive);
    return to;
  };
  std::map<std::string, std::string> before = state_of(pristine);
  stdfs::path full = copy("full");
  stdfs::path count_file = tmp / "count";
  RunResult ok = export_dump(full, tmp / "full" / "out", {"-y", "-del", "-tn", "image_labeling"}, "",
                             {{"MDB_FAULT_COUNT", count_file.string()}});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  std::map<std::string, std::string> after = state_of(full);
  ASSERT_NE(after, before);
  int points = std::stoi(read(count_file));
  ASSERT_GT(points, 10);

  std::set<int> sample;
  for (int i = 1; i <= 8; ++i) sample.insert(1 + (points - 1) * i / 8);
  for (int i = 0; i < 6; ++i) sample.insert(points - i);  // the commit end is where it matters most
  int befores = 0, afters = 0;
  for (int n : sample) {
    SCOPED_TRACE("kill@" + std::to_string(n));
    stdfs::path data = copy("k" + std::to_string(n));
    RunResult killed = export_dump(data, data.parent_path() / "out", {"-y", "-del", "-tn", "image_labeling"}, "",
                                   {{"MDB_FAULT", "kill@" + std::to_string(n)}});
    EXPECT_EQ(killed.exit_code, -9) << killed.err;
    // Any command recovers first; a read-only export leaves the data dir alone otherwise.
    RunResult next = export_dump(data, data.parent_path() / "out2", {"-qo"});
    EXPECT_EQ(next.exit_code, 0) << next.err;
    std::map<std::string, std::string> state = state_of(data);
    bool is_before = state == before, is_after = state == after;
    EXPECT_TRUE(is_before || is_after);
    befores += is_before;
    afters += is_after;
  }
  EXPECT_GT(befores, 0);
  EXPECT_GT(afters, 0);
}

// A pre-migration data dir is migrated inside -del's atomic change, and the migration commits at
// once: a failure after it (an I/O error writing the dump) restores the snapshot, so the data dir
// is as before, unmigrated (the undo log alone would have kept the migrated schema).
TEST(DeleteFailure, AfterTheMigrationLeavesTheDataDirAsBefore) {
  TempDir tmp;
  stdfs::path traced = rebuild_s4("L_legacy_premigration", tmp / "traced");
  stdfs::path trace = tmp / "trace";
  RunResult ok = export_dump(traced, tmp / "traced" / "out", {"-y", "-del"}, "", {{"MDB_FAULT_TRACE", trace.string()}});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  ASSERT_NE(ok.out.find("Applied Mephisto's migrations"), std::string::npos) << ok.out;
  const std::string exports = (tmp / "traced" / "out" / "export").string();
  int n = first_fault_point(trace, [&](const FaultPoint& p) { return p.what == "write" && p.path.rfind(exports, 0) == 0; });
  ASSERT_GT(n, 0);

  stdfs::path data = rebuild_s4("L_legacy_premigration", tmp / "failed");
  std::map<std::string, std::string> before = state_of(data);
  RunResult r = export_dump(data, tmp / "failed" / "out", {"-y", "-del"}, "", {{"MDB_FAULT", "eio@" + std::to_string(n)}});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("Applied Mephisto's migrations"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("Input/output error"), std::string::npos) << r.err;
  EXPECT_EQ(changed_paths(before, state_of(data)), "");
  EXPECT_FALSE(stdfs::exists(data / ".mephisto-db" / "journal"));
}

}  // namespace
}  // namespace mdb::test
