// mephisto-sample, driven as a binary: the data dirs it writes have the original's schema,
// clean integrity and foreign keys, every registry reference resolving (provider columns
// included), run files matching the rows, realistic contents; the same seed gives the same
// bytes; --mutate changes what a day of work changes and keeps all of that true; --legacy
// gives the pre-migration schema with small ids.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "datadir/datadir.h"
#include "datadir/schema.h"
#include "formats/date.h"
#include "tests/support/testenv.h"

namespace mdb {
namespace {

using mdb::DbId;
using nlohmann::json;
namespace stdfs = std::filesystem;

// Enough runs for every task, provider and review kind, still well under a second.
const std::vector<std::string> kArgs = {"--task-runs", "12", "--units-per-run", "6", "--media-fraction", "0.2"};

void sample(const std::vector<std::string>& args) {
  test::RunResult r = test::run(test::sample_binary(), args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

void generate(const stdfs::path& out, const std::string& seed, std::vector<std::string> extra = kArgs) {
  std::vector<std::string> args = {"--out", out.string(), "--seed", seed};
  args.insert(args.end(), extra.begin(), extra.end());
  sample(args);
}

const std::vector<DbId> kDbs = {DbId::Mephisto, DbId::Mock, DbId::Mturk, DbId::Prolific};

std::string master(const sql::Db& db) {
  std::string out;
  sql::Stmt s = db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid");
  while (s.step())
    for (int i = 0; i < 4; ++i) out += s.column(i).to_string() + (i == 3 ? "\n" : " | ");
  return out;
}

std::string describe(const mdb::SchemaInfo& schema) {
  std::string out;
  for (const mdb::TableInfo& t : schema.tables) {
    out += t.name + ":";
    for (const mdb::ColumnInfo& c : t.columns)
      out += " " + c.name + " " + c.type + (c.notnull ? " NN" : "") + " d=" + c.default_sql.value_or("-") +
             " pk=" + std::to_string(c.pk);
    for (const mdb::ForeignKeyInfo& fk : t.foreign_keys) out += " fk " + fk.from + "->" + fk.table + "." + fk.to;
    out += "\n";
  }
  return out;
}

sql::Db fresh(const stdfs::path& dir, DbId id, bool legacy) {
  stdfs::path path = dir / (std::string(mdb::db_spec(id).key) + ".db");
  if (!legacy) return mdb::create_database(path, id);
  sql::Db db = sql::Db::create(path);
  mdb::create_schema(db, id == DbId::Mephisto ? mdb::SchemaKind::LegacyMephisto
                          : id == DbId::Mock   ? mdb::SchemaKind::LegacyMock
                                               : mdb::SchemaKind::LegacyProlific);
  return db;
}

void expect_schemas(const stdfs::path& dir, bool legacy) {
  test::TempDir ref;
  for (DbId id : kDbs) {
    stdfs::path path = dir / mdb::db_spec(id).file;
    if (legacy && id == DbId::Mturk) {
      EXPECT_FALSE(stdfs::exists(path)) << "legacy data has no mturk datastore";
      continue;
    }
    ASSERT_TRUE(stdfs::exists(path)) << path;
    sql::Db made = sql::Db::open_readonly(path);
    sql::Db want = fresh(ref.path(), id, legacy);
    EXPECT_EQ(describe(mdb::read_schema(made)), describe(mdb::read_schema(want))) << path;
    EXPECT_EQ(master(made), master(want)) << path;
  }
}

void expect_integrity(const stdfs::path& dir) {
  for (DbId id : kDbs) {
    stdfs::path path = dir / mdb::db_spec(id).file;
    if (!stdfs::exists(path)) continue;
    sql::Db db = sql::Db::open_readonly(path);
    EXPECT_EQ(db.query_value("PRAGMA integrity_check").to_string(), "ok") << path;
    sql::Stmt fk = db.prepare("PRAGMA foreign_key_check");
    EXPECT_FALSE(fk.step()) << path << ": foreign key violation in " << fk.column_text(0);
  }
}

std::set<std::string> column_values(const sql::Db& db, const std::string& table, const std::string& column) {
  std::set<std::string> out;
  sql::Stmt s = db.prepare("SELECT " + sql::quote_ident(column) + " FROM " + sql::quote_ident(table) + " WHERE " +
                           sql::quote_ident(column) + " IS NOT NULL");
  while (s.step()) out.insert(s.column(0).to_string());
  return out;
}

// Every reference of the registry (declared, reference-like, cross-DB, internal, worker
// name, JSON id list) resolves. Returns the references that had values, to check coverage.
std::set<std::string> expect_references_resolve(const stdfs::path& dir) {
  std::map<DbId, sql::Db> dbs;
  for (DbId id : kDbs)
    if (stdfs::exists(dir / mdb::db_spec(id).file)) dbs.emplace(id, sql::Db::open_readonly(dir / mdb::db_spec(id).file));
  std::set<std::string> used;
  for (auto& [id, db] : dbs) {
    for (const mdb::Reference& ref : mdb::references(id, mdb::read_schema(db))) {
      std::string name = std::string(mdb::db_spec(id).key) + "." + ref.table + "." + ref.column;
      if (!dbs.count(ref.target_db)) {
        ADD_FAILURE() << name << " points into a database the dir lacks";
        continue;
      }
      std::set<std::string> targets = column_values(dbs.at(ref.target_db), ref.target_table, ref.target_column);
      for (const std::string& v : column_values(db, ref.table, ref.column)) {
        used.insert(name);
        if (ref.kind != mdb::RefKind::JsonIdList) {
          EXPECT_TRUE(targets.count(v)) << name << " = " << v << " has no " << ref.target_table << "."
                                        << ref.target_column;
          continue;
        }
        json ids = json::parse(v);
        EXPECT_TRUE(ids.is_array()) << name << " = " << v;
        for (const json& q : ids) EXPECT_TRUE(targets.count(std::to_string(q.get<int64_t>()))) << name << " = " << v;
      }
    }
  }
  // units.agent_id and agents.unit_id point at each other.
  sql::Stmt s = dbs.at(DbId::Mephisto).prepare(
      "SELECT count(*) FROM units u JOIN agents a ON a.agent_id = u.agent_id WHERE a.unit_id != u.unit_id");
  s.step();
  EXPECT_EQ(s.column_int(0), 0) << "a unit's agent belongs to another unit";
  return used;
}

struct AgentFiles {
  stdfs::path dir;
  std::string task;
};

// The run files match the rows: every assignment, agent and onboarding agent has its files
// where data-dir.md puts them, and every file under data/runs belongs to a row.
void expect_layout(const stdfs::path& dir) {
  sql::Db db = sql::Db::open_readonly(dir / "database.db");
  std::map<std::string, std::string> run_project;   // run id -> project dir name
  std::map<std::string, std::string> run_task;      // run id -> task name
  sql::Stmt runs = db.prepare(
      "SELECT r.task_run_id, coalesce(p.project_name, 'NO_PROJECT'), t.task_name FROM task_runs r "
      "JOIN tasks t ON t.task_id = r.task_id LEFT JOIN projects p ON p.project_id = t.project_id");
  while (runs.step()) {
    run_project[runs.column(0).to_string()] = runs.column_text(1);
    run_task[runs.column(0).to_string()] = runs.column_text(2);
  }
  auto run_path = [&](const std::string& run) { return dir / "data" / "runs" / run_project.at(run) / run; };

  std::set<stdfs::path> expected;  // every file we expect, absolute
  std::map<std::string, std::set<std::string>> assignments_of_run, agents_of_assignment, onboarding_of_run;
  sql::Stmt a = db.prepare("SELECT assignment_id, task_run_id FROM assignments");
  while (a.step()) {
    std::string run = a.column(1).to_string();
    assignments_of_run[run].insert(a.column(0).to_string());
    expected.insert(run_path(run) / a.column(0).to_string() / "assign_data.json");
  }
  sql::Stmt ag = db.prepare("SELECT agent_id, assignment_id, task_run_id FROM agents");
  while (ag.step()) {
    stdfs::path d = run_path(ag.column(2).to_string()) / ag.column(1).to_string() / ag.column(0).to_string();
    agents_of_assignment[ag.column(1).to_string()].insert(ag.column(0).to_string());
    expected.insert(d / "agent_data.json");
    expected.insert(d / "agent_meta.json");
    std::string data = test::read(d / "agent_data.json");
    EXPECT_GE(data.size(), 2048u) << d;
    EXPECT_LE(data.size(), 60u * 1024) << d;
    json parsed = json::parse(data);
    for (const json& f : parsed["outputs"].value("files", json::array())) {
      stdfs::path upload = d / f["filename"].get<std::string>();
      expected.insert(upload);
      EXPECT_EQ(stdfs::file_size(upload), f["size"].get<uint64_t>()) << upload;
      EXPECT_GE(f["size"].get<uint64_t>(), 100u * 1024);
      EXPECT_LE(f["size"].get<uint64_t>(), 2u * 1024 * 1024);
    }
    EXPECT_TRUE(json::accept(test::read(d / "agent_meta.json"))) << d;
  }
  sql::Stmt ob = db.prepare("SELECT onboarding_agent_id, task_run_id FROM onboarding_agents");
  while (ob.step()) {
    stdfs::path d = run_path(ob.column(1).to_string()) / "onboarding" / ("onboarding_" + ob.column(0).to_string());
    expected.insert(d / "agent_data.json");
    expected.insert(d / "agent_meta.json");
    EXPECT_TRUE(json::accept(test::read(d / "agent_data.json"))) << d;
  }
  // Assets: byte-identical across the runs of one task.
  std::map<std::string, std::map<std::string, std::string>> assets_of_task;
  for (const auto& [run, task] : run_task) {
    for (const char* name : {"bundle.js", "instructions.html", "logo.png"}) {
      stdfs::path p = run_path(run) / "assets" / name;
      expected.insert(p);
      std::string bytes = test::read(p);
      auto [it, first] = assets_of_task[task].emplace(name, bytes);
      EXPECT_TRUE(first || it->second == bytes) << p << " differs from the same asset of another run of " << task;
    }
  }
  std::set<stdfs::path> found;
  for (const auto& e : stdfs::recursive_directory_iterator(dir / "data"))
    if (e.is_regular_file()) found.insert(e.path());
  for (const stdfs::path& p : expected) EXPECT_TRUE(found.count(p)) << "missing " << p;
  for (const stdfs::path& p : found) EXPECT_TRUE(expected.count(p)) << "file without a row: " << p;
}

// Date columns hold the forms of data-dir.md; returns which forms were seen.
std::set<std::string> expect_dates(const stdfs::path& dir) {
  static const std::regex kMillis(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})");
  static const std::regex kSeconds(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)");
  std::set<std::string> forms;
  for (DbId id : kDbs) {
    stdfs::path path = dir / mdb::db_spec(id).file;
    if (!stdfs::exists(path)) continue;
    sql::Db db = sql::Db::open_readonly(path);
    for (const mdb::TableInfo& t : mdb::read_schema(db).tables)
      for (const mdb::ColumnInfo& c : t.columns) {
        if (!mdb::is_date_column(c.name)) continue;
        for (const std::string& v : column_values(db, t.name, c.name)) {
          EXPECT_TRUE(parse_date(v).has_value()) << t.name << "." << c.name << " = " << v;
          if (std::regex_match(v, kMillis)) forms.insert("millis");
          else if (std::regex_match(v, kSeconds)) forms.insert("seconds");
          else ADD_FAILURE() << t.name << "." << c.name << " = " << v << " is in no expected form";
        }
      }
  }
  return forms;
}

// Smallest and largest primary key of the Mephisto tables, qualifications aside.
std::pair<int64_t, int64_t> id_range(const stdfs::path& dir) {
  sql::Db db = sql::Db::open_readonly(dir / "database.db");
  int64_t lo = INT64_MAX, hi = 0;
  for (const mdb::TableInfo& t : mdb::read_schema(db).tables) {
    std::string pk = t.primary_key();
    if (pk.empty() || t.name == "migrations" || t.name == "qualifications" || t.name == "granted_qualifications")
      continue;
    sql::Stmt s = db.prepare("SELECT min(" + pk + "), max(" + pk + ") FROM " + sql::quote_ident(t.name));
    if (s.step() && !s.column(0).is_null()) {
      lo = std::min(lo, s.column_int(0));
      hi = std::max(hi, s.column_int(1));
    }
  }
  return {lo, hi};
}

std::map<std::string, std::string> dumps(const stdfs::path& dir) {
  std::map<std::string, std::string> out;
  for (DbId id : kDbs)
    if (stdfs::exists(dir / mdb::db_spec(id).file)) out[std::string(mdb::db_spec(id).file)] = test::sqlite_dump(dir / mdb::db_spec(id).file);
  return out;
}

std::map<std::string, int64_t> mtimes(const stdfs::path& root) {
  std::map<std::string, int64_t> out;
  for (const auto& e : stdfs::recursive_directory_iterator(root)) {
    struct stat st {};
    ::lstat(e.path().c_str(), &st);
    out[stdfs::relative(e.path(), root).string()] = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
  }
  return out;
}

int64_t count(const stdfs::path& db_path, const std::string& sql_text) {
  return sql::Db::open_readonly(db_path).query_value(sql_text).i;
}

TEST(Sample, HasTheFinalSchemaOfEveryDatabase) {
  test::TempDir t;
  generate(t / "d", "1");
  expect_schemas(t / "d", false);
}

TEST(Sample, IsConsistent) {
  test::TempDir t;
  generate(t / "d", "2");
  expect_integrity(t / "d");
  std::set<std::string> used = expect_references_resolve(t / "d");
  // Every kind of reference is exercised, so the checks above cannot pass vacuously.
  for (const char* ref :
       {"mephisto.units.agent_id", "mephisto.tasks.parent_task_id", "mephisto.worker_review.unit_id",
        "mephisto.worker_review.updated_qualification_id", "mephisto.worker_review.revoked_qualification_id",
        "mephisto.onboarding_agents.task_id", "mephisto.worker_review.task_id", "mock.requesters.requester_id", "mock.units.unit_id",
        "mock.workers.worker_id", "prolific.studies.task_run_id", "prolific.units.unit_id",
        "prolific.units.prolific_submission_id", "prolific.workers.worker_id", "prolific.qualifications.qualification_ids",
        "prolific.qualifications.prolific_participant_group_id", "prolific.participant_groups.requester_id",
        "mturk.hits.unit_id", "mturk.run_mappings.hit_id", "mturk.runs.run_id", "mturk.qualifications.requester_id"})
    EXPECT_TRUE(used.count(ref)) << ref << " is never set";
  expect_layout(t / "d");
  EXPECT_EQ(expect_dates(t / "d"), (std::set<std::string>{"millis", "seconds"}));
}

TEST(Sample, LooksLikeRealData) {
  test::TempDir t;
  generate(t / "d", "3");
  stdfs::path db = t / "d" / "database.db";
  auto [lo, hi] = id_range(t / "d");
  EXPECT_GE(lo, 1'000'000);
  EXPECT_GT(hi, int64_t{1} << 53) << "ids are 63-bit random numbers";
  EXPECT_EQ(count(db, "SELECT max(qualification_id) FROM qualifications"),
            count(db, "SELECT count(*) FROM qualifications"));
  EXPECT_EQ(count(db, "SELECT count(*) FROM projects WHERE project_name LIKE '%''%'"), 1);
  EXPECT_EQ(count(db, "SELECT count(*) FROM projects WHERE project_name GLOB '*[^ -~]*'"), 1);
  EXPECT_EQ(count(db, "SELECT count(DISTINCT provider_type) FROM requesters"), 3);
  EXPECT_GE(count(db, "SELECT count(*) FROM task_runs WHERE task_id IN "
                      "(SELECT task_id FROM tasks WHERE project_id IS NULL)"),
            1);
  EXPECT_GE(count(db, "SELECT count(*) FROM worker_review WHERE unit_id IS NULL AND task_id IS NULL"), 2)
      << "qualification-only reviews";
  EXPECT_GE(count(db, "SELECT count(*) FROM worker_review WHERE unit_id IS NULL AND task_id IS NOT NULL"), 1)
      << "task-level reviews";
  EXPECT_GE(count(db, "SELECT count(*) FROM (SELECT unit_id FROM agents GROUP BY unit_id HAVING count(*) > 1)"), 1)
      << "some units have an earlier agent that left";
  EXPECT_GE(count(db, "SELECT count(DISTINCT status) FROM units"), 5);
  EXPECT_GE(count(db, "SELECT count(*) FROM onboarding_agents"), 2);
  int64_t uploads = 0;
  for (const auto& e : stdfs::recursive_directory_iterator(t / "d" / "data"))
    if (e.is_regular_file() && e.path().extension() != ".json" && e.path().parent_path().filename() != "assets") ++uploads;
  EXPECT_GE(uploads, 1);
}

TEST(Sample, SameSeedSameBytesAndTimes) {
  test::TempDir t;
  generate(t / "a", "4");
  generate(t / "b", "4");
  EXPECT_TRUE(test::tree(t / "a") == test::tree(t / "b"));
  EXPECT_EQ(dumps(t / "a"), dumps(t / "b"));
  EXPECT_EQ(mtimes(t / "a"), mtimes(t / "b"));
  generate(t / "c", "5");
  EXPECT_NE(dumps(t / "a"), dumps(t / "c"));
}

TEST(Sample, MutateSimulatesADayAndStaysConsistent) {
  test::TempDir t;
  generate(t / "a", "6", {"--task-runs", "12", "--units-per-run", "10"});
  generate(t / "b", "6", {"--task-runs", "12", "--units-per-run", "10"});
  std::map<std::string, std::string> before = test::tree(t / "a");
  stdfs::path db = t / "a" / "database.db";
  int64_t runs = count(db, "SELECT count(*) FROM task_runs");
  int64_t reviews = count(db, "SELECT count(*) FROM worker_review");
  ASSERT_GT(count(db, "SELECT count(*) FROM units WHERE status IN ('completed', 'launched', 'assigned')"), 0);

  sample({"--mutate", (t / "a").string(), "--seed", "9"});
  EXPECT_EQ(count(db, "SELECT count(*) FROM task_runs"), runs + 1);
  EXPECT_EQ(count(db, "SELECT count(*) FROM task_runs WHERE is_completed = 0"), 1);
  EXPECT_GT(count(db, "SELECT count(*) FROM worker_review"), reviews);
  int64_t latest_run = count(db, "SELECT task_run_id FROM task_runs ORDER BY creation_date DESC LIMIT 1");
  EXPECT_EQ(count(db, "SELECT count(*) FROM units WHERE status IN ('created', 'launched', 'assigned', 'completed') "
                      "AND task_run_id != " + std::to_string(latest_run)),
            0)
      << "yesterday's waiting units are reviewed or expired";
  std::map<std::string, std::string> after = test::tree(t / "a");
  int changed = 0, agent_files = 0;
  for (const auto& [path, bytes] : before) {
    if (path.size() < 15 || path.substr(path.size() - 15) != "agent_data.json" || path.find("onboarding") != std::string::npos)
      continue;
    ++agent_files;
    ASSERT_TRUE(after.count(path)) << path << " vanished";
    if (after.at(path) != bytes) ++changed;
  }
  EXPECT_GE(changed, 1);
  EXPECT_LE(changed, agent_files / 100 + 1 + count(db, "SELECT count(*) FROM units WHERE status = 'completed'"));
  expect_integrity(t / "a");
  expect_references_resolve(t / "a");
  expect_layout(t / "a");

  // Deterministic, and a second day works on top of the first.
  sample({"--mutate", (t / "b").string(), "--seed", "9"});
  EXPECT_TRUE(test::tree(t / "a") == test::tree(t / "b"));
  EXPECT_EQ(mtimes(t / "a"), mtimes(t / "b"));
  sample({"--mutate", (t / "a").string(), "--seed", "9"});
  EXPECT_EQ(count(db, "SELECT count(*) FROM task_runs"), runs + 2);
  expect_integrity(t / "a");
  expect_references_resolve(t / "a");
  expect_layout(t / "a");
}

TEST(Sample, LegacyHasThePremigrationSchemaAndSmallIds) {
  test::TempDir t;
  generate(t / "d", "7", {"--legacy", "--task-runs", "8", "--units-per-run", "5"});
  expect_schemas(t / "d", true);
  expect_integrity(t / "d");
  expect_references_resolve(t / "d");
  expect_layout(t / "d");
  EXPECT_EQ(expect_dates(t / "d"), std::set<std::string>{"seconds"});
  auto [lo, hi] = id_range(t / "d");
  EXPECT_EQ(lo, 1);
  EXPECT_LT(hi, 1'000);
  stdfs::path db = t / "d" / "database.db";
  EXPECT_GT(count(db, "SELECT count(*) FROM unit_review"), 0);
  EXPECT_EQ(count(db, "SELECT max(unit_id) FROM units"), count(db, "SELECT count(*) FROM units"));

  sample({"--mutate", (t / "d").string(), "--seed", "1"});
  expect_schemas(t / "d", true);
  expect_integrity(t / "d");
  expect_references_resolve(t / "d");
  expect_layout(t / "d");
  EXPECT_EQ(count(db, "SELECT max(unit_id) FROM units"), count(db, "SELECT count(*) FROM units"));
}

TEST(Sample, EmptyIsAFreshMephistoDataDir) {
  test::TempDir t;
  sample({"--out", (t / "d").string(), "--empty"});
  EXPECT_EQ(test::tree(t / "d").size(), 1u) << "only database.db";
  test::TempDir ref;
  sql::Db made = sql::Db::open_readonly(t / "d" / "database.db");
  EXPECT_EQ(master(made), master(fresh(ref.path(), DbId::Mephisto, false)));
  EXPECT_EQ(count(t / "d" / "database.db", "SELECT count(*) FROM migrations"), 2);
  for (const char* table : {"projects", "tasks", "requesters", "workers", "units", "qualifications"})
    EXPECT_EQ(count(t / "d" / "database.db", std::string("SELECT count(*) FROM ") + table), 0) << table;
}

TEST(Sample, RefusesToWriteIntoAFullDirectory) {
  test::TempDir t;
  test::write(t / "d" / "keep.txt", "mine");
  test::RunResult r = test::run(test::sample_binary(), {"--out", (t / "d").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not empty"), std::string::npos) << r.err;
  EXPECT_EQ(test::tree(t / "d"), (std::map<std::string, std::string>{{"keep.txt", "mine"}}));
  EXPECT_EQ(test::run(test::sample_binary(), {}).exit_code, 2);
  EXPECT_EQ(test::run(test::sample_binary(), {"--out", "x", "--mutate", "y"}).exit_code, 2);
  EXPECT_EQ(test::run(test::sample_binary(), {"--mutate", (t / "nothing").string()}).exit_code, 1);
}

}  // namespace
}  // namespace mdb
