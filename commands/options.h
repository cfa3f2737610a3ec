#pragma once
// The parsed options of each `mephisto db` command (cli.md). The CLI fills these; the
// commands read them. Export's and import's live beside their engines.
#include <optional>
#include <string>
#include <vector>

#include "datadir/locations.h"
#include "export/options.h"
#include "import/options.h"

namespace mdb {

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

struct LsOptions {
  std::string name;                 // a snapshot name or id prefix, as restore -f takes it
  std::optional<std::string> path;  // that entry and everything under it
  bool long_format = false;         // --long
};

struct FindOptions {
  std::string pattern;  // a glob over paths (commands/path_glob.h)
};

struct DiffOptions {
  std::string a, b;  // each a snapshot name or id prefix, a zip, or "now"
};

struct CopyOptions {
  std::string to;                  // --to STORE: a directory or s3://BUCKET[/PREFIX]
  std::vector<std::string> names;  // the snapshots to copy; all when empty
};

struct StatsOptions {
  std::optional<std::string> name;  // only this snapshot
};

struct VerifyOptions {
  bool read_data = false;
  std::optional<double> read_data_subset;  // percent
  bool repair_index = false;
  bool repair = false;              // --repair (with --read-data): heal damaged blobs
  std::optional<std::string> file;  // -f: a dump or backup zip
};

struct PruneOptions {
  std::optional<int> keep_last;            // user backups of each data dir
  std::optional<std::string> keep_within;  // user backups, e.g. 30d, 12h, 2w
  int keep_auto = 3;                       // automatic snapshots of each data dir
  bool dry_run = false;
};

}  // namespace mdb
