#pragma once
// What an import is asked to do (ImportSettings) and what it finds (ImportOutcome: the rows per
// table, the run files to place). The checks, the row merger, the file planner and the staging
// of run files all speak these; they depend on nothing else of import/ but the staged dump.
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "export/dangling.h"
#include "import/import_dump.h"

namespace mdb {

class ConflictResolver;

struct ImportSettings {
  const ConflictResolver* resolver = nullptr;
  std::vector<std::string> labels;  // sorted by code point, no duplicates
  bool keep_import_metadata = false;
  bool qualification_only = false;
  // Seeds the fresh ids of clashing rows: the checks' dry run and the transaction use the same
  // seed, so on an unchanged data dir they give the same ids and put the run files in the same
  // places (the files are staged for the dry run's plan).
  uint64_t id_seed = 0;
};

struct TableCounts {
  DbId db;
  std::string table;
  int64_t rows = 0, inserted = 0, merged = 0, present = 0, remapped = 0;
};

// Where one run file of the dump goes: a row of a FilePlan, read back one at a time.
struct FileAction {
  DumpFile file;
  // Where it goes when that is not where the dump has it (data/<member name>): ids or a project
  // name remapped. Usually empty (NULL in the plan's row: the path is read from the zip instead).
  std::string moved_to;
  bool new_run;  // the task run is new here: its dir gets the dump's files only

  // Relative to the data dir.
  std::string dest(const Dump& dump) const { return moved_to.empty() ? "data/" + dump.member(file).name : moved_to; }
};

// The run files to write, one row a file in a staging table of the dump (file_plan.h), in the
// order they were planned: a dump of any number of files holds none of them in memory.
struct FilePlan {
  std::string table;   // empty: nothing planned
  int64_t count = 0;   // files
  uint64_t bytes = 0;  // their declared sizes
  bool empty() const { return count == 0; }
};

struct ImportOutcome {
  std::vector<TableCounts> tables;  // in processing order
  FilePlan files;                   // files to write (existing runs: only files not yet here)
  std::vector<stdfs::path> new_run_dirs;
  bool changes = false;             // any row inserted or changed, any file to add
  // References that neither the dump nor the data dir satisfies: imported as they are.
  std::vector<DanglingReference> dangling;
  // The original's `-r` dumps: ids it replaced needlessly, given their pre-`-r` values back, per
  // "db.table" (import.md "The original's `-r` dumps"). The first validate() on a dump restores
  // them in its staging tables, so only its outcome counts them.
  std::vector<std::pair<std::string, int64_t>> restored_ids;
  int64_t counted(DbId db, std::string_view table) const;  // inserted + merged
  int64_t rows(DbId db, std::string_view table) const;
};

}  // namespace mdb
