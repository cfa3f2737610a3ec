#pragma once
// Schema introspection from the database itself, and creation of the original's schemas.
#include <optional>
#include <string>
#include <vector>

#include "datadir/registry.h"
#include "datadir/schema_sql.h"
#include "platform/sqlite.h"

namespace mdb {

struct ColumnInfo {
  std::string name;
  std::string type;  // declared type, as written
  bool notnull = false;
  std::optional<std::string> default_sql;
  int pk = 0;  // 1-based position in the primary key, 0 if not part of it
};

struct ForeignKeyInfo {
  std::string from, table, to;
};

struct TableInfo {
  std::string name;
  std::vector<ColumnInfo> columns;
  std::vector<ForeignKeyInfo> foreign_keys;

  int column_index(std::string_view column) const;  // -1 if absent
  bool has_column(std::string_view column) const { return column_index(column) >= 0; }
  // The single-column primary key, or empty.
  std::string primary_key() const;
};

struct SchemaInfo {
  std::vector<TableInfo> tables;  // user tables in sqlite_master (rowid) order, no sqlite_*
  const TableInfo* find(std::string_view table) const;
};

// The user tables of the DB attached as `schema`.
SchemaInfo read_schema(const sql::Db& db, std::string_view schema = "main");

// Declared foreign keys of `schema` plus the registry's undeclared references for `db`.
std::vector<Reference> references(DbId db, const SchemaInfo& schema);

// Creates the schema in an empty database (the one attached as `schema`), with the `migrations`
// rows the original writes for it (none for mock and for legacy schemas). Runs in the caller's
// transaction if any.
void create_schema(sql::Db& db, SchemaKind kind, std::string_view schema = "main");
// A final-schema CREATE TABLE / CREATE INDEX statement made to create its object in `schema`.
std::string in_schema(std::string_view stmt, std::string_view schema);
SchemaKind schema_kind_of(DbId db);

// The final schema a DB of `kind` is created with (schema_sql.h, data-dir.md), whatever a file
// holds: read back from an in-memory DB made with create_schema, once per kind per process.
const SchemaInfo& final_schema(SchemaKind kind);
// final_schema(schema_kind_of(db)); empty for a DB no schema is known for (inhouse).
const SchemaInfo& final_schema(DbId db);

// The names of the tables of final_schema(db), read off the CREATE TABLE statements without
// SQLite: what classify() needs, at a fraction of the cost of making the schema (every command
// classifies every database; few need the columns). Empty for inhouse.
const std::vector<std::string>& final_table_names(DbId db);

// The name a DB of a data dir has on a connection that holds several (export's Source, import's
// connections): "main" for the Mephisto DB, its provider type for a datastore attached beside it.
std::string schema_name(DbId db);
// Attaches the database `file` (a path, a file: URI or ":memory:") to `db` as schema_name(id).
void attach(sql::Db& db, const std::string& file, DbId id);

}  // namespace mdb
