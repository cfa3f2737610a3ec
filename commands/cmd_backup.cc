// `mephisto db backup [--zip]` (cli.md, store.md): snapshots the data dir into the store;
// --zip also writes the snapshot as the original's backup zip.
#include <chrono>
#include <optional>

#include "commands/commands.h"
#include "commands/outcome.h"
#include "datadir/journal.h"
#include "datadir/storeops.h"
#include "platform/console.h"
#include "base/interrupt.h"
#include "store/snapshot_zip.h"
#include "store/store.h"
#include "platform/zipfile.h"

namespace mdb {

namespace {


// The first of NAME, NAME_2, ... that is neither a snapshot nor (with --zip) a backup zip;
// with --zip the zip's name is reserved in `zip_out`.
std::string pick_name(store::Store& store, const stdfs::path& backup_dir, bool zip,
                      std::unique_ptr<fs::ZipFileOutput>& zip_out) {
  std::string base = timestamp_now() + "_mephisto_backup";
  if (zip) {
    fs::mkdirs(backup_dir);
    fs::ZipFileOutput::remove_stale_partials(backup_dir);
  }
  for (int n = 1;; ++n) {
    std::string name = n == 1 ? base : base + "_" + std::to_string(n);
    if (store.has_snapshot(name)) continue;
    if (zip && !(zip_out = fs::ZipFileOutput::reserve(backup_dir / (name + ".zip")))) continue;
    return name;
  }
}

// The backup; `saved` is set once the snapshot is committed.
int back_up(Context& ctx, const BackupOptions& opts, std::optional<std::string>& saved) {
  auto started = std::chrono::steady_clock::now();
  ctx.console.echo_options(option_settings(opts));
  std::vector<std::string> tags = checked_tags(opts.tags);
  DataDir dir = prepare_data_dir(ctx, DbCommand::Backup);
  check_store_outside(dir, ctx.locations().store_dir);
  // Keeps import, restore and export -del out while we read. A data dir we may only read
  // (another user's, a read-only mount) is backed up without it.
  std::optional<DataDirLock> lock;
  try {
    lock.emplace(dir, "backup");
  } catch (const fs::IoError& e) {
    if (e.err() != EACCES && e.err() != EROFS && e.err() != EPERM) throw;
  }
  // An encrypted store's key is derived while the data dir is walked (docs/SECURITY.md).
  store::Store store(ctx.locations().store_dir, store::Store::Mode::Write, "backup", store::Store::Unlock::Meanwhile);
  std::unique_ptr<fs::ZipFileOutput> zip_out;
  stdfs::path backup_dir = ctx.locations().outputs_dir / "backup";
  std::string name = pick_name(store, backup_dir, opts.zip, zip_out);
  store::BackupResult r = snapshot_data_dir(store, ctx.console, dir, name, "backup", store::SnapshotKind::Backup, nullptr,
                                            tags);
  saved = name;
  const store::SnapshotRecord& rec = r.snapshot.record;

  // A file that kept changing while it was read is stored as its last read: the snapshot is
  // saved, but may hold it torn (exit 3, "finished with warnings", as restic does).
  size_t changed = r.changed_while_read.size();
  int exit_code = changed ? kExitWarnings : 0;
  if (changed)
    ctx.console.info("Finished with warnings, saved to snapshot: " + name + " (" + std::to_string(changed) +
                     (changed == 1 ? " file" : " files") + " changed while read, see the warnings above)");
  else
    ctx.console.info("Finished successfully, saved to snapshot: " + name);
  ctx.console.info("Files: " + std::to_string(rec.files) + " (" + std::to_string(r.files_read) + " read, " +
                   std::to_string(rec.files - std::min(rec.files, r.files_read)) +
                   " unchanged), bytes new: " + human_bytes(r.bytes_new) + " (" + human_bytes(r.bytes_stored) +
                   " stored), bytes deduplicated: " + human_bytes(r.bytes_deduplicated));
  ctx.console.set("ok", true);
  ctx.console.set("snapshot", name);
  ctx.console.set("id", r.snapshot.id.hex());
  ctx.console.set("store", store.dir().string());
  ctx.console.set("tags", rec.tags);
  ctx.console.set("files", rec.files);
  ctx.console.set("dirs", rec.dirs);
  ctx.console.set("bytes", rec.bytes);
  ctx.console.set("files_read", r.files_read);
  ctx.console.set("bytes_new", r.bytes_new);
  ctx.console.set("bytes_deduplicated", r.bytes_deduplicated);
  ctx.console.set("bytes_stored", r.bytes_stored);
  ctx.console.set("changed_while_read", r.changed_while_read);
  ctx.console.set("warnings", r.warnings);
  if (store.encrypted()) ctx.console.set("entries_before_key", r.entries_before_key);
  ctx.console.set("exit_code", exit_code);
  if (zip_out) {
    stdfs::path path = zip_out->target();
    ConsoleReporter reporter(ctx.console);
    store::write_snapshot_zip(store, rec, std::move(zip_out), reporter);
    ctx.console.info("Finished successfully, saved to file: " + path.string());
    ctx.console.set("zip", path.string());
  }
  ctx.console.set("timings", {{"total", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()}});
  return exit_code;
}

}  // namespace

int run_backup(Context& ctx, const BackupOptions& opts) {
  std::optional<std::string> saved;
  try {
    return back_up(ctx, opts, saved);
  } catch (const interrupt::Interrupted& e) {  // partial packs and zips have been removed
    if (saved)
      throw e.with_outcome("the backup was saved as snapshot " + *saved +
                           ", but the backup zip was not written (no partial zip was left).");
    throw e.with_outcome(
        "the backup was not saved; the store has no new snapshot (blobs it already stored are unreferenced: "
        "`mephisto db prune` removes them).");
  } catch (const Error& e) {  // partial packs and zips have been removed
    throw finish(e, saved ? "The backup was saved as snapshot " + *saved + ", but the backup zip was not written."
                          : "Nothing was changed.");
  }
}

}  // namespace mdb
