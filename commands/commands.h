#pragma once
// The `mephisto db` commands. Each returns the process exit code or throws mdb::Error.
#include <optional>
#include <string>
#include <vector>

#include "commands/options.h"
#include "datadir/context.h"
#include "store/keys.h"

namespace mdb {

int run_export(Context& ctx, const ExportOptions& opts);
int run_import(Context& ctx, const ImportOptions& opts);
int run_backup(Context& ctx, const BackupOptions& opts);
int run_restore(Context& ctx, const RestoreOptions& opts);
int run_snapshots(Context& ctx, const SnapshotsOptions& opts);
int run_ls(Context& ctx, const LsOptions& opts);
int run_find(Context& ctx, const FindOptions& opts);
int run_diff(Context& ctx, const DiffOptions& opts);
int run_stats(Context& ctx, const StatsOptions& opts);
int run_copy(Context& ctx, const CopyOptions& opts);
int run_verify(Context& ctx, const VerifyOptions& opts);
int run_prune(Context& ctx, const PruneOptions& opts);
int run_forget(Context& ctx, const ForgetOptions& opts);
int run_key(Context& ctx, const KeyOptions& opts);
// Installs where this process takes a store's password from (store::set_key_access), by restic's
// conventions; checks the options (usage errors) first.
void install_password_sources(const PasswordOptions& opts);
// Installs --retry-lock (empty: no wait) and the command's name for every store lock this
// process takes (store::set_lock_settings); the one "waiting" line goes to the console.
void install_lock_settings(const std::string& retry_lock, bool no_lock, const std::string& command,
                           Console& console);
// copy's target (docs/COPY.md): its own sources (--to-password-file, --to-password-command,
// MEPHISTO_TO_PASSWORD_COMMAND, MEPHISTO_TO_PASSWORD_FILE, MEPHISTO_TO_PASSWORD), else the source's
// (the terminal asks naming the target). A new target is encrypted when --to-encrypt says so or the
// source is, plain when --to-no-encryption says so, else by the store's default (S3 yes, local no).
store::KeyAccess target_key_access(const PasswordOptions& to, bool source_encrypted);

// The options block ("Running command with the following options:", Console::echo_options) of
// import, backup and restore: the original's options in its order, then ours. Export's is
// export_option_settings (export_dump.h), which also fills the dump's export_options.
std::vector<OptionSetting> option_settings(const ImportOptions& o);
std::vector<OptionSetting> option_settings(const BackupOptions& o);
std::vector<OptionSetting> option_settings(const RestoreOptions& o);

// import and restore check -f after printing their options block, as the original does, with
// its words: "Option `-f/--file` is required." (a usage error, exit 2).
void require_file_option(const std::string& file);

// The --tag values, checked (a usage error names a bad one) and without repeats, in order.
std::vector<std::string> checked_tags(const std::vector<std::string>& tags);

}  // namespace mdb
