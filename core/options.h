#pragma once
// The parsed options of each `mephisto db` command (cli.md). The CLI fills these; the
// commands in core read them.
#include <optional>
#include <string>
#include <vector>

#include "core/locations.h"

namespace mdb::core {

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

struct ImportOptions {
  std::string file;                                              // -f
  std::string conflict_resolver = "DefaultMergeConflictResolver";  // -cr
  std::vector<std::string> labels;                               // -l
  bool keep_import_metadata = false;                             // -k
  bool qualification_only = false;                               // -qo
  bool strict = false;                                           // --strict: refuse dangling references
  int verbosity = 0;                                             // -v
};

struct BackupOptions {
  bool zip = false;
  int verbosity = 0;
};

struct RestoreOptions {
  std::string file;                 // -f: snapshot name, id prefix or zip
  std::optional<std::string> only;  // --only PATH
  int verbosity = 0;
};

struct SnapshotsOptions {};

struct VerifyOptions {
  bool read_data = false;
  std::optional<double> read_data_subset;  // percent
  bool repair_index = false;
  std::optional<std::string> file;  // -f: a dump or backup zip
};

struct PruneOptions {
  std::optional<int> keep_last;            // user backups of each data dir
  std::optional<std::string> keep_within;  // user backups, e.g. 30d, 12h, 2w
  int keep_auto = 3;                       // automatic snapshots of each data dir
  bool dry_run = false;
};

}  // namespace mdb::core
