#pragma once
// The import's row logic (import.md "Order", "Same object, conflict, clash", "imported_data"):
// checks a staged dump against the local databases, then walks it parent-first deciding for each
// row whether it is the same object as a local row (a conflict, resolved by the resolver), a
// small-id clash (the row gets a fresh random id) or new, and redirects every reference to the
// surviving key (declared foreign keys, reference-like columns, provider columns, JSON id lists,
// imported_data values, run dir names) through the one reference table of core::references().
//
// The engine works on one SQLite connection whose schemas are the data dir's databases: `main` is
// the Mephisto DB and each provider datastore is attached under its provider type. The same walk
// runs twice: first read-only (validation and "is anything new?", before any lock or snapshot),
// then inside the import's transaction, writing.
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <tuple>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "export/dangling.h"
#include "import/import_dump.h"
#include "import/import_outcome.h"
#include "import/resolver.h"
#include "datadir/schema.h"

namespace mdb::core {

class Importer {
 public:
  // `local` is the connection described above; `data_dir` is where run files are looked up.
  Importer(Dump& dump, sql::Db& local, const ImportSettings& settings, const stdfs::path& data_dir);
  ~Importer();

  // Checks the dump against the local databases: metadata, `-qo`, tables and columns, duplicate
  // keys, and which references resolve (in the dump or the data dir), after repairing the
  // references the original's `-r` left unrewritten. A reference that nothing satisfies is no
  // problem: dangling() lists it. Reads only.
  void validate(Problems& problems);
  const std::vector<DanglingReference>& dangling() const { return dangling_; }
  // Classifies every row; with `write`, inserts and updates rows, the deferred references and
  // imported_data. Throws mdb::Error naming DB, table and row when a write fails. Runs once, after
  // validate().
  ImportOutcome run(bool write);

 private:
  using Key = std::variant<int64_t, std::string>;
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  using KeyMap = std::unordered_map<Key, Key, KeyHash>;
  struct Ref;
  struct Table;

  Table& table_info(DumpTable& dt);
  const SchemaInfo& local_schema(DbId db);
  const TableInfo* local_table(DbId db, std::string_view name);
  void check_tables(Problems& problems);
  void check_duplicates(Problems& problems);
  void check_not_null(Problems& problems);
  void repair_randomized_references();
  void undo_needless_substitutions(const nlohmann::ordered_json& subs);
  // Rewrites the staged values of one column through `f` (nullopt: leave the value).
  void rewrite_staged(DumpTable& dt, int column, const std::function<std::optional<Value>(const Value&)>& f);
  void check_references(Problems& problems);
  void check_project_dirs(Problems& problems);
  void check_files(Problems& problems);
  std::vector<DumpTable*> ordered_tables();

  // One dump row on its way in.
  struct Incoming {
    Row row;       // references redirected; deferred ones NULL until their target is imported
    Row original;  // as staged
    std::vector<const Ref*> deferred;
    int64_t index = 0;
    bool is_deferred(size_t column) const;
  };

  void run_table(Table& t, bool write, ImportOutcome& out);
  void prepare(Table& t);
  Incoming redirect(const Table& t, Row row) const;
  std::optional<Row> find_same_object(Table& t, const Incoming& in, bool& clash);
  bool already_present(Table& t, const Row& row);
  // The resolved row of a conflict; with `write`, the local row is updated where it changed.
  Row merge(Table& t, const Incoming& in, const Row& local, bool write, bool& changed);
  void run_or_explain(sql::Stmt& s, const Table& t, const Incoming& in, const char* what);
  void follow(const Table& t, const Incoming& in, const Row& final_row, bool local_row);
  std::optional<Value> map_ref(const Ref& r, const Value& v) const;
  Value map_key(DbId db, const std::string& table, const std::string& column, const Value& v) const;
  bool is_referenced(DbId db, const std::string& table, const std::string& column);
  bool local_has(DbId db, const std::string& table, const std::string& column, const Value& v);
  int64_t fresh_id(Table& t);
  void record_imported(Table& t, const Row& dump_row, const Value& final_key, bool conflicted);
  void set_deferred_references();
  void write_imported_data();
  void merge_dump_imported_data();
  std::string remap_imported_values(const std::string& table, const std::string& names, const std::string& values);
  void plan_files(ImportOutcome& out);
  std::string row_name(const Table& t, const Row& row, int64_t index) const;

  Dump& dump_;
  sql::Db& db_;
  ImportSettings settings_;
  stdfs::path data_dir_;
  std::map<DbId, SchemaInfo> local_schemas_;
  std::map<std::string, sql::Stmt> lookups_;             // "schema.table.column" -> lookup
  std::map<std::string, std::string> onboarding_subs_;   // the original's -r: old onboarding id -> new
  std::map<std::string, std::unique_ptr<Table>> tables_;
  // Per referenced column (primary keys, and the columns provider rows and prolific workers refer
  // to): the dump's value -> the value here, where they differ.
  using Column = std::tuple<DbId, std::string, std::string>;
  std::map<Column, KeyMap> maps_;
  std::optional<std::set<Column>> referenced_;
  std::map<std::string, std::string> project_names_;     // dump project name -> final, where they differ
  struct Imported {
    std::string table;
    std::string names, values;  // JSON
    bool conflicted;
  };
  std::vector<Imported> imported_;
  struct Fixup {
    const Ref* ref;
    Value key;    // the row's final key
    Value value;  // the dump's value
  };
  std::vector<Fixup> fixups_;
  std::map<int64_t, std::pair<int64_t, bool>> runs_;  // dump task_run_id -> (final id, new here)
  std::set<std::pair<std::string, Key>> issued_;       // fresh ids given out, per table
  std::mt19937_64 rng_;                                // fresh ids
  std::vector<DanglingReference> dangling_;
  std::vector<std::pair<std::string, int64_t>> restored_ids_;
};

}  // namespace mdb::core
