#pragma once
// What an atomic change (datadir/journal.h) records about itself, durably, in two places: the
// journal marker in the data dir (`.mephisto-db/journal`, which the data dir's next command
// rolls back from) and the pin in the store (`pins/`, which keeps prune from forgetting the
// snapshot the rollback needs, docs/PRUNE.md). Both files hold this one record, encoded by
// encode() and read by decode(); each reader then asks for the field it relies on.
#include <optional>
#include <string>
#include <string_view>

namespace mdb::store {

struct ChangeRecord {
  std::string store;     // the store holding `snapshot` (the marker's reader opens it)
  std::string data_dir;  // the data dir being changed (the pin's reader looks for its marker)
  std::string snapshot;  // the data dir as it was before the change
  std::string command;   // "import", "restore", "export --delete-exported-data"
  long pid = 0;          // the process making the change
  std::string host;      // where that process runs: its pid means something only there
  std::string started;   // local time text, for messages

  // The record of a change `command` that this process begins now (pid, host, time filled).
  static ChangeRecord begun_here(std::string store, std::string data_dir, std::string snapshot, std::string command);

  // Pretty JSON, one key a line, newline at the end.
  std::string encode() const;
  // nullopt unless `text` is a JSON object with a string "snapshot". Fields written by no
  // version of us yet (or by older ones: markers had no "data_dir" or "host", pins no "store"
  // or "host") are empty; "command" defaults to "unknown command".
  static std::optional<ChangeRecord> decode(std::string_view text);

  // Whether `pid` may be asked about on this machine (a record without a host is from a version
  // that ran its changes only where the data dir is).
  bool on_this_host() const;
};

}  // namespace mdb::store
