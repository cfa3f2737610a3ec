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
  std::vector<std::string> tags;  // --tag, repeatable
  bool zip = false;
  int verbosity = 0;
};

struct RestoreOptions {
  std::string file;                 // -f: snapshot name, id prefix or zip
  std::optional<std::string> only;  // --only PATH
  std::optional<std::string> target;  // --target DIR: restore there, not into the data dir
  std::vector<std::string> tags;      // --tag: -f latest picks the newest with one of them
  bool dry_run = false;
  int verbosity = 0;
};

struct SnapshotsOptions {
  std::vector<std::string> tags;  // --tag: only snapshots with one of them
};

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

// Where a store's password comes from and whether a new store is encrypted (docs/SECURITY.md).
// Global options: every command that opens a store may need them.
struct PasswordOptions {
  std::optional<std::string> file;      // --password-file (else MEPHISTO_PASSWORD_FILE)
  std::optional<std::string> command;   // --password-command (else MEPHISTO_PASSWORD_COMMAND)
  std::optional<std::string> new_file;  // --new-password-file: key add, key passwd
  bool encrypt = false;                 // --encrypt: a new local store is encrypted
  bool no_encryption = false;           // --no-encryption: a new S3 store is not
};

struct CopyOptions {
  std::string to;                  // --to STORE: a directory or s3://BUCKET[/PREFIX]
  std::vector<std::string> names;  // the snapshots to copy; all when empty
  // The target's own password sources and encryption (--to-password-file, --to-password-command,
  // --to-encrypt, --to-no-encryption; env MEPHISTO_TO_PASSWORD*); new_file unused.
  PasswordOptions to_password;
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

struct KeyOptions {
  std::string action;  // list, add, remove, passwd
  std::string id;      // remove: the key id or a unique prefix
};

struct PruneOptions {
  // User backups of each data dir (store/keep_policy.h).
  std::optional<int> keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly;
  std::optional<std::string> keep_within;  // e.g. 30d, 12h, 2w
  std::vector<std::string> keep_tags;      // --keep-tag
  std::vector<std::string> tags;           // --tag: only snapshots with one of them are considered
  int keep_auto = 3;                       // automatic snapshots of each data dir
  bool dry_run = false;
};

struct ForgetOptions {
  std::vector<std::string> names;  // snapshot names
  bool dry_run = false;
};

}  // namespace mdb
