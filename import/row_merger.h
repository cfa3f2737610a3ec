#pragma once
// The walk over the dump's rows, parent tables first (import.md "Order", "Same object, conflict,
// clash"): for each row, whether it is the same object as a local row (a conflict, resolved by the
// resolver and merged), a small-id clash (the row gets a fresh random id) or new (inserted). Its
// references are redirected through the key map first, and where its referenced values end up is
// recorded in the key map for the rows after it. References to tables imported later are set at
// the end (set_deferred_references). Without `write` the same walk only counts.
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "import/import_outcome.h"
#include "import/import_tables.h"
#include "import/imported_data.h"
#include "import/key_map.h"

namespace mdb {

class RowMerger {
 public:
  RowMerger(Dump& dump, sql::Db& local, ImportTables& tables, KeyMap& keys, const ImportSettings& settings,
            ImportedDataWriter& imported);

  TableCounts run_table(ImportTable& t, bool write);
  // References whose target was imported after their row (units.agent_id, tasks.parent_task_id):
  // set now, through the target's key map.
  void set_deferred_references();

 private:
  // The statements of one table's walk.
  struct Statements {
    std::vector<std::string> local_cols;
    sql::Stmt select_all_by_pk, select_all_by_natural, insert;
    sql::Stmt select_identical, insert_identical;  // a table without a key: its indexed copy
    std::vector<sql::Stmt> select_all_by_unique;
    std::map<std::string, sql::Stmt> updates;  // by the changed columns
  };
  // One dump row on its way in.
  struct Incoming {
    Row row;       // references redirected; deferred ones NULL until their target is imported
    Row original;  // as staged
    std::vector<const ImportRef*> deferred;
    int64_t index = 0;
    bool is_deferred(size_t column) const;
  };

  void prepare(const ImportTable& t, Statements& s);
  Incoming redirect(const ImportTable& t, Row row) const;
  std::optional<Row> find_same_object(const ImportTable& t, Statements& s, const Incoming& in, bool& clash);
  void index_whole_rows(const ImportTable& t, Statements& s, const std::vector<int>& every);
  bool already_present(Statements& s, const Row& row);
  // The row is the same object as `local`: merged; returns its final key.
  Value take_local(const ImportTable& t, Statements& s, const Incoming& in, const Row& local, bool write,
                   TableCounts& counts);
  // The row is new: inserted (with a fresh id on a clash); returns its final key.
  Value insert(const ImportTable& t, Statements& s, Incoming& in, bool clash, bool write, TableCounts& counts);
  // The resolved row of a conflict; with `write`, the local row is updated where it changed.
  Row merge(const ImportTable& t, Statements& s, const Incoming& in, const Row& local, bool write, bool& changed);
  void update_local(const ImportTable& t, Statements& s, const Incoming& in, const Row& local, const Row& merged,
                    const std::vector<size_t>& columns);
  void run_or_explain(sql::Stmt& s, const ImportTable& t, const Incoming& in, const char* what);
  void follow(const ImportTable& t, const Incoming& in, const Row& final_row, bool local_row);
  int64_t fresh_id(const ImportTable& t);

  Dump& dump_;
  sql::Db& db_;
  ImportTables& tables_;
  KeyMap& keys_;
  const ImportSettings& settings_;
  ImportedDataWriter& imported_;
  struct Fixup {
    const ImportRef* ref;
    Value key;    // the row's final key
    Value value;  // the dump's value
  };
  std::vector<Fixup> fixups_;
  std::set<std::pair<std::string, int64_t>> issued_;  // fresh ids given out, per table
  std::mt19937_64 rng_;                               // fresh ids
  sql::ReadSpans spans_;                              // the dry run's reads of the local databases
};

}  // namespace mdb
