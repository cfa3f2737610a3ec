#pragma once
// The parsed options of `mephisto db export` (cli.md): the CLI fills them, the export reads them.
#include <optional>
#include <string>
#include <vector>

namespace mdb {

struct ExportOptions {
  std::vector<std::string> task_names;        // -tn
  std::vector<std::string> task_ids;          // -ti
  std::vector<std::string> task_run_ids;      // -tri
  std::optional<std::string> since_date;      // -trs
  std::vector<std::string> labels;            // -l
  bool delete_exported = false;               // -del
  bool randomize_legacy_ids = false;          // -r
  bool qualification_only = false;            // -qo
  std::vector<std::string> qualification_names;  // -qn
  int indent = 2;                             // -i
  int verbosity = 0;                          // -v
};

}  // namespace mdb
