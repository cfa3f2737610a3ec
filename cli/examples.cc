#include "cli/examples.h"

namespace mdb {

const std::map<std::string, std::string>& command_examples() {
  static const std::map<std::string, std::string> examples = {
      {"export", "mephisto db export --export-tasks-by-names image_labeling --export-indent 0"},
      {"import", "mephisto db import -f 2026_12_05_04_23_35_mephisto_dump.zip --labels batch_A"},
      {"backup", "mephisto db backup --zip"},
      {"restore", "mephisto db restore -f 2026_12_05_04_23_35_mephisto_backup --only data/runs/1"},
      {"snapshots", "mephisto --json db snapshots"},
      {"verify", "mephisto db verify --read-data-subset 10"},
      {"prune", "mephisto db prune --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --dry-run"},
      {"copy", "mephisto db copy --to s3://lab-backups/server1 2026_12_05_04_23_35_mephisto_backup"},
      {"forget", "mephisto db forget 2026_12_05_04_23_35_mephisto_backup --dry-run"},
      {"key", "mephisto --password-file ~/.mdb-pw db key add --new-password-file ~/.mdb-pw-2"},
  };
  return examples;
}

}  // namespace mdb
