#pragma once
// Which rows a dump holds (export.md, "What a dump holds"). Selected rows are kept as rowid sets
// in TEMP tables of the Source's connection, so memory stays flat however many rows a dump holds,
// and every rule is one SQL statement with bound values.
//
// A partial dump starts from a set of task runs, adds their children, then repeats until nothing
// changes: every reference from a selected row selects its target (the closure invariant), the
// worker reviews of selected tasks (unit NULL or selected), the grants of selected workers, and the
// provider rows tied to selected rows of every provider type of a selected requester.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "export/export_source.h"

namespace mdb {

enum class DumpKind { Full, Partial, QualificationsOnly };

// One top-level key of the dump's JSON and the tables under it, in dump order.
struct DumpDb {
  std::string key;         // "mephisto" or a provider type
  std::optional<DbId> db;  // nullopt: a type without a datastore of its own (inhouse): `{}`
  // A table may be absent from the DB (a datastore that does not exist, the original's
  // `unit_review`): it is written empty, with the final schema's columns.
  std::vector<std::string> tables;
};

class Selection {
 public:
  // Every row of every table. `unit_review_key`: list `unit_review` (empty) also when database.db
  // has no such table, as the original does except in the export that applies the migration
  // dropping it (data-dir.md).
  static Selection full(Source& src, bool unit_review_key);
  // The task runs `run_ids` (which exist) and everything tied to them, closed under references.
  static Selection partial(Source& src, const std::vector<int64_t>& run_ids);
  // -qo: all qualifications, grants and workers; or, when `qualification_ids` is set, those
  // qualifications, their grants and the workers of those grants.
  static Selection qualifications(Source& src, const std::optional<std::vector<int64_t>>& qualification_ids);

  DumpKind kind() const { return kind_; }
  const std::vector<DumpDb>& layout() const { return layout_; }
  // The statement listing the selected rows of a table in dump order (every column, `SELECT *`);
  // empty when the table's DB does not exist (no rows).
  std::string rows_sql(DbId db, std::string_view table) const;
  // A subquery listing the rowids of the selected rows of a table.
  std::string rowids_sql(DbId db, std::string_view table) const;
  // Whether every row of the table is selected (no rowid filter needed).
  bool selects_all(DbId db, std::string_view table) const;
  // The selected task runs, ascending.
  std::vector<int64_t> task_run_ids() const;

 private:
  Selection(Source& src, DumpKind kind) : src_(&src), kind_(kind) {}
  std::string sel_table(DbId db, std::string_view table) const;
  void create_sets();
  // Selects the rows of `table` matching `where`; returns how many were new.
  int64_t add(DbId db, std::string_view table, const std::string& where);
  // "(SELECT column FROM table WHERE <selected>)", for IN clauses.
  std::string values_of(DbId db, std::string_view table, std::string_view column) const;
  int64_t close_references();
  int64_t apply_child_rules();
  int64_t apply_provider_rules(DbId db);
  bool provider_selected(DbId db) const;
  void make_layout(bool unit_review_key = false);

  Source* src_;
  DumpKind kind_;
  std::vector<std::pair<DbId, std::string>> all_tables_;  // -qo without names: these are whole
  std::vector<DumpDb> layout_;
};

}  // namespace mdb
