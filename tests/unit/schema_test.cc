// The schemas we create equal the original's final schemas (schemas_final/*.schema_info.json):
// columns, types, defaults, keys, foreign keys, indexes, AUTOINCREMENT.
#include "datadir/schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "datadir/classify.h"
#include "datadir/datadir.h"
#include "tests/support/testenv.h"

namespace mdb {
namespace {

using nlohmann::json;

json value_json(const Value& v) {
  switch (v.kind) {
    case StorageClass::Null: return nullptr;
    case StorageClass::Integer: return v.i;
    default: return v.to_string();
  }
}

// The same description the fixture files hold, made with the same pragmas.
json describe(const sql::Db& db) {
  json out = json::object();
  sql::Stmt tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name");
  while (tables.step()) {
    std::string name = tables.column_text(0);
    std::string sql_text = tables.column_text(1);
    json t;
    t["columns"] = json::array();
    sql::Stmt cols = db.prepare("SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)");
    cols.bind(1, name);
    while (cols.step())
      t["columns"].push_back({{"cid", cols.column_int(0)}, {"name", cols.column_text(1)}, {"type", cols.column_text(2)},
                              {"notnull", cols.column_int(3)}, {"default", value_json(cols.column(4))},
                              {"pk", cols.column_int(5)}});
    t["foreign_keys"] = json::array();
    sql::Stmt fks = db.prepare(
        "SELECT \"from\", \"table\", \"to\", on_delete, on_update FROM pragma_foreign_key_list(?1)");
    fks.bind(1, name);
    while (fks.step())
      t["foreign_keys"].push_back({{"from", fks.column_text(0)}, {"table", fks.column_text(1)},
                                   {"to", value_json(fks.column(2))}, {"on_delete", fks.column_text(3)},
                                   {"on_update", fks.column_text(4)}});
    t["indexes"] = json::array();
    sql::Stmt idx = db.prepare("SELECT name, \"unique\", origin FROM pragma_index_list(?1)");
    idx.bind(1, name);
    while (idx.step()) {
      json cols_of = json::array();
      sql::Stmt ic = db.prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno");
      ic.bind(1, idx.column_text(0));
      while (ic.step()) cols_of.push_back(ic.column_text(0));
      t["indexes"].push_back({{"name", idx.column_text(0)}, {"unique", idx.column_int(1)},
                              {"origin", idx.column_text(2)}, {"columns", cols_of}});
    }
    std::string upper = sql_text;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    t["autoincrement_in_sql"] = upper.find("AUTOINCREMENT") != std::string::npos;
    out[name] = t;
  }
  return out;
}

json fixture(const std::string& file) {
  std::ifstream in(test::fixtures() / "schemas_final" / file);
  json j = json::parse(in);
  return j.begin().value();  // keyed by the original DB path
}

struct Case {
  DbId db;
  const char* file;
};

class SchemaMatchesOriginal : public ::testing::TestWithParam<Case> {};

TEST_P(SchemaMatchesOriginal, CreatedSchemaEqualsFixture) {
  test::TempDir dir;
  sql::Db db = create_database(dir / "x.db", GetParam().db);
  json want = fixture(GetParam().file);
  json got = describe(db);
  ASSERT_EQ(got.size(), want.size()) << got.dump(1);
  for (auto& [table, info] : want.items()) {
    ASSERT_TRUE(got.contains(table)) << table;
    EXPECT_EQ(got[table], info) << "table " << table << "\nwant " << info.dump() << "\ngot  " << got[table].dump();
  }
}

INSTANTIATE_TEST_SUITE_P(AllFour, SchemaMatchesOriginal,
                         ::testing::Values(Case{DbId::Mephisto, "database.schema_info.json"},
                                           Case{DbId::Mock, "mock_mock.schema_info.json"},
                                           Case{DbId::Mturk, "mturk_mturk.schema_info.json"},
                                           Case{DbId::Prolific, "prolific_prolific.schema_info.json"}),
                         [](const auto& info) { return std::string(db_spec(info.param.db).key); });

TEST(Schema, TableOrderFollowsTheOriginal) {
  test::TempDir dir;
  sql::Db db = create_database(dir / "database.db", DbId::Mephisto);
  std::vector<std::string> names;
  for (const TableInfo& t : read_schema(db).tables) names.push_back(t.name);
  std::vector<std::string> want = {"imported_data", "migrations", "projects", "tasks", "requesters",
                                   "task_runs", "assignments", "units", "workers", "agents",
                                   "onboarding_agents", "qualifications", "granted_qualifications",
                                   "worker_review", "unit_review"};
  EXPECT_EQ(names, want);
}

TEST(Schema, MigrationsRowsAsTheOriginalWrites) {
  test::TempDir dir;
  for (DbId id : {DbId::Mephisto, DbId::Mock, DbId::Mturk, DbId::Prolific}) {
    sql::Db db = create_database(dir / (std::string(db_spec(id).key) + ".db"), id);
    sql::Stmt s = db.prepare("SELECT group_concat(name, ',') FROM (SELECT name FROM migrations ORDER BY id)");
    ASSERT_TRUE(s.step());
    std::string names = s.column(0).is_null() ? "" : s.column_text(0);
    if (id == DbId::Mephisto) EXPECT_EQ(names, "20240418_data_porter_feature,20241002_modify_qualifications");
    else if (id == DbId::Mock) EXPECT_EQ(names, "");
    else EXPECT_EQ(names, "20240418_data_porter_feature");
  }
}

TEST(Schema, ReferencesMergeDeclaredAndRegistry) {
  test::TempDir dir;
  sql::Db db = create_database(dir / "database.db", DbId::Mephisto);
  auto refs = references(DbId::Mephisto, read_schema(db));
  auto has = [&](std::string t, std::string c, std::string tt, RefKind k) {
    for (const Reference& r : refs)
      if (r.table == t && r.column == c && r.target_table == tt && r.kind == k) return true;
    return false;
  };
  EXPECT_TRUE(has("units", "agent_id", "agents", RefKind::ForeignKey));
  EXPECT_TRUE(has("agents", "unit_id", "units", RefKind::ForeignKey));
  EXPECT_TRUE(has("onboarding_agents", "task_id", "tasks", RefKind::ReferenceLike));
  EXPECT_TRUE(has("worker_review", "revoked_qualification_id", "qualifications", RefKind::ReferenceLike));
}

// classify() reads the table names off the statements; they must be the tables SQLite makes.
TEST(Schema, TableNamesReadOffTheStatementsAreTheFinalSchemasTables) {
  for (DbId db : {DbId::Mephisto, DbId::Mock, DbId::Mturk, DbId::MturkSandbox, DbId::Prolific}) {
    std::vector<std::string> made;
    for (const TableInfo& t : final_schema(db).tables) made.push_back(t.name);
    std::vector<std::string> read = final_table_names(db);
    std::sort(made.begin(), made.end());
    std::sort(read.begin(), read.end());
    EXPECT_EQ(read, made) << static_cast<int>(db);
    EXPECT_FALSE(read.empty());
  }
}

TEST(Classify, MissingProviderTableIsNamed) {
  test::TempDir dir;
  {
    sql::Db db = create_database(dir / "prolific" / "prolific.db", DbId::Prolific);
    db.exec("DROP TABLE participant_groups");
  }
  DbHealth h = classify(dir / "prolific" / "prolific.db", DbId::Prolific, DbAccess::Read);
  EXPECT_EQ(h.state, DbState::MissingTables);
  EXPECT_EQ(h.detail, "participant_groups");
}

TEST(Classify, NotSqliteMissingAndOk) {
  test::TempDir dir;
  test::write(dir / "database.db", "this is not a database, just text that is long enough to matter......");
  for (DbAccess a : {DbAccess::None, DbAccess::Read, DbAccess::Write}) {
    DbHealth h = classify(dir / "database.db", DbId::Mephisto, a);
    EXPECT_EQ(h.state, DbState::NotSqlite);
    EXPECT_EQ(h.detail, "file is not a database");
    EXPECT_EQ(classify(dir / "none.db", DbId::Mephisto, a).state, DbState::Missing);
  }
  create_database(dir / "fresh.db", DbId::Mephisto);
  EXPECT_EQ(classify(dir / "fresh.db", DbId::Mephisto, DbAccess::Write).state, DbState::Ok);
}

// A DB from before the original's migrations lacks the tables they create: not damage.
TEST(Classify, LegacySchemasAreNotDamaged) {
  test::TempDir dir;
  std::pair<SchemaKind, DbId> kinds[] = {{SchemaKind::LegacyMephisto, DbId::Mephisto},
                                         {SchemaKind::LegacyMock, DbId::Mock},
                                         {SchemaKind::LegacyProlific, DbId::Prolific}};
  for (auto [kind, id] : kinds) {
    std::filesystem::path path = dir / (std::string(db_spec(id).key) + ".db");
    sql::Db db = sql::Db::create(path);
    create_schema(db, kind);
    EXPECT_EQ(classify(path, id, DbAccess::Read).state, DbState::Ok) << classify(path, id, DbAccess::Read).detail;
  }
}

}  // namespace
}  // namespace mdb
