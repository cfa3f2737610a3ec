// `mephisto db diff` and `mephisto db stats` (docs/INSPECT.md) through the real binary: files
// and rows changed between two backups with known changes (a changed unit, a task run added
// with its units, files added, removed and changed), against `now`, a dump zip and a backup
// zip; unchanged databases never materialized; --json validated against docs/json-schema.json;
// "did you mean" for an unknown name; stats figures of known stores, on S3 too.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/support/s3server.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using nlohmann::json;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Validates each object against docs/json-schema.json with tools/check_json_schema.
void expect_schema_valid(const std::vector<std::string>& outputs) {
  TempDir tmp;
  std::vector<std::string> args = {(stdfs::path(MDB_SOURCE_DIR) / "tools" / "check_json_schema").string(),
                                   (stdfs::path(MDB_SOURCE_DIR) / "docs" / "json-schema.json").string()};
  for (size_t i = 0; i < outputs.size(); ++i) {
    write(tmp / (std::to_string(i) + ".json"), outputs[i]);
    args.push_back((tmp / (std::to_string(i) + ".json")).string());
  }
  RunResult v = run("/usr/bin/python3", args);
  EXPECT_EQ(v.exit_code, 0) << "docs/json-schema.json rejects an object:\n" << v.out << v.err;
}

std::string sql_value(const stdfs::path& db, const std::string& query) {
  RunResult r = run("/usr/bin/sqlite3", {db.string(), query});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, r.out.find('\n'));
}

constexpr const char* kNewRun = "9000001";

// A sample data dir with notes/ files, backed up; then a day of known changes, backed up again.
struct TwoBackups {
  DataAndStore d;
  std::string first, second, changed_unit_run, new_run_task, changed_run_task;
  stdfs::path db = d.data / "database.db";

  TwoBackups() {
    RunResult s = run(sample_binary(), {"--out", d.data.string(), "--seed", "7"});
    EXPECT_EQ(s.exit_code, 0) << s.err;
    write(d.data / "notes" / "keep.txt", "kept\n");
    write(d.data / "notes" / "same.bin", random_bytes(50'000, 3));  // incompressible: its blob is its bytes
    write(d.data / "notes" / "gone.txt", "to be removed\n");
    write(d.data / "notes" / "grow.txt", "short\n");
    first = backup_snapshot(d.data, d.store);
    stdfs::remove(d.data / "notes" / "gone.txt");
    write(d.data / "notes" / "grow.txt", "a good deal longer now\n");
    write(d.data / "notes" / "new.txt", "new\n");
    sqlite_exec(db,
                "INSERT INTO task_runs SELECT 9000001, task_id, requester_id, init_params, is_completed, provider_type, "
                "task_type, sandbox, creation_date FROM task_runs ORDER BY task_run_id LIMIT 1;"
                "INSERT INTO units (unit_id, assignment_id, unit_index, pay_amount, provider_type, status, task_type, "
                "task_id, task_run_id, sandbox, requester_id) SELECT 9000010 + n, assignment_id, 1000 + n, pay_amount, "
                "provider_type, 'created', task_type, task_id, 9000001, sandbox, requester_id FROM units, "
                "(SELECT 0 AS n UNION SELECT 1) ORDER BY unit_id LIMIT 2;"
                "UPDATE units SET status = 'expired' WHERE unit_id = (SELECT max(unit_id) FROM units);");
    changed_unit_run = sql_value(db, "SELECT task_run_id FROM units WHERE unit_id = (SELECT max(unit_id) FROM units)");
    new_run_task = task_of(kNewRun);
    changed_run_task = task_of(changed_unit_run);
    second = backup_snapshot(d.data, d.store);
  }
  std::string task_of(const std::string& run_id) const {
    return sql_value(db, "SELECT task_name FROM tasks JOIN task_runs USING (task_id) WHERE task_run_id = " + run_id);
  }
  RunResult db_cmd(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) const {
    return mdb(d.data, d.store, std::move(args), env);
  }
};

TEST(DiffStats, TwoBackupsGiveFilesRowsAndTaskRunsNamed) {
  TwoBackups t;
  RunResult r = t.db_cmd({"diff", t.first, t.second});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> out = lines(r.out);
  std::vector<std::string> expected_start = {
      "Comparing snapshot " + t.first + " with snapshot " + t.second + ":", "M database.db  (", "- notes/gone.txt  (14 B)",
      "M notes/grow.txt  (6 B -> 23 B)", "+ notes/new.txt  (4 B)",
      "Files: 1 added, 1 removed, 2 changed; "};
  ASSERT_GE(out.size(), expected_start.size()) << r.out;
  for (size_t i = 0; i < expected_start.size(); ++i) EXPECT_EQ(out[i].rfind(expected_start[i], 0), 0u) << r.out;
  EXPECT_NE(r.out.find("Rows of database.db:\n  task_runs: 1 added, 0 removed, 0 changed\n"
                       "  units: 2 added, 0 removed, 1 changed\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("+ task run 9000001 of " + t.new_run_task + ": 2 units added\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("M task run " + t.changed_unit_run + " of " + t.changed_run_task + ": 1 unit changed\n"),
            std::string::npos)
      << r.out;

  RunResult j = t.db_cmd({"--json", "diff", t.first, t.second});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  expect_schema_valid({j.out});
  json o = json::parse(j.out);
  EXPECT_EQ(o["a"], (json{{"kind", "snapshot"}, {"name", t.first}}));
  EXPECT_EQ(o["files_added"], 1);
  EXPECT_EQ(o["files_removed"], 1);
  EXPECT_EQ(o["files_changed"], 2);
  json grow = o["changes"][2];
  EXPECT_EQ(grow, (json{{"path", "notes/grow.txt"}, {"change", "changed"}, {"type", "file"}, {"size_before", 6},
                        {"size_after", 23}}));
  EXPECT_EQ(o["changes"][1]["size_after"], nullptr);
  EXPECT_EQ(o["bytes_removed"], 14);
  EXPECT_EQ(o["databases"].size(), 1u) << j.out;
  json runs = o["task_runs_changed"];
  ASSERT_EQ(runs.size(), 2u) << j.out;
  std::map<std::string, json> by_id;
  for (const json& run : runs) by_id[run["task_run_id"]] = run;
  EXPECT_EQ(by_id[kNewRun]["change"], "added");
  EXPECT_EQ(by_id[kNewRun]["units_added"], 2);
  EXPECT_EQ(by_id[kNewRun]["task_name"], t.new_run_task);
  EXPECT_EQ(by_id[t.changed_unit_run]["change"], "units");
  EXPECT_EQ(by_id[t.changed_unit_run]["units_changed"], 1);

  RunResult back = t.db_cmd({"--json", "diff", t.second, t.first});  // the other way round
  json b = json::parse(back.out);
  EXPECT_EQ(b["files_added"], 1);
  EXPECT_EQ(b["databases"][0]["tables"][1], (json{{"table", "units"}, {"rows_added", 0}, {"rows_removed", 2},
                                                  {"rows_changed", 1}}));
}

// MDB_FAULT_TRACE lists every write: a database whose content ids are equal on both sides is
// never written to the diff's temp dir; a changed one is.
std::string diff_writes(const TwoBackups& t, const std::string& a, const std::string& b) {
  TempDir trace_dir;
  stdfs::path trace = trace_dir / "trace";
  RunResult r = t.db_cmd({"diff", a, b}, {{"MDB_FAULT_TRACE", trace.string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string written;
  for (const std::string& l : lines(stdfs::exists(trace) ? read(trace) : ""))
    if (l.find(".mephisto-diff-") != std::string::npos && l.find(".db") != std::string::npos) written += l + "\n";
  return written;
}

// Unchanged files are known by their content ids in the manifests: damage to their blob in the
// packs does not matter to diff (restore would refuse it).
TEST(DiffStats, UnchangedFilesAreNotReadBetweenSnapshots) {
  TwoBackups t;
  flip_in_packs(t.d.store, random_bytes(50'000, 3).substr(20'000, 64));
  RunResult r = t.db_cmd({"diff", t.first, t.second});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("same.bin"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Files: 1 added, 1 removed, 2 changed;"), std::string::npos) << r.out;
  RunResult restore = mdb(t.d.tmp / "elsewhere", t.d.store, {"restore", "-f", t.second});
  EXPECT_EQ(restore.exit_code, 1) << restore.out;  // the damage is real
}

TEST(DiffStats, OnlyChangedDatabasesAreMaterialized) {
  TwoBackups t;
  std::string third = backup_snapshot(t.d.data, t.d.store);  // nothing changed since the second
  std::string same = diff_writes(t, t.second, third);
  EXPECT_EQ(same, "");
  std::string changed = diff_writes(t, t.first, t.second);
  EXPECT_NE(changed.find("/a/mephisto.db"), std::string::npos) << changed;
  EXPECT_NE(changed.find("/b/mephisto.db"), std::string::npos) << changed;
  EXPECT_EQ(changed.find("prolific.db"), std::string::npos) << changed;  // its chunks are equal
}

TEST(DiffStats, NowDumpZipAndBackupZip) {
  TwoBackups t;
  RunResult same = t.db_cmd({"diff", t.second, "now"});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(lines(same.out).back(), "Files: 0 added, 0 removed, 0 changed; 0 B added, 0 B removed.") << same.out;

  RunResult exp = t.db_cmd({"--json", "-y", "export"});
  ASSERT_EQ(exp.exit_code, 0) << exp.err;
  std::string dump = json::parse(exp.out)["file"];
  RunResult zip = t.db_cmd({"--json", "backup", "--zip"});
  ASSERT_EQ(zip.exit_code, 0) << zip.err;
  std::string backup_zip = json::parse(zip.out)["zip"];

  sqlite_exec(t.db, "UPDATE units SET status = 'accepted' WHERE unit_id = 9000010;");
  write(t.d.data / "notes" / "later.txt", "later\n");
  RunResult now = t.db_cmd({"--json", "diff", t.second, "now"});
  RunResult from_dump = t.db_cmd({"--json", "diff", dump, "now"});
  RunResult from_zip = t.db_cmd({"--json", "diff", backup_zip, t.second});
  expect_schema_valid({now.out, from_dump.out, from_zip.out});
  for (const RunResult* r : {&now, &from_dump}) {
    ASSERT_EQ(r->exit_code, 0) << r->err;
    json o = json::parse(r->out);
    EXPECT_EQ(o["b"]["kind"], "now");
    ASSERT_EQ(o["databases"].size(), 1u) << r->out;
    EXPECT_EQ(o["databases"][0]["tables"],
              (json::array({{{"table", "units"}, {"rows_added", 0}, {"rows_removed", 0}, {"rows_changed", 1}}})))
        << r->out;
    ASSERT_EQ(o["task_runs_changed"].size(), 1u) << r->out;
    EXPECT_EQ(o["task_runs_changed"][0]["task_run_id"], kNewRun);
    EXPECT_EQ(o["task_runs_changed"][0]["task_name"], t.new_run_task);
  }
  json n = json::parse(now.out);
  EXPECT_EQ(n["changes"].size(), 2u) << now.out;  // database.db and notes/later.txt
  EXPECT_EQ(n["changes"][1]["path"], "notes/later.txt");
  json d = json::parse(from_dump.out);
  EXPECT_EQ(d["a"]["kind"], "dump");
  EXPECT_EQ(d["changes"].size(), 0u) << from_dump.out;  // a dump holds data/runs/ only
  ASSERT_EQ(from_zip.exit_code, 0) << from_zip.err;
  json z = json::parse(from_zip.out);
  EXPECT_EQ(z["a"]["kind"], "backup_zip");
  EXPECT_EQ(z["changes"].size(), 0u) << from_zip.out;
  EXPECT_EQ(z["databases"].size(), 0u) << from_zip.out;
}

TEST(DiffStats, NowNeverFollowsASymlinkInPlaceOfADatabase) {
  TwoBackups t;
  stdfs::path outside = t.d.tmp / "outside.db";
  stdfs::copy_file(t.d.data / "mock" / "mock.db", outside);
  sqlite_exec(outside, "DELETE FROM units;");
  stdfs::remove(t.d.data / "mock" / "mock.db");
  stdfs::create_symlink(outside, t.d.data / "mock" / "mock.db");
  RunResult r = t.db_cmd({"--json", "diff", t.second, "now"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json o = json::parse(r.out);
  ASSERT_EQ(o["changes"].size(), 1u) << r.out;
  EXPECT_EQ(o["changes"][0]["path"], "mock/mock.db");
  EXPECT_EQ(o["changes"][0]["type"], "file -> symlink");
  EXPECT_EQ(o["databases"].size(), 0u) << r.out;  // the rows behind the link are not read
}

TEST(DiffStats, UnknownNameSuggestsTheClosestSnapshot) {
  TwoBackups t;
  std::string typo = t.first;
  typo[typo.size() - 3] = typo[typo.size() - 3] == 'k' ? 'x' : 'k';
  RunResult r = t.db_cmd({"--json", "diff", typo, "now"});
  EXPECT_EQ(r.exit_code, 1);
  expect_schema_valid({r.out});
  json o = json::parse(r.out);
  EXPECT_EQ(o["kind"], "not_found");
  EXPECT_NE(o["error"].get<std::string>().find("Did you mean " + t.first), std::string::npos) << r.out;
  EXPECT_EQ(t.db_cmd({"diff", t.first}).exit_code, 2);
}

// `stats --json` of `store`; the object.
json stats_of(const stdfs::path& data, const std::string& store, std::vector<std::string> args,
              const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), {"--json", "stats"});
  RunResult r = mdb(data, store, args, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_schema_valid({r.out});
  return json::parse(r.out);
}

// Two identical data dirs (`cp -a`) backed up into one store: everything is shared.
void two_identical_backups(const stdfs::path& tmp, const std::string& store,
                           const std::map<std::string, std::string>& env) {
  RunResult s = run(sample_binary(), {"--out", (tmp / "one").string(), "--seed", "9"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  copy_tree(tmp / "one", tmp / "two");
  for (const char* dir : {"one", "two"}) {
    RunResult b = mdb(tmp / dir, store, {"backup"}, env);
    ASSERT_EQ(b.exit_code, 0) << b.err;
  }
}

void expect_all_shared(const json& o) {
  EXPECT_NEAR(o["dedup_ratio"].get<double>(), 2.0, 0.01) << o.dump();
  EXPECT_GT(o["compression_ratio"].get<double>(), 1.0) << o.dump();
  ASSERT_EQ(o["snapshots"].size(), 2u);
  EXPECT_EQ(o["snapshots"][0]["bytes_unique"], 0) << o.dump();
  EXPECT_EQ(o["snapshots"][1]["bytes_unique"], 0) << o.dump();
  EXPECT_EQ(o["bytes"], 2 * o["snapshots"][0]["bytes"].get<uint64_t>());
}

TEST(DiffStats, StatsOfIdenticalDataDirsAndOfAUniqueFile) {
  TempDir tmp;
  std::string store = (tmp / "store").string();
  two_identical_backups(tmp.path(), store, {});
  json o = stats_of(tmp / "one", store, {});
  expect_all_shared(o);
  EXPECT_GT(o["packs"].get<uint64_t>(), 0u);
  EXPECT_GT(o["bytes_stored"].get<uint64_t>(), 0u);
  EXPECT_GT(o["bytes_raw"].get<uint64_t>(), o["bytes_stored"].get<uint64_t>());  // zstd saved some

  write(tmp / "two" / "unique.bin", random_bytes(200'000, 5));  // incompressible: stored as it is
  RunResult b = mdb(tmp / "two", store, {"--json", "backup"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  std::string third = json::parse(b.out)["snapshot"];
  json one = stats_of(tmp / "one", store, {third});
  EXPECT_EQ(one["snapshot"], third);
  ASSERT_EQ(one["snapshots"].size(), 1u);
  uint64_t unique = one["snapshots"][0]["bytes_unique"];
  EXPECT_GE(unique, 200'000u);
  EXPECT_LT(unique, 210'000u);  // the file, and the manifest part that names it
  RunResult prose = mdb(tmp / "one", store, {"stats"});
  EXPECT_NE(prose.out.find("deduplication ratio "), std::string::npos) << prose.out;
  EXPECT_EQ(mdb(tmp / "one", store, {"stats", "nosuch"}).exit_code, 1);
}

TEST(DiffStats, StatsOnAnS3Store) {
  TempDir tmp;
  std::string store = "s3://" + fresh_bucket() + "/stats";
  std::map<std::string, std::string> env = s3_env();
  env["XDG_CACHE_HOME"] = (tmp / "cache").string();
  two_identical_backups(tmp.path(), store, env);
  expect_all_shared(stats_of(tmp / "one", store, {}, env));
}

}  // namespace
}  // namespace mdb::test
