// `mephisto db verify [--read-data | --read-data-subset P] [--repair-index] [-f ZIP]`
// (store.md): checks the store, rebuilds its index, or checks a backup (or dump) zip.
#include <sqlite3.h>

#include "commands/commands.h"
#include "commands/outcome.h"
#include "datadir/journal.h"
#include "datadir/storeops.h"
#include "platform/console.h"
#include "dump/verify_dump.h"
#include "base/interrupt.h"
#include "platform/env.h"
#include "platform/temp_dir.h"
#include "store/verify.h"
#include "platform/zipfile.h"

namespace mdb {

namespace {

int report_problems(Context& ctx, const std::vector<std::string>& problems) {
  ctx.console.set("ok", problems.empty());
  ctx.console.set("problems", problems);
  for (const std::string& p : problems) ctx.console.warn("Problem: " + p);
  if (problems.empty()) {
    ctx.console.info("No problems found.");
    return 0;
  }
  ctx.console.info("Found " + std::to_string(problems.size()) + " problem" + (problems.size() > 1 ? "s" : "") + ".");
  return 1;
}

constexpr const char* kTempPrefix = ".mephisto-verify-";

// A backup zip: every member readable with its CRC and size as declared, every database an
// intact SQLite file. SQLite checks files, so the databases are checked from copies in a private
// temp dir of the cache dir: a zip can be checked on a machine with no data dir configured.
int verify_backup_zip(Context& ctx, const zip::Reader& zip) {
  std::vector<std::string> problems;
  const stdfs::path scratch = fs::cache_dir() / "tmp";
  fs::mkdirs(scratch);
  fs::sweep_abandoned(scratch, kTempPrefix);  // private temp dirs of killed verifies
  fs::OwnedTempDir tmp(scratch, kTempPrefix);
  uint64_t members = 0, bytes = 0;
  std::vector<std::string> dbs = database_paths();
  for (const zip::Entry& e : zip.entries()) {
    if (e.is_directory) continue;
    ++members;
    try {
      if (std::find(dbs.begin(), dbs.end(), e.name) == dbs.end()) {
        zip.stream(e, [&](std::string_view chunk) { bytes += chunk.size(); });
        continue;
      }
      stdfs::path copy = tmp.path() / ("db-" + std::to_string(members));
      fs::extract_member(zip, e, copy, 0600, false);
      bytes += e.size;
      sql::Db db = sql::Db::open_readonly(copy);
      std::string verdict = db.query_value("PRAGMA integrity_check").to_string();
      if (verdict != "ok") problems.push_back(e.name + ": SQLite integrity check failed: " + verdict);
    } catch (const Error& err) {
      problems.push_back(err.what());
    }
  }
  ctx.console.info("Checked the backup zip " + zip.path().string() + ": " + std::to_string(members) + " files, " +
                   human_bytes(bytes) + ".");
  ctx.console.set("zip", zip.path().string());
  ctx.console.set("files", members);
  return report_problems(ctx, problems);
}

int verify_zip(Context& ctx, const std::string& file) {
  stdfs::path path(file);
  std::error_code ec;
  // Only a name that is not a file here is looked up in the outputs dir, so a zip given by its
  // path needs no data dir configured.
  if (!stdfs::is_regular_file(path, ec))
    for (const char* sub : {"backup", "export"})
      if (stdfs::is_regular_file(ctx.locations().outputs_dir / sub / file, ec))
        path = ctx.locations().outputs_dir / sub / file;
  if (!stdfs::is_regular_file(path, ec)) throw Error("The file " + file + " does not exist.", ErrorKind::NotFound);
  zip::Reader zip(path);
  zip.validate(zip::Limits{});
  return zip.find("database.db") ? verify_backup_zip(ctx, zip) : report_problems(ctx, verify_dump_zip(ctx, zip));
}

int verify(Context& ctx, const VerifyOptions& opts, bool& repaired) {
  if (opts.file) return verify_zip(ctx, *opts.file);
  const stdfs::path& dir = ctx.locations().store_dir;
  ConsoleReporter reporter(ctx.console);
  std::vector<std::string> lost;  // by the repair: problems of this run only
  if (opts.repair_index) {
    store::RepairReport r = store::repair_index(dir, reporter);
    lost = r.lost_snapshots;
    for (const std::string& s : r.skipped) ctx.console.warn("Skipped: " + s);
    for (const std::string& s : r.salvaged) ctx.console.warn("Salvaged: " + s);
    ctx.console.info("Rebuilt the index of " + dir.string() + " from " + std::to_string(r.packs) +
                     " packs: " + std::to_string(r.blobs) + " blobs, " + std::to_string(r.snapshots) + " snapshots.");
    ctx.console.set("repaired", {{"packs", r.packs}, {"blobs", r.blobs}, {"snapshots", r.snapshots},
                                 {"salvaged_blobs", r.salvaged_blobs}, {"salvaged", r.salvaged}});
    repaired = true;
  }
  store::Store store(dir, store::Store::Mode::Read);
  store::VerifyOptions v;
  if (opts.read_data) v.read_data_percent = 100;
  if (opts.read_data_subset) v.read_data_percent = *opts.read_data_subset;
  store::VerifyReport r = store::verify_store(store, v, reporter);
  ctx.console.info(
      "Checked " + std::to_string(r.packs) + " packs, " + std::to_string(r.blobs) + " blobs, " +
      std::to_string(r.snapshots) + " snapshots (" + std::to_string(r.entries) + " entries)" +
      (r.packs_read_data ? "; re-hashed the blobs of " + std::to_string(r.packs_read_data) + " packs" : "") +
      (r.unreferenced_packs
           ? "; " + std::to_string(r.unreferenced_packs) + " unreferenced packs (`mephisto db prune` removes them)"
           : "") +
      ".");
  ctx.console.set("store", dir.string());
  ctx.console.set("packs", r.packs);
  ctx.console.set("blobs", r.blobs);
  ctx.console.set("snapshots", r.snapshots);
  ctx.console.set("packs_read_data", r.packs_read_data);
  ctx.console.set("unreferenced_packs", r.unreferenced_packs);
  ctx.console.set("notes", r.notes);
  for (const std::string& n : r.notes) ctx.console.warn("Note: " + n);
  r.problems.insert(r.problems.end(), lost.begin(), lost.end());
  int rc = report_problems(ctx, r.problems);
  if (r.index_rebuild_helps) ctx.console.warn("The index is damaged." + advice(Remedy::RebuildIndex));
  return rc;
}

}  // namespace

int run_verify(Context& ctx, const VerifyOptions& opts) {
  bool repaired = false;
  try {
    recover_before_reading(ctx, DbCommand::Verify);
    return verify(ctx, opts, repaired);
  } catch (const interrupt::Interrupted& e) {
    throw e.with_outcome(repaired ? "the index was rebuilt, but the check stopped before it finished."
                                  : "the check stopped before it finished; nothing was changed.");
  } catch (const Error& e) {
    throw finish(e, repaired ? "The index was rebuilt; nothing else was changed." : "Nothing was changed.");
  }
}

}  // namespace mdb
