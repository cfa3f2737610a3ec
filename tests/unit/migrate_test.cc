#include "datadir/migrate.h"

#include <gtest/gtest.h>

#include <regex>

#include "datadir/schema.h"
#include "tests/support/testenv.h"

namespace mdb {
namespace {

namespace stdfs = std::filesystem;

stdfs::path legacy_state(const std::string& label) { return test::fixtures() / "s4_legacy" / "db_state" / label; }

// A database holding what `.dump` printed for the original's data dir.
stdfs::path load(const test::TempDir& dir, const std::string& label, const std::string& name) {
  stdfs::path path = dir / (name + ".db");
  sql::Db db = sql::Db::create(path);
  db.exec("PRAGMA foreign_keys = OFF");
  db.exec(test::read(legacy_state(label) / (name + ".dump.sql")));
  return path;
}

// Migrates the file `path` as the commands do: the Mephisto DB as main, a datastore attached.
std::vector<std::string> migrate_file(const stdfs::path& path, DbId id) {
  // Not SQLITE_OPEN_MEMORY: ATTACH inherits the open flags and would attach an empty memory DB.
  sql::Db db = id == DbId::Mephisto ? sql::Db::open(path)
                                    : sql::Db::open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (id != DbId::Mephisto) attach(db, path.string(), id);
  db.exec("PRAGMA foreign_keys = OFF");
  std::vector<Migrated> applied;
  {
    sql::Transaction txn(db);
    applied = migrate(db, {id});
    txn.commit();
  }
  return applied.empty() ? std::vector<std::string>{} : applied[0].names;
}

// Timestamps the migration writes at run time (its own log rows, the original's
// datetime('now', 'localtime') fill values) differ between runs: mask them.
std::string mask_run_times(const std::string& dump) {
  static const std::regex kTime("'\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d'");
  std::string out;
  std::istringstream in(dump);
  for (std::string line; std::getline(in, line);) {
    bool run_time = line.rfind("INSERT INTO migrations", 0) == 0 || line.rfind("INSERT INTO units", 0) == 0 ||
                    line.rfind("INSERT INTO workers", 0) == 0;
    out += (run_time ? std::regex_replace(line, kTime, "'T'") : line) + "\n";
  }
  return out;
}

TEST(Migrate, MephistoDbBecomesWhatTheOriginalsMigrationMadeOfIt) {
  test::TempDir dir;
  stdfs::path path = load(dir, "L_legacy_premigration", "database");
  {
    sql::Db db = sql::Db::open_readonly(path);
    EXPECT_EQ(missing_migrations(db, DbId::Mephisto),
              (std::vector<std::string>{"20240418_data_porter_feature", "20241002_modify_qualifications"}));
  }
  EXPECT_EQ(migrate_file(path, DbId::Mephisto).size(), 2u);
  EXPECT_EQ(mask_run_times(test::sqlite_dump(path)),
            mask_run_times(test::read(legacy_state("L_after_migration") / "database.dump.sql")));
  // Up to date now: nothing more to do, nothing changes.
  std::string before = test::sqlite_dump(path);
  EXPECT_TRUE(migrate_file(path, DbId::Mephisto).empty());
  EXPECT_EQ(test::sqlite_dump(path), before);
}

TEST(Migrate, ProlificDatastoreRenamesRunIdAndAddsDates) {
  test::TempDir dir;
  stdfs::path path = load(dir, "L_legacy_premigration", "prolific_prolific");
  EXPECT_EQ(migrate_file(path, DbId::Prolific), (std::vector<std::string>{"20240418_data_porter_feature"}));
  EXPECT_EQ(mask_run_times(test::sqlite_dump(path)),
            mask_run_times(test::read(legacy_state("L_after_migration") / "prolific_prolific.dump.sql")));
}

TEST(Migrate, MockIsNeverMigrated) {
  test::TempDir dir;
  stdfs::path path = load(dir, "L_legacy_premigration", "mock_mock");
  std::string before = test::sqlite_dump(path);
  EXPECT_TRUE(migrate_file(path, DbId::Mock).empty());
  EXPECT_EQ(test::sqlite_dump(path), before);
}

// An mturk datastore from before the data porter: same columns, CURRENT_TIMESTAMP defaults.
TEST(Migrate, MturkDatastoreGetsTheFinalDefinitionsAndKeepsRows) {
  test::TempDir dir;
  stdfs::path path = dir / "mturk.db";
  {
    sql::Db db = sql::Db::create(path);
    db.exec(R"(CREATE TABLE hits (hit_id TEXT PRIMARY KEY UNIQUE, unit_id TEXT, assignment_id TEXT, link TEXT,
                 assignment_time_in_seconds INTEGER NOT NULL, creation_date DATETIME DEFAULT CURRENT_TIMESTAMP);
               CREATE TABLE run_mappings (hit_id TEXT, run_id TEXT);
               CREATE TABLE runs (run_id TEXT PRIMARY KEY UNIQUE, arn_id TEXT, hit_type_id TEXT NOT NULL,
                 hit_config_path TEXT NOT NULL, creation_date DATETIME DEFAULT CURRENT_TIMESTAMP,
                 frame_height INTEGER NOT NULL DEFAULT 650);
               CREATE TABLE qualifications (qualification_name TEXT PRIMARY KEY UNIQUE, requester_id TEXT,
                 mturk_qualification_name TEXT, mturk_qualification_id TEXT,
                 creation_date DATETIME DEFAULT CURRENT_TIMESTAMP);
               INSERT INTO hits VALUES ('HIT1', '5', 'A1', 'l', 60, '2024-01-01 00:00:00');
               INSERT INTO run_mappings VALUES ('HIT1', '7'), ('HIT1', '7');
               INSERT INTO runs VALUES ('7', 'arn', 'type', '/p', '2024-01-01 00:00:00', 650);
               INSERT INTO qualifications VALUES ('q', '3', 'mq', 'MQ1', '2024-01-01 00:00:00');)");
  }
  EXPECT_EQ(migrate_file(path, DbId::Mturk), (std::vector<std::string>{"20240418_data_porter_feature"}));
  sql::Db fresh = sql::Db::open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY);
  create_schema(fresh, SchemaKind::Mturk);
  sql::Db db = sql::Db::open_readonly(path);
  auto sql_of = [](const sql::Db& d) {
    std::string out;
    sql::Stmt s = d.prepare("SELECT sql FROM sqlite_master ORDER BY rowid");
    while (s.step()) out += s.column_text(0) + ";\n";
    return out;
  };
  EXPECT_EQ(sql_of(db), sql_of(fresh));
  EXPECT_EQ(db.query_value("SELECT count(*) FROM run_mappings").i, 2);
  EXPECT_EQ(db.query_value("SELECT unit_id FROM hits").s, "5");
}

// A 1.4-era Mephisto DB: data porter migration done, qualifications one not.
TEST(Migrate, OnlyTheMissingMigrationRuns) {
  test::TempDir dir;
  stdfs::path path = load(dir, "L_legacy_premigration", "database");
  {
    sql::Db db = sql::Db::open(path);
    db.exec("PRAGMA foreign_keys = OFF");
    sql::Transaction txn(db);
    migrate(db, {DbId::Mephisto});
    db.exec("DELETE FROM migrations WHERE name = '20241002_modify_qualifications'");
    db.exec("ALTER TABLE worker_review RENAME TO unit_review");
    db.exec("ALTER TABLE qualifications DROP COLUMN description");
    txn.commit();
  }
  EXPECT_EQ(migrate_file(path, DbId::Mephisto), (std::vector<std::string>{"20241002_modify_qualifications"}));
  sql::Db db = sql::Db::open_readonly(path);
  SchemaInfo schema = read_schema(db);
  EXPECT_FALSE(schema.find("unit_review"));
  EXPECT_TRUE(schema.find("qualifications")->has_column("description"));
  EXPECT_EQ(db.query_value("SELECT review_note FROM worker_review").s, "legacy review");
}

TEST(Migrate, RefusesToRunWithForeignKeysOn) {
  test::TempDir dir;
  stdfs::path path = load(dir, "L_legacy_premigration", "database");
  sql::Db db = sql::Db::open(path);
  sql::Transaction txn(db);
  EXPECT_THROW(migrate(db, {DbId::Mephisto}), Error);
}

TEST(Migrate, WorksOnAnAttachedSchema) {
  test::TempDir dir;
  stdfs::path path = load(dir, "L_legacy_premigration", "prolific_prolific");
  // Not SQLITE_OPEN_MEMORY: ATTACH inherits the open flags and would attach an empty memory DB.
  sql::Db db = sql::Db::open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  db.exec("PRAGMA foreign_keys = OFF");
  sql::Stmt attach = db.prepare("ATTACH DATABASE ?1 AS prolific");
  attach.bind(1, path.string());
  attach.run();
  {
    sql::Transaction txn(db);
    std::vector<Migrated> applied = migrate(db, {DbId::Prolific});
    ASSERT_EQ(applied.size(), 1u);
    EXPECT_EQ(applied[0].names.size(), 1u);
    txn.commit();
  }
  db.exec("DETACH DATABASE prolific");
  EXPECT_EQ(mask_run_times(test::sqlite_dump(path)),
            mask_run_times(test::read(legacy_state("L_after_migration") / "prolific_prolific.dump.sql")));
}

}  // namespace
}  // namespace mdb
