// `mephisto db backup [--zip]` (cli.md, store.md): snapshots the data dir into the store.
#include <chrono>

#include "core/commands.h"
#include "core/journal.h"
#include "core/storeops.h"
#include "store/store.h"

namespace mdb::core {

int run_backup(Context& ctx, const BackupOptions& opts) {
  auto started = std::chrono::steady_clock::now();
  DataDir dir = prepare_data_dir(ctx);
  check_store_outside(dir, ctx.locations().store_dir);
  DataDirLock lock(dir, "backup");
  store::Store store(ctx.locations().store_dir, store::Store::Mode::Write, "backup");
  std::string name = store.unique_snapshot_name(timestamp_now() + "_mephisto_backup");
  store::BackupResult r = snapshot_data_dir(store, ctx.console, dir, name, "backup", nullptr);
  const store::SnapshotRecord& rec = r.snapshot.record;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  ctx.console.info("Finished successfully, saved to snapshot: " + name);
  ctx.console.info("Files: " + std::to_string(rec.files) + " (" + std::to_string(r.files_read) + " read, " +
                   std::to_string(rec.files - std::min(rec.files, r.files_read)) + " unchanged), bytes new: " +
                   human_bytes(r.bytes_new) + " (" + human_bytes(r.bytes_stored) + " stored), bytes deduplicated: " +
                   human_bytes(r.bytes_deduplicated));
  auto& j = ctx.console.result();
  j["ok"] = true;
  j["snapshot"] = name;
  j["id"] = r.snapshot.id.hex();
  j["store"] = store.dir().string();
  j["files"] = rec.files;
  j["dirs"] = rec.dirs;
  j["bytes"] = rec.bytes;
  j["files_read"] = r.files_read;
  j["bytes_new"] = r.bytes_new;
  j["bytes_deduplicated"] = r.bytes_deduplicated;
  j["bytes_stored"] = r.bytes_stored;
  j["seconds"] = seconds;
  (void)opts;
  return 0;
}

}  // namespace mdb::core
