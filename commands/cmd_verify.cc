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
#include "store/heal.h"
#include "store/verify.h"
#include "platform/zipfile.h"
#include "formats/zip_sums.h"

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
  std::unique_ptr<fs::OwnedTempDir> tmp = fs::scratch_temp_dir(kTempPrefix);
  uint64_t members = 0, bytes = 0;
  std::vector<std::string> dbs = database_paths();
  auto is_db = [&](const zip::Entry& e) { return std::find(dbs.begin(), dbs.end(), e.name) != dbs.end(); };
  // Members other than the databases are read (CRC, size) on worker threads (formats/zip_sums.h);
  // the databases here, in their turn.
  auto judge = [&](const zip::Entry& e, const zip::MemberSum* sum) {
    ++members;
    if (sum) {
      if (sum->error.empty())
        bytes += sum->size;
      else
        problems.push_back(sum->error);
      return;
    }
    try {
      stdfs::path copy = tmp->path() / ("db-" + std::to_string(members));
      fs::extract_member(zip, e, copy, 0600, false);
      bytes += e.size;
      sql::Db db = sql::Db::open_readonly(copy);
      std::string verdict = db.query_value("PRAGMA integrity_check").to_string();
      if (verdict != "ok") problems.push_back(e.name + ": SQLite integrity check failed: " + verdict);
    } catch (const Error& err) {
      problems.push_back(err.what());
    }
  };
  zip::judge_members(
      zip, [](const zip::Entry& e) { return !e.is_directory; }, [&](const zip::Entry& e) { return !is_db(e); }, judge);
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

// What verify_store found, with `lost` (snapshots a rebuild of the index lost): the counts,
// the notes, the problems. 1 when there are problems.
int report_verify(Context& ctx, const stdfs::path& dir, const store::VerifyReport& r,
                  const std::vector<std::string>& lost) {
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
  ctx.console.set("snapshots_checked", r.snapshots);
  ctx.console.set("packs_read_data", r.packs_read_data);
  ctx.console.set("unreferenced_packs", r.unreferenced_packs);
  ctx.console.set("notes", r.notes);
  for (const std::string& n : r.notes) ctx.console.warn("Note: " + n);
  std::vector<std::string> problems = r.problems;
  problems.insert(problems.end(), lost.begin(), lost.end());
  int rc = report_problems(ctx, problems);
  if (r.index_rebuild_helps) ctx.console.warn("The index is damaged." + advice(Remedy::RebuildIndex));
  return rc;
}

// The configured data dir, where damaged blobs are looked for ("" when none is configured).
stdfs::path live_data_dir(Context& ctx) {
  try {
    return ctx.locations().data_dir;
  } catch (const Error&) {
    return {};
  }
}

nlohmann::ordered_json uses_json(const std::vector<store::BlobUse>& uses) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const store::BlobUse& u : uses) out.push_back({{"snapshot", u.snapshot}, {"path", u.path}});
  return out;
}

// --repair: heals what verify found damaged (store/heal.h) and says, blob by blob, what became
// of it. 0 when every damaged blob was healed and the store checks whole again, else 1.
int heal(Context& ctx, store::Store& store, const store::VerifyReport& found, store::Reporter& reporter,
         std::string& repaired) {
  stdfs::path root = live_data_dir(ctx);
  store::HealReport h = store::heal_blobs(store, found.damaged, root, reporter);
  repaired = "The damaged blobs were healed or dropped from the index";
  nlohmann::ordered_json healed = nlohmann::ordered_json::array(), left = nlohmann::ordered_json::array();
  for (const store::HealedBlob& b : h.healed) {
    ctx.console.info("Healed blob " + b.id.hex() + ": stored it anew from " + (root / b.path).string() + ".");
    healed.push_back({{"blob", b.id.hex()}, {"path", (root / b.path).string()}});
  }
  for (const store::DamagedBlob& d : h.left) {
    std::string used;
    for (const store::BlobUse& u : d.uses) used += (used.empty() ? "" : ", ") + u.snapshot + ": " + u.path;
    ctx.console.warn("Could not heal blob " + d.id.hex() + " (" + d.why + "): no file in " +
                     (root.empty() ? std::string("the data directory") : root.string()) +
                     " has its content; dropped it from the index, so the next backup stores such content anew" +
                     (used.empty() ? std::string(" (no snapshot uses it)") : "; it was used by " + used) + ".");
    left.push_back({{"blob", d.id.hex()}, {"why", d.why}, {"uses", uses_json(d.uses)}});
  }
  if (!h.incomplete.empty()) {
    std::string names;
    for (const std::string& n : h.incomplete) names += (names.empty() ? "" : ", ") + n;
    ctx.console.warn("Snapshots left incomplete (they cannot be restored whole): " + names + ".");
  }
  store.reload();
  store::Reporter quiet;
  store::VerifyReport after = store::verify_store(store, store::VerifyOptions{}, quiet);
  ctx.console.set("healed", healed);
  ctx.console.set("unhealed", left);
  ctx.console.set("incomplete_snapshots", h.incomplete);
  ctx.console.set("problems_after_repair", after.problems);
  ctx.console.set("ok", after.problems.empty() && h.left.empty());
  std::string summary = "Healed " + std::to_string(h.healed.size()) + " of " + std::to_string(found.damaged.size()) +
                        " damaged blobs";
  if (after.problems.empty() && h.left.empty()) {
    ctx.console.info(summary + "; the store checks whole again.");
    return 0;
  }
  for (const std::string& p : after.problems) ctx.console.warn("Still a problem: " + p);
  ctx.console.info(summary + "; " + std::to_string(after.problems.size()) + " problems remain.");
  return 1;
}

int verify(Context& ctx, const VerifyOptions& opts, std::string& repaired) {
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
    ctx.console.set("repaired", {{"packs", r.packs}, {"blobs", r.blobs}, {"snapshots_found", r.snapshots},
                                 {"salvaged_blobs", r.salvaged_blobs}, {"salvaged", r.salvaged}});
    repaired = "The index was rebuilt";
  }
  if (opts.repair) store::Store(dir, store::Store::Mode::Read);  // a missing store is an error, never made
  store::Store store(dir, opts.repair ? store::Store::Mode::Exclusive : store::Store::Mode::Read, "verify --repair");
  store::VerifyOptions v;
  if (opts.read_data) v.read_data_percent = 100;
  if (opts.read_data_subset) v.read_data_percent = *opts.read_data_subset;
  store::VerifyReport r = store::verify_store(store, v, reporter);
  int rc = report_verify(ctx, dir, r, lost);
  if (!opts.repair) return rc;
  return heal(ctx, store, r, reporter, repaired);
}

}  // namespace

int run_verify(Context& ctx, const VerifyOptions& opts) {
  std::string repaired;  // what was changed, once something was
  try {
    recover_before_reading(ctx, DbCommand::Verify);
    return verify(ctx, opts, repaired);
  } catch (const interrupt::Interrupted& e) {
    if (repaired.empty()) throw e.with_outcome("the check stopped before it finished; nothing was changed.");
    repaired[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(repaired[0])));
    throw e.with_outcome(repaired + ", but the check stopped before it finished.");
  } catch (const Error& e) {
    throw finish(e, repaired.empty() ? "Nothing was changed." : repaired + "; nothing else was changed.");
  }
}

}  // namespace mdb
