// Properties on generated data dirs (mephisto-sample, several seeds): the JSON and Cap'n Proto
// halves hold the same rows; every partial dump satisfies closure; -r keeps every relation; the
// same data exported twice gives the same members except the timestamp; a partial -del leaves no
// reference dangling and deletes only rows the dump holds.
#include <gtest/gtest.h>

#include <set>

#include "platform/sqlite.h"
#include "tests/export/export_support.h"

namespace mdb::test {
namespace {

constexpr int kSeeds = 3;

std::vector<std::string> column(const stdfs::path& data, const std::string& sql) {
  sql::Db db = sql::Db::open_readonly(data / "database.db");
  sql::Stmt s = db.prepare(sql);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.column(0).to_string());
  return out;
}

Dump export_one(const stdfs::path& data, const stdfs::path& out, const std::vector<std::string>& args) {
  RunResult r = export_dump(data, out, args);
  if (r.exit_code != 0) throw std::runtime_error("export failed: " + r.err);
  return read_dump(dump_zips(out).back());
}

TEST(Generated, BothHalvesHoldTheSameRowsAndPartialDumpsAreClosed) {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TempDir tmp;
    stdfs::path data = sample(tmp.path(), seed, {"--task-runs", "5", "--units-per-run", "4"});
    std::vector<std::vector<std::string>> cases = {{}, {"-qo"}, {"-trs", "2000-01-01"}};
    std::vector<std::string> runs = column(data, "SELECT task_run_id FROM task_runs ORDER BY task_run_id");
    for (size_t i = 0; i < runs.size(); i += 2) cases.push_back({"-tri", runs[i]});
    cases.push_back({"-tri", runs.front(), "-tri", runs.back()});
    for (const std::string& task : column(data, "SELECT DISTINCT task_name FROM tasks JOIN task_runs USING (task_id)"))
      cases.push_back({"-tn", task});
    int n = 0;
    for (const auto& args : cases) {
      std::string label = "export";
      for (const std::string& a : args) label += " " + a;
      SCOPED_TRACE(label);
      Dump d = export_one(data, tmp / ("o" + std::to_string(n++)), args);
      EXPECT_EQ(halves_differences(d), std::vector<std::string>{});
      EXPECT_EQ(closure_violations(d, data), std::vector<std::string>{});
    }
  }
}

TEST(Generated, ExportingTwiceGivesTheSameMembersExceptTheTimestamp) {
  TempDir tmp;
  stdfs::path data = sample(tmp.path(), 7);
  Dump a = export_one(data, tmp / "a", {}), b = export_one(data, tmp / "b", {});
  EXPECT_EQ(without_timestamp(a.json_text), without_timestamp(b.json_text));
  EXPECT_EQ(a.files, b.files);
  EXPECT_EQ(a.directories, b.directories);
  // The Cap'n Proto members differ only in the header (timestamp, JSON hash): same rows, same files.
  EXPECT_EQ(halves_differences(a), halves_differences(b));
  size_t header_a = a.capnp.find("runs/"), header_b = b.capnp.find("runs/");
  ASSERT_NE(header_a, std::string::npos);
  EXPECT_EQ(a.capnp.substr(header_a), b.capnp.substr(header_b));
}

// The original creates `unit_review` at every start, so its full dumps carry `"unit_review": []`
// (after worker_review) also for a DB file without the table (data-dir.md): a data dir that lacks
// it exports byte for byte as one that has it, -del included.
TEST(Generated, AFullDumpListsUnitReviewAlsoWhenTheFileLacksIt) {
  TempDir tmp;
  stdfs::path data = sample(tmp.path(), 5);
  Dump with = export_one(data, tmp / "with", {});
  {
    sql::Db db = sql::Db::open(data / "database.db");
    db.exec("DROP TABLE unit_review");
  }
  Dump without = export_one(data, tmp / "without", {});
  EXPECT_EQ(without_timestamp(without.json_text), without_timestamp(with.json_text));
  std::vector<std::string> tables;
  for (const auto& [t, rows] : without.json["mephisto"].items()) tables.push_back(t);
  ASSERT_GE(tables.size(), 2u);
  EXPECT_EQ(std::vector<std::string>(tables.end() - 2, tables.end()),
            (std::vector<std::string>{"worker_review", "unit_review"}));
  EXPECT_EQ(without.json["mephisto"]["unit_review"], Json::array());
  EXPECT_EQ(halves_differences(without), std::vector<std::string>{});
  // Partial and -qo dumps never list it, as the original's.
  Dump partial = export_one(data, tmp / "partial", {"-trs", "2000-01-01"});
  EXPECT_FALSE(partial.json["mephisto"].contains("unit_review"));
  // -del of everything: the table is listed, and nothing tries to delete from it.
  RunResult del = export_dump(data, tmp / "del", {"-y", "-del"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  Dump deleted = read_dump(dump_zips(tmp / "del").at(0));
  EXPECT_EQ(deleted.json["mephisto"], without.json["mephisto"]);
  EXPECT_EQ(column(data, "SELECT count(*) FROM task_runs"), std::vector<std::string>{"0"});
  EXPECT_EQ(column(data, "SELECT count(*) FROM sqlite_master WHERE name = 'unit_review'"),
            std::vector<std::string>{"0"});
}

TEST(Generated, RandomizedLegacyIdsKeepEveryRelation) {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TempDir tmp;
    stdfs::path data = sample(tmp.path(), seed, {"--legacy"});
    // The first export migrates the legacy dir, so it alone lists no unit_review (data-dir.md).
    Dump migrating = export_one(data, tmp / "migrating", {});
    EXPECT_FALSE(migrating.json["mephisto"].contains("unit_review"));
    std::vector<std::vector<std::string>> cases = {{}};
    for (const std::string& run : column(data, "SELECT task_run_id FROM task_runs LIMIT 2"))
      cases.push_back({"-tri", run});
    int n = 0;
    for (const auto& args : cases) {
      std::vector<std::string> r_args = args;
      r_args.push_back("-r");
      Dump plain = export_one(data, tmp / ("p" + std::to_string(n)), args);
      Dump random = export_one(data, tmp / ("r" + std::to_string(n++)), r_args);
      Unmapper unmap(random.json["dump_metadata"]["pk_substitutions"]);
      EXPECT_FALSE(unmap.back.empty());
      for (const auto& [fresh, old] : unmap.back) {
        EXPECT_GE(std::stoll(fresh), 1'000'000);
        EXPECT_LT(std::stoll(old), 1'000'000);
      }
      for (const auto& [db, tables] : plain.json.items()) {
        if (db == "dump_metadata") continue;
        EXPECT_EQ(unmap.rows(random.json[db]), tables) << db;
      }
      EXPECT_EQ(unmap.files(random.files), plain.files);
      EXPECT_EQ(closure_violations(random, data), std::vector<std::string>{});
      EXPECT_EQ(halves_differences(random), std::vector<std::string>{});
    }
  }
}

TEST(Generated, PartialDeleteLeavesNothingDanglingAndDeletesOnlyDumpedRows) {
  for (int seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TempDir tmp;
    stdfs::path data = sample(tmp.path(), seed);
    std::string run = column(data, "SELECT task_run_id FROM task_runs ORDER BY task_run_id LIMIT 1").at(0);
    std::string task =
        column(data, "SELECT task_name FROM tasks JOIN task_runs USING (task_id) ORDER BY task_id DESC LIMIT 1").at(0);
    int n = 0;
    for (const std::vector<std::string>& args : {std::vector<std::string>{"-tri", run}, {"-tn", task}}) {
      std::map<std::string, std::string> before = state_of(data);
      std::vector<std::string> all = {"-y", "-del"};
      all.insert(all.end(), args.begin(), args.end());
      stdfs::path out = tmp / ("d" + std::to_string(n++));
      RunResult r = export_dump(data, out, all);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(foreign_key_violations(data), std::vector<std::string>{});
      EXPECT_EQ(dangling_references(data), std::vector<std::string>{});
      // Every file that went away is in the dump.
      Dump d = read_dump(dump_zips(out).at(0));
      std::map<std::string, std::string> after = state_of(data);
      for (const auto& [path, content] : before) {
        if (after.count(path) || path.back() == '/' || path.find(".db") != std::string::npos) continue;
        std::string rel = path.substr(std::string("data/").size());
        EXPECT_TRUE(d.files.count(rel)) << path;
      }
    }
  }
}

}  // namespace
}  // namespace mdb::test
