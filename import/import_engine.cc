#include "import/import_engine.h"

#include "import/file_planner.h"
#include "import/import_checks.h"
#include "import/import_repair.h"
#include "import/imported_data.h"
#include "import/row_merger.h"

namespace mdb {

Importer::Importer(Dump& dump, sql::Db& local, const ImportSettings& settings, const stdfs::path& data_dir)
    : dump_(dump), db_(local), settings_(settings), data_dir_(data_dir), tables_(dump, local) {}

Importer::~Importer() = default;

void Importer::validate(Problems& problems) {
  ImportChecks checks(dump_, tables_, settings_);
  checks.check_metadata(problems);
  checks.check_tables(problems);
  if (!problems.empty()) return;  // later checks rely on the tables and columns being known
  checks.check_duplicates(problems);
  checks.check_not_null(problems);
  ImportRepair(dump_, tables_, keys_).run(restored_ids_);
  checks.check_references(problems, dangling_);
  checks.check_project_dirs(problems);
  checks.check_files(problems);
}

void Importer::validate_unchanged(std::vector<DanglingReference> dangling) {
  ImportRepair(dump_, tables_, keys_).run(restored_ids_);
  dangling_ = std::move(dangling);
}

ImportOutcome Importer::run(bool write) {
  ImportOutcome out;
  out.dangling = dangling_;
  out.restored_ids = restored_ids_;
  ImportedDataWriter imported(dump_, db_, tables_, keys_, settings_);
  RowMerger merger(dump_, db_, tables_, keys_, settings_, imported);
  for (DumpTable* dt : tables_.ordered()) out.tables.push_back(merger.run_table(tables_.info(*dt), write));
  if (write) merger.set_deferred_references();
  FilePlanner(dump_, keys_, data_dir_).plan(out);
  for (const TableCounts& c : out.tables) out.changes = out.changes || c.inserted > 0 || c.merged > 0;
  out.changes = out.changes || !out.files.empty();
  if (write && out.changes) imported.write();
  return out;
}

}  // namespace mdb
