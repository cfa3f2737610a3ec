#pragma once
// How `diff` compares a database of two sides (docs/INSPECT.md, "diff"): each table's rows are
// read from both sides ordered by primary key and merged as they stream (memory stays flat),
// rows with one key compared by value; the task runs whose row or units differ are named.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "datadir/registry.h"
#include "platform/sqlite.h"

namespace mdb {

// One table of one side: where its rows are and what its columns are called.
struct TableRef {
  std::string from;                   // SQL source (quoted); empty: the table has no rows
  std::vector<std::string> sql_cols;  // each column as SQL names it (quoted)
  std::vector<std::string> names;     // the local column names
};

// The tables of one database on one side: a SQLite file, or the rows a dump staged.
struct DbTables {
  std::unique_ptr<sql::Db> own;  // the database file, when this owns it
  sql::Db* db = nullptr;
  std::map<std::string, TableRef> tables;  // by local table name
  // A dump holds only the tables it exports: a table it lacks is not compared.
  bool only_these_tables = false;
};

// The tables of the SQLite file `path` (opened read-only).
DbTables sqlite_tables(const std::string& path);

struct TableDiff {
  std::string table;
  uint64_t added = 0, removed = 0, changed = 0;
};

// A task run whose task_runs row or units differ.
struct RunDiff {
  std::string task_run_id;  // as text
  std::string task_name;    // from the newer side that has the run ("" when neither says)
  std::string change;       // its task_runs row: "added", "removed", "changed", or "" (only units)
  uint64_t units_added = 0, units_removed = 0, units_changed = 0;
};

class RowDiffer {
 public:
  // The tables of database `db` that differ between `a` and `b` (null: the side has no such
  // database, so every row of the other is added or removed), by table name.
  std::vector<TableDiff> compare(DbId db, const DbTables* a, const DbTables* b);
  // The task runs touched by the Mephisto DB's comparison, by id, named from `b` (else `a`).
  std::vector<RunDiff> task_runs(const DbTables* a, const DbTables* b);

 private:
  TableDiff compare_table(DbId db, const std::string& table, const TableRef* a, const TableRef* b, sql::Db* adb,
                          sql::Db* bdb);
  RunDiff& run(const Value& id);
  std::map<std::pair<int64_t, std::string>, RunDiff> runs_;  // numeric ids in order, then text ones
};

}  // namespace mdb
