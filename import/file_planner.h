#pragma once
// Where the dump's run files go (import.md "Run files"): a file follows its task run to the run's
// id here and its project's name here, and a dir named by a dump row's key (assignment, agent,
// onboarding agent) follows that row, all through the key map. A new run's dir gets the dump's
// files only; an existing run keeps its files and gains the dump's others.
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "import/import_dump.h"
#include "import/import_outcome.h"
#include "import/key_map.h"

namespace mdb {

class FilePlanner {
 public:
  // `data_dir`: where the existing runs' files are looked up.
  FilePlanner(Dump& dump, const KeyMap& keys, const stdfs::path& data_dir);
  // Fills out.files and out.new_run_dirs. Throws mdb::Error when a file would go to a path that is
  // not one directory name per component.
  void plan(ImportOutcome& out);

 private:
  static std::vector<std::string> parts_after_runs(const std::string& member);
  std::string mapped_dir(const std::string& table, const std::string& part);
  // The run dir and the path of the file `parts` (runs/<project>/<task run>/...) here, relative
  // to the data dir.
  std::pair<std::string, std::string> destination(const DumpFile& f, const RunFate& run,
                                                  std::vector<std::string> parts);

  Dump& dump_;
  const KeyMap& keys_;
  stdfs::path data_dir_;
  std::map<std::string, std::pair<std::string, std::string>> last_mapped_;  // table -> its last dir and where it goes
  std::pair<std::string, std::string> last_run_;  // the last project name and its run's dir
  int64_t last_run_id_ = 0;
};

}  // namespace mdb
