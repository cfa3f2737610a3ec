// Properties of the import on generated data dirs (mephisto-sample), with our export making the
// dumps: round trips, merging into a dir that shares names but not ids, re-imports, overlapping
// partial dumps.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>

#include "datadir/registry.h"
#include "platform/sqlite.h"
#include "tests/import/import_util.h"

namespace mdb::test {
namespace {

// Fails the property listing the dangling references of a data dir, if any.
void assert_references_resolve(const stdfs::path& data) {
  std::string list;
  for (const std::string& d : dangling_references(data)) list += d + "\n";
  if (!list.empty()) RC_FAIL("dangling references:\n" + list);
}

std::vector<std::string> column(const stdfs::path& db, const std::string& sql) {
  sql::Db d = sql::Db::open_readonly(db);
  sql::Stmt s = d.prepare(sql);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.column(0).to_string());
  return out;
}

// Export A, import into an empty B, export B: the same rows (but B's imported_data) and files.
TEST(ImportProperty, ExportImportExportKeepsEveryRowAndFile) {
  check_property(4, [] {
    int seed = *rc::gen::inRange(1, 100000);
    TempDir tmp;
    make_sample(tmp / "a", seed);
    stdfs::path dump_a = export_dump(tmp / "a", tmp / "out_a");
    stdfs::create_directories(tmp / "b");
    RunResult r = import(tmp / "b", dump_a);
    RC_ASSERT(r.exit_code == 0);
    stdfs::path dump_b = export_dump(tmp / "b", tmp / "out_b");
    std::string diff = diff_rows(without_bookkeeping(dump_rows(dump_a)), without_bookkeeping(dump_rows(dump_b)));
    if (!diff.empty()) RC_FAIL(diff);
    RC_ASSERT(run_files(tmp / "a") == run_files(tmp / "b"));
    assert_references_resolve(tmp / "b");
  });
}

// B gets some of A's worker names (with B's own ids); tasks, requesters, qualifications and
// projects share names by construction of the generator.
void share_worker_names(const stdfs::path& a, const stdfs::path& b, int count) {
  std::vector<std::string> names = column(a / "database.db", "SELECT worker_name FROM workers ORDER BY worker_id");
  std::vector<std::string> mine = column(b / "database.db", "SELECT worker_name FROM workers ORDER BY worker_id");
  sql::Db db = sql::Db::open(b / "database.db");
  std::optional<sql::Db> prolific;
  if (stdfs::exists(b / "prolific/prolific.db")) prolific.emplace(sql::Db::open(b / "prolific/prolific.db"));
  for (int i = 0; i < count && i < static_cast<int>(names.size()) && i < static_cast<int>(mine.size()); ++i) {
    sql::Stmt s = db.prepare("UPDATE workers SET worker_name = ?1 WHERE worker_name = ?2");
    s.bind(1, names[i]).bind(2, mine[i]);
    s.run();
    if (prolific) {  // prolific workers are named by the Mephisto worker name
      sql::Stmt p = prolific->prepare("UPDATE workers SET worker_id = ?1 WHERE worker_id = ?2");
      p.bind(1, names[i]).bind(2, mine[i]);
      p.run();
    }
  }
}

// Natural keys of a table as strings ("a|b"), from `db`.
std::vector<std::string> natural_keys(const stdfs::path& db, const mdb::TableSpec& spec) {
  std::string cols;
  for (std::string_view c : spec.natural_key) cols += (cols.empty() ? "" : " || '|' || ") + std::string(c);
  return column(db, "SELECT " + cols + " FROM " + std::string(spec.name));
}

TEST(ImportProperty, MergingIntoADirWithTheSameNamesButOtherIds) {
  check_property(4, [] {
    int seed = *rc::gen::inRange(1, 100000);
    TempDir tmp;
    make_sample(tmp / "a", seed);
    make_sample(tmp / "b", seed + 1);
    share_worker_names(tmp / "a", tmp / "b", *rc::gen::inRange(1, 6));
    stdfs::path dump = export_dump(tmp / "a", tmp / "out");
    std::map<std::string, int64_t> before;
    for (const mdb::TableSpec& spec : mdb::table_specs())
      if (spec.db == mdb::DbId::Mephisto && spec.import_rank >= 0)
        before[std::string(spec.name)] =
            std::stoll(column(tmp / "b/database.db", "SELECT count(*) FROM " + std::string(spec.name))[0]);
    RunResult r = import(tmp / "b", dump);
    RC_ASSERT(r.exit_code == 0);
    assert_references_resolve(tmp / "b");
    Rows dump_table_rows = dump_rows(dump);
    for (const mdb::TableSpec& spec : mdb::table_specs()) {
      if (spec.db != mdb::DbId::Mephisto || spec.import_rank < 0) continue;
      std::string name(spec.name);
      int64_t in_dump = static_cast<int64_t>(dump_table_rows["mephisto." + name].size());
      int64_t after = std::stoll(column(tmp / "b/database.db", "SELECT count(*) FROM " + name)[0]);
      if (!spec.natural_key.empty()) {
        // Every natural key once: merged into the local row or inserted.
        std::vector<std::string> keys = natural_keys(tmp / "b/database.db", spec);
        RC_ASSERT(std::set<std::string>(keys.begin(), keys.end()).size() == keys.size());
        RC_ASSERT(after <= before[name] + in_dump);
      } else {
        // Rows with random ids of another dir: all inserted, none lost, none twice.
        RC_ASSERT(after == before[name] + in_dump);
      }
    }
    // Importing it again finds everything present.
    RunResult again = import(tmp / "b", dump);
    RC_ASSERT(again.exit_code == 0);
    RC_ASSERT(again.out.find("Nothing new to import") != std::string::npos);
  });
}

// A second import of the same dump changes nothing, byte for byte.
TEST(ImportProperty, ImportingTheSameDumpTwiceChangesNothing) {
  check_property(3, [] {
    int seed = *rc::gen::inRange(1, 100000);
    TempDir tmp;
    make_sample(tmp / "a", seed);
    make_sample(tmp / "b", seed + 7);
    stdfs::path dump = export_dump(tmp / "a", tmp / "out");
    RC_ASSERT(import(tmp / "b", dump).exit_code == 0);
    std::map<std::string, std::string> once = tree(tmp / "b");
    RunResult r = import(tmp / "b", dump);
    RC_ASSERT(r.exit_code == 0);
    RC_ASSERT(r.out.find("Nothing new to import") != std::string::npos);
    RC_ASSERT(tree(tmp / "b") == once);
  });
}

// The rows of two dumps: each row once.
Rows row_union(const Rows& a, const Rows& b) {
  Rows out = a;
  for (const auto& [table, rows] : b) {
    std::vector<std::string>& list = out[table];
    list.insert(list.end(), rows.begin(), rows.end());
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  }
  return out;
}

// Two partial dumps sharing a task run, imported one after the other: every row of either dump
// once, no row or file twice, the files of the three runs.
TEST(ImportProperty, OverlappingPartialDumpsMerge) {
  check_property(3, [] {
    int seed = *rc::gen::inRange(1, 100000);
    TempDir tmp;
    make_sample(tmp / "a", seed, {"--task-runs", "4", "--units-per-run", "2"});
    std::vector<std::string> runs = column(tmp / "a/database.db", "SELECT task_run_id FROM task_runs ORDER BY 1");
    RC_PRE(runs.size() >= 3u);
    stdfs::path first = export_dump(tmp / "a", tmp / "o1", {"-tri", runs[0], "-tri", runs[1]});
    stdfs::path second = export_dump(tmp / "a", tmp / "o2", {"-tri", runs[1], "-tri", runs[2]});
    stdfs::path both = export_dump(tmp / "a", tmp / "o3", {"-tri", runs[0], "-tri", runs[1], "-tri", runs[2]});
    stdfs::create_directories(tmp / "b");
    stdfs::create_directories(tmp / "c");
    RC_ASSERT(import(tmp / "b", first).exit_code == 0);
    RC_ASSERT(import(tmp / "b", second).exit_code == 0);
    RC_ASSERT(import(tmp / "c", both).exit_code == 0);
    std::string diff = diff_rows(without_bookkeeping(row_union(dump_rows(first), dump_rows(second))),
                                 without_bookkeeping(datadir_rows(tmp / "b")));
    if (!diff.empty()) RC_FAIL(diff);
    RC_ASSERT(run_files(tmp / "b") == run_files(tmp / "c"));
    assert_references_resolve(tmp / "b");
  });
}

}  // namespace
}  // namespace mdb::test
