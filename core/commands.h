#pragma once
// The `mephisto db` commands. Each returns the process exit code or throws mdb::Error.
#include <optional>
#include <string>
#include <vector>

#include "core/console.h"
#include "core/locations.h"
#include "core/options.h"

namespace mdb::core {

struct Context {
  Context(GlobalOptions g, Console& c) : global(std::move(g)), console(c) {}
  GlobalOptions global;
  Console& console;
  // Resolved on first use, so usage errors never depend on the environment.
  const Locations& locations();

 private:
  std::optional<Locations> locations_;
};

int run_export(Context& ctx, const ExportOptions& opts);
int run_import(Context& ctx, const ImportOptions& opts);
int run_backup(Context& ctx, const BackupOptions& opts);
int run_restore(Context& ctx, const RestoreOptions& opts);
int run_snapshots(Context& ctx, const SnapshotsOptions& opts);
int run_verify(Context& ctx, const VerifyOptions& opts);
int run_prune(Context& ctx, const PruneOptions& opts);

// The options block ("Running command with the following options:", Console::echo_options) of
// import, backup and restore: the original's options in its order, then ours. Export's is
// export_option_settings (export_dump.h), which also fills the dump's export_options.
std::vector<OptionSetting> option_settings(const ImportOptions& o);
std::vector<OptionSetting> option_settings(const BackupOptions& o);
std::vector<OptionSetting> option_settings(const RestoreOptions& o);

// import and restore check -f after printing their options block, as the original does, with
// its words: "Option `-f/--file` is required." (a usage error, exit 2).
void require_file_option(const std::string& file);

// The exact command that makes the data dir snapshot `snapshot` again: `mephisto db restore -f
// NAME`, with the --data-dir/--outputs-dir/--store this run was given on its command line
// (absolute, shell-quoted when needed) so that it acts on the same data dir and store.
std::string restore_command(Context& ctx, const std::string& snapshot);

// Thrown by commands whose issue is still open.
[[noreturn]] void not_available_yet(const char* command);

}  // namespace mdb::core
