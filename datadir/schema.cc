#include "datadir/schema.h"

#include <array>
#include <mutex>

#include "base/error.h"

namespace mdb {

int TableInfo::column_index(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == column) return static_cast<int>(i);
  return -1;
}

std::string TableInfo::primary_key() const {
  std::string pk;
  for (const ColumnInfo& c : columns) {
    if (c.pk == 0) continue;
    if (!pk.empty()) return {};  // composite: not a single-column key
    pk = c.name;
  }
  return pk;
}

const TableInfo* SchemaInfo::find(std::string_view table) const {
  for (const TableInfo& t : tables)
    if (t.name == table) return &t;
  return nullptr;
}

SchemaInfo read_schema(const sql::Db& db, std::string_view schema) {
  SchemaInfo info;
  std::string q = sql::quote_ident(schema);
  sql::Stmt names = db.prepare(
      "SELECT name FROM " + q + ".sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
      "ORDER BY rowid");
  sql::Stmt cols = db.prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1, ?2)");
  sql::Stmt fks = db.prepare("SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1, ?2) ORDER BY id, seq");
  while (names.step()) {
    TableInfo t;
    t.name = names.column_text(0);
    cols.bind(1, t.name).bind(2, schema);
    while (cols.step()) {
      ColumnInfo c;
      c.name = cols.column_text(0);
      c.type = cols.column_text(1);
      c.notnull = cols.column_int(2) != 0;
      Value d = cols.column(3);
      if (!d.is_null()) c.default_sql = d.to_string();
      c.pk = static_cast<int>(cols.column_int(4));
      t.columns.push_back(std::move(c));
    }
    cols.reset();
    fks.bind(1, t.name).bind(2, schema);
    while (fks.step()) t.foreign_keys.push_back({fks.column_text(0), fks.column_text(1), fks.column_text(2)});
    fks.reset();
    info.tables.push_back(std::move(t));
  }
  return info;
}

std::vector<Reference> references(DbId db, const SchemaInfo& schema) {
  std::vector<Reference> out;
  for (const TableInfo& t : schema.tables)
    for (const ForeignKeyInfo& fk : t.foreign_keys) {
      std::string to = fk.to;
      if (to.empty()) {  // FOREIGN KEY (x) REFERENCES t: the target's primary key
        const TableInfo* target = schema.find(fk.table);
        to = target ? target->primary_key() : std::string();
      }
      out.push_back({db, t.name, fk.from, db, fk.table, to, RefKind::ForeignKey});
    }
  for (Reference& r : undeclared_references(db))
    if (const TableInfo* t = schema.find(r.table); t && t->has_column(r.column)) out.push_back(std::move(r));
  return out;
}

SchemaKind schema_kind_of(DbId db) {
  switch (rules_of(db)) {
    case DbId::Mephisto: return SchemaKind::Mephisto;
    case DbId::Mock: return SchemaKind::Mock;
    case DbId::Mturk: return SchemaKind::Mturk;
    case DbId::Prolific: return SchemaKind::Prolific;
    default: break;
  }
  throw Error("no schema is known for the '" + std::string(db_spec(db).key) + "' provider datastore");
}

namespace {

// The migrations the original records as completed in each fresh database.
std::vector<std::string_view> migration_rows(SchemaKind kind) {
  switch (kind) {
    case SchemaKind::Mephisto: return {"20240418_data_porter_feature", "20241002_modify_qualifications"};
    case SchemaKind::Mturk:
    case SchemaKind::Prolific: return {"20240418_data_porter_feature"};
    default: return {};
  }
}

}  // namespace

std::string in_schema(std::string_view stmt, std::string_view schema) {
  for (std::string_view head : {std::string_view("CREATE TABLE "), std::string_view("CREATE INDEX ")})
    if (stmt.substr(0, head.size()) == head)
      return std::string(head) + sql::quote_ident(schema) + "." + std::string(stmt.substr(head.size()));
  return std::string(stmt);
}

void create_schema(sql::Db& db, SchemaKind kind, std::string_view schema) {
  std::string q = sql::quote_ident(schema) + ".";
  for (std::string_view stmt : final_schema_statements(kind)) {
    if (stmt == "sqlite_sequence") {
      // SQLite creates its sequence table with the first AUTOINCREMENT table; making it
      // here keeps the original's sqlite_master order.
      if (db.query_value("SELECT count(*) FROM " + q + "sqlite_master WHERE name = 'sqlite_sequence'").i == 0)
        db.exec("CREATE TABLE " + q + "mdb_sequence_seed (id INTEGER PRIMARY KEY AUTOINCREMENT); DROP TABLE " + q +
                "mdb_sequence_seed;");
      continue;
    }
    db.exec(in_schema(stmt, schema));
  }
  std::vector<std::string_view> rows = migration_rows(kind);
  if (rows.empty()) return;  // legacy schemas have no migrations table
  sql::Stmt ins = db.prepare("INSERT INTO " + q + "migrations (name, status) VALUES (?1, 'completed')");
  for (std::string_view name : rows) {
    ins.bind(1, name);
    ins.run();
  }
}

const SchemaInfo& final_schema(SchemaKind kind) {
  constexpr size_t kKinds = static_cast<size_t>(SchemaKind::LegacyProlific) + 1;
  static std::array<std::once_flag, kKinds> once;
  static std::array<SchemaInfo, kKinds> schemas;
  size_t i = static_cast<size_t>(kind);
  std::call_once(once.at(i), [&] {
    sql::Db mem = sql::Db::open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY);
    create_schema(mem, kind);
    schemas[i] = read_schema(mem);
  });
  return schemas[i];
}

const SchemaInfo& final_schema(DbId db) {
  static const SchemaInfo kNone;
  return db == DbId::Inhouse ? kNone : final_schema(schema_kind_of(db));
}

namespace {

// The table a statement creates: `CREATE TABLE name (` or `CREATE TABLE "name" (`; empty for
// any other statement.
std::string created_table(std::string_view stmt) {
  constexpr std::string_view kCreate = "CREATE TABLE ";
  if (stmt.substr(0, kCreate.size()) != kCreate) return {};
  std::string_view rest = stmt.substr(kCreate.size());
  rest = rest.substr(0, rest.find_first_of(" ("));
  if (rest.size() >= 2 && rest.front() == '"' && rest.back() == '"') rest = rest.substr(1, rest.size() - 2);
  return std::string(rest);
}

}  // namespace

const std::vector<std::string>& final_table_names(DbId db) {
  constexpr size_t kKinds = static_cast<size_t>(SchemaKind::LegacyProlific) + 1;
  static const std::vector<std::string> kNone;
  static std::array<std::once_flag, kKinds> once;
  static std::array<std::vector<std::string>, kKinds> names;
  if (db == DbId::Inhouse) return kNone;
  size_t i = static_cast<size_t>(schema_kind_of(db));
  std::call_once(once.at(i), [&] {
    for (std::string_view stmt : final_schema_statements(schema_kind_of(db)))
      if (std::string name = created_table(stmt); !name.empty()) names[i].push_back(std::move(name));
  });
  return names[i];
}

std::string schema_name(DbId db) { return db == DbId::Mephisto ? "main" : std::string(db_spec(db).key); }

void attach(sql::Db& db, const std::string& file, DbId id) {
  sql::Stmt s = db.prepare("ATTACH DATABASE ?1 AS " + sql::quote_ident(schema_name(id)));
  s.bind(1, file);
  s.run();
}

}  // namespace mdb
