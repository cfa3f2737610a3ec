#pragma once
// What the import knows of each table of the dump and of its counterpart in the local databases
// (the connection of import_local.h): keys, UNIQUE constraints, the references of its columns and
// which of its columns others refer to. Built on first use, shared by the checks, the row merger
// and the imported_data writer. Reads only.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "datadir/schema.h"
#include "import/import_dump.h"
#include "import/key_map.h"

namespace mdb {

struct ImportTable {
  DumpTable* dt;
  const TableSpec* spec;
  const TableInfo* local;
  std::string qname;            // "schema"."table"
  int pk = -1;                  // dump column of the primary key
  int local_pk = -1;            // local column of the primary key
  std::vector<int> natural;     // dump columns of the natural key
  // Dump columns of the local table's other UNIQUE constraints: what the schema says can exist
  // only once also identifies the same object (a prolific study id, a unit's assignment slot).
  std::vector<std::vector<int>> uniques;
  std::vector<int> local_of;    // local column of each dump column
  std::vector<int> referenced;  // dump columns other rows refer to (the primary key among them)
  std::vector<ImportRef> refs;
};

// Whether the table's key is an integer id (legacy ids below kLegacyIdLimit can clash).
bool integer_keyed(const TableSpec* spec);
// A key as text for messages.
std::string show_key(const Value& v);
// The first row a statement finds, if any (the statement is reset).
std::optional<Row> fetch_one(sql::Stmt& s);

class ImportTables {
 public:
  ImportTables(Dump& dump, sql::Db& local);
  ImportTables(const ImportTables&) = delete;
  ImportTables& operator=(const ImportTables&) = delete;

  ImportTable& info(DumpTable& dt);
  // The Mephisto table `name` if info() has described it.
  const ImportTable* described(const std::string& name) const;
  // The dump's tables with rows, in import order (parents first).
  std::vector<DumpTable*> ordered();
  const TableInfo* local_table(DbId db, std::string_view name);
  // Whether the local `table` has a row whose `column` is `v`.
  bool local_has(DbId db, const std::string& table, const std::string& column, const Value& v);
  // "Database `db`, table `t`, row <key>" for messages (`index` when the table has no key).
  std::string row_name(const ImportTable& t, const Row& row, int64_t index) const;

 private:
  const SchemaInfo& local_schema(DbId db);
  bool is_referenced(DbId db, const std::string& table, const std::string& column);
  std::vector<std::vector<int>> unique_columns(const ImportTable& t);
  std::vector<ImportRef> refs_of(const ImportTable& t);

  Dump& dump_;
  sql::Db& db_;
  std::map<DbId, SchemaInfo> local_schemas_;
  std::map<std::string, sql::Stmt> lookups_;  // "schema.table.column" -> lookup
  std::map<std::string, std::unique_ptr<ImportTable>> tables_;
  std::optional<std::set<KeyMap::Column>> referenced_;
};

}  // namespace mdb
