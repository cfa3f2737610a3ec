#pragma once
// The import's row logic (import.md "Order", "Same object, conflict, clash", "imported_data"):
// checks a staged dump against the local databases, then walks it parent-first deciding for each
// row whether it is the same object as a local row (a conflict, resolved by the resolver), a
// small-id clash (the row gets a fresh random id) or new, and redirects every reference to the
// surviving key (declared foreign keys, reference-like columns, provider columns, JSON id lists,
// imported_data values, run dir names) through the one key map (key_map.h).
//
// The engine works on one SQLite connection whose schemas are the data dir's databases: `main` is
// the Mephisto DB and each provider datastore is attached under its provider type. The same walk
// runs twice: first read-only (validation and "is anything new?", before any lock or snapshot),
// then inside the import's transaction, writing.
//
// Importer only sequences the parts. Inside import/ each file includes only files above it here:
//   options         the parsed options of `db import`
//   import_dump     the staged dump (zip, JSON or Cap'n Proto half, staging tables)
//   resolver        conflict resolvers
//   import_outcome  ImportSettings, ImportOutcome: what an import is asked and what it finds
//   file_plan       a FilePlan's rows in the staging database (written, read back, compared)
//   import_files    staging and placing the run files
//   import_local    the connections to the local databases (schema names, read-only view, write)
//   key_map         the one key map: dump keys and names -> local ones
//   import_tables   what is known of each dump table and its local counterpart
//   import_repair   the repairs of the original's `-r` dumps (writes the key map, then clears it)
//   import_checks   the checks of the staged dump
//   imported_data   ImportedDataWriter: the imported_data table
//   row_merger      RowMerger: the parent-first walk over the rows (writes the key map)
//   file_planner    FilePlanner: where the run files go (reads the key map)
//   import_engine   Importer: the sequence
#include <filesystem>
#include <utility>
#include <vector>

#include "export/dangling.h"
#include "import/import_dump.h"
#include "import/import_outcome.h"
#include "import/import_tables.h"
#include "import/key_map.h"

namespace mdb {

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
  // In place of validate() when the databases are as a validate() on another connection found them
  // (LocalDbWatch): its verdict stands, with its `dangling` references; only the repair's entries
  // in the key map, which run() reads, are made again (from the dump alone).
  void validate_unchanged(std::vector<DanglingReference> dangling);
  const std::vector<DanglingReference>& dangling() const { return dangling_; }
  // Classifies every row; with `write`, inserts and updates rows, the deferred references and
  // imported_data. Throws mdb::Error naming DB, table and row when a write fails. Runs once, after
  // validate().
  ImportOutcome run(bool write);

 private:
  Dump& dump_;
  sql::Db& db_;
  ImportSettings settings_;
  stdfs::path data_dir_;
  ImportTables tables_;
  KeyMap keys_;
  std::vector<DanglingReference> dangling_;
  std::vector<std::pair<std::string, int64_t>> restored_ids_;
};

}  // namespace mdb
