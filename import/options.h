#pragma once
// The parsed options of `mephisto db import` (cli.md): the CLI fills them, the import reads them.
#include <optional>
#include <string>
#include <vector>

namespace mdb {

struct ImportOptions {
  std::string file;                                              // -f
  std::string conflict_resolver = "DefaultMergeConflictResolver";  // -cr
  std::vector<std::string> labels;                               // -l
  bool keep_import_metadata = false;                             // -k
  bool qualification_only = false;                               // -qo
  bool strict = false;                                           // --strict: refuse dangling references
  bool dry_run = false;                                          // --dry-run: plan and report, change nothing
  int verbosity = 0;                                             // -v
};

}  // namespace mdb
