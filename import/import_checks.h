#pragma once
// The checks of a staged dump against the local databases (import.md "Checks"): metadata and
// `-qo`, tables and columns, duplicate keys, NOT NULL columns, which references resolve (in the
// dump or the data dir), project names as directory names, run files inside run dirs. A
// reference that nothing satisfies is no problem: it is listed as dangling. Reads only.
#include <vector>

#include "export/dangling.h"
#include "import/import_outcome.h"
#include "import/import_tables.h"

namespace mdb {

class ImportChecks {
 public:
  ImportChecks(Dump& dump, ImportTables& tables, const ImportSettings& settings);

  void check_metadata(Problems& problems);
  // Every dump table and column exists here, every table has its key.
  void check_tables(Problems& problems);
  void check_duplicates(Problems& problems);
  void check_not_null(Problems& problems);
  // Adds the references that neither the dump nor the data dir satisfies to `dangling`.
  void check_references(Problems& problems, std::vector<DanglingReference>& dangling);
  void check_project_dirs(Problems& problems);
  void check_files(Problems& problems);

 private:
  void check_reference(const ImportTable& t, const ImportRef& r, Problems& problems,
                       std::vector<DanglingReference>& dangling);

  Dump& dump_;
  ImportTables& tables_;
  const ImportSettings& settings_;
};

}  // namespace mdb
