#pragma once
// Schema introspection from the database itself, and creation of the original's schemas.
#include <optional>
#include <string>
#include <vector>

#include "datadir/registry.h"
#include "datadir/schema_sql.h"
#include "platform/sqlite.h"

namespace mdb::core {

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

}  // namespace mdb::core
