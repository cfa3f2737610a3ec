#pragma once
// The `mephisto db` commands. Each returns the process exit code or throws mdb::Error.
#include <optional>

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

// Thrown by commands whose issue is still open.
[[noreturn]] void not_available_yet(const char* command);

}  // namespace mdb::core
