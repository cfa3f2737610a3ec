// `mephisto db import -f FILE` (cli.md, import.md): one atomic change across the Mephisto DB, the
// provider datastores and the run files.
//
// 1. Everything that can be checked without writing is checked first, and nothing is locked or
//    snapshotted for a dump that is invalid or brings nothing new: the resolver, the file, the
//    zip, the rows against the local databases (read-only, see import_local.h), a dry run.
// 2. Then, after the prompt: AtomicChange (lock, snapshot, journal marker), the run files staged
//    (before any database is locked for writing), one SQLite transaction over all databases, the
//    staged files renamed into place, commit, marker removed.
#include <algorithm>
#include <chrono>
#include <random>

#include "commands/commands.h"
#include "commands/outcome.h"
#include "export/dangling.h"
#include "import/import_dump.h"
#include "import/import_engine.h"
#include "import/import_files.h"
#include "import/import_local.h"
#include "datadir/journal.h"
#include "import/resolver.h"
#include "base/error.h"
#include "base/interrupt.h"
#include "platform/env.h"

namespace mdb {

namespace {

// An absolute path; a relative path that exists from the current dir; else <outputs>/export/.
std::optional<stdfs::path> find_dump_file(Context& ctx, const stdfs::path& p) {
  if (fs::exists(p)) return stdfs::absolute(p);
  if (p.is_absolute()) return std::nullopt;
  stdfs::path in_exports = ctx.locations().outputs_dir / "export" / p;
  if (fs::exists(in_exports)) return in_exports;
  return std::nullopt;
}

// -f as find_dump_file; a NAME.json that is found nowhere means the dump NAME.zip, as the
// original's documentation writes it (`import --file 2024_01_01_00_00_01_mephisto_dump.json`).
stdfs::path resolve_dump_file(Context& ctx, const std::string& file) {
  stdfs::path p(file);
  if (auto found = find_dump_file(ctx, p)) return *found;
  if (p.extension() == ".json")
    if (auto found = find_dump_file(ctx, stdfs::path(p).replace_extension(".zip"))) return *found;
  std::string tried = p.is_absolute() ? "" : "nor " + (ctx.locations().outputs_dir / "export" / p).string();
  if (p.extension() == ".json") tried += std::string(tried.empty() ? "" : ", ") + "nor the same with .zip for .json";
  throw Error("Could not find dump file " + file + (tried.empty() ? "" : " (" + tried + ")") +
              ". Please specify the full path of an existing file, or only its name if it is in <outputs>/export.",
              ErrorKind::NotFound);
}

std::string qualification_counts(const ImportOutcome& o, bool counted) {
  auto n = [&](std::string_view t) { return std::to_string(counted ? o.counted(DbId::Mephisto, t) : o.rows(DbId::Mephisto, t)); };
  return n("workers") + " Workers, " + n("qualifications") + " Qualifications, " + n("granted_qualifications") +
         " GrantedQualifications";
}

void report_tables(Console& console, const ImportOutcome& o) {
  for (const TableCounts& c : o.tables)
    console.info("  " + std::string(db_spec(c.db).key) + "." + c.table + ": " + std::to_string(c.inserted) +
                 " inserted, " + std::to_string(c.merged) + " merged, " + std::to_string(c.remapped) +
                 " remapped (new ids), " + std::to_string(c.present) + " already present");
}

void json_tables(Console& console, const ImportOutcome& o) {
  nlohmann::ordered_json tables = nlohmann::ordered_json::array();
  for (const TableCounts& c : o.tables)
    tables.push_back({{"db", db_spec(c.db).key},
                      {"table", c.table},
                      {"rows", c.rows},
                      {"inserted", c.inserted},
                      {"merged", c.merged},
                      {"remapped", c.remapped},
                      {"present", c.present}});
  console.set("tables", tables);
}

// Every row of the dump is already here, unchanged by the resolver: nothing changes, exit 0.
int nothing_new(Console& console, const ImportOutcome& o, bool qualification_only) {
  std::string what = qualification_only ? qualification_counts(o, false)
                                        : std::to_string(o.rows(DbId::Mephisto, "task_runs")) + " TaskRuns";
  console.info("Nothing new to import: all " + what + " are already present");
  console.set("ok", true);
  console.set("nothing_new", true);
  json_tables(console, o);
  return 0;
}

// --strict: references that nothing satisfies are problems, listed in full under --json.
void refuse_dangling(Console& console, const std::vector<DanglingReference>& dangling, bool strict,
                     Problems& problems) {
  if (!strict || dangling.empty()) return;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const DanglingReference& d : dangling) {
    problems.add(d.sentence(kNotInDumpOrDataDir) + " (--strict refuses such a dump)");
    list.push_back(d.to_json());
  }
  console.set("dangling_references", std::move(list));
}

// Imported as they are (import.md "References that nothing satisfies").
void warn_dangling(Console& console, const std::vector<DanglingReference>& dangling) {
  size_t n = dangling.size();
  report_dangling(console,
                  "Warning: " + std::to_string(n) + " reference" + (n == 1 ? "" : "s") +
                      " of the dump point at rows that neither the dump nor the data dir has (the original's "
                      "partial dumps miss parent rows); imported as they are, --strict refuses such a dump:",
                  dangling, kNotInDumpOrDataDir);
}

// The original's -r dumps: the ids it replaced needlessly got their pre-`-r` values back.
void report_restored_ids(Console& console, const ImportOutcome& o) {
  if (o.restored_ids.empty()) return;
  int64_t total = 0;
  std::string tables;
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  for (const auto& [table, n] : o.restored_ids) {
    total += n;
    tables += (tables.empty() ? "" : ", ") + table + " " + std::to_string(n);
    json[table] = n;
  }
  console.info("Gave " + std::to_string(total) + " id" + (total == 1 ? "" : "s") +
               " back the value they had before the original's -r, which replaced them although they were "
               "not legacy ids (its pk_substitutions): " + tables + ".");
  console.set("restored_ids", std::move(json));
}

// --dry-run: the checks' plan, which the real import carries out (the same seed gives the same
// ids on an unchanged data dir). Nothing was locked, snapshotted or written.
int report_dry_run(Console& console, const ImportOutcome& o, bool qualification_only) {
  uint64_t bytes = o.files.bytes;
  console.info("Dry run: the import would change these tables:");
  report_tables(console, o);
  console.info("  files to add: " + std::to_string(o.files.count) + " (" + human_bytes(bytes) + ")");
  std::string what = qualification_only ? qualification_counts(o, true)
                                        : std::to_string(o.counted(DbId::Mephisto, "task_runs")) + " TaskRuns";
  console.info("Would import " + what + ". Dry run: nothing was changed.");
  console.set("ok", true);
  console.set("dry_run", true);
  console.set("task_runs", o.counted(DbId::Mephisto, "task_runs"));
  console.set("files", o.files.count);
  console.set("bytes", bytes);
  json_tables(console, o);
  return 0;
}

// Seconds since `start`, for the --json timings.
double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// What the checks found, and whether the databases changed since they read them.
struct Checked {
  Checked(const DataDir& dir, Dump& dump) : watch(dir, dump) {}
  LocalDbWatch watch;  // first: its baseline is taken before the checks read
  ImportOutcome plan;
};

struct Applied {
  ImportOutcome outcome;
  int64_t files = 0;
  std::string snapshot;
};

// Inside the change: the run files staged for `planned` (extracted while the snapshot was taken); then,
// holding the databases' write lock only for this, the checks again (unless no database changed since they
// read them: their verdict stands), the rows in one transaction over every database, the
// staged files renamed into place, commit. nullopt when, under the lock, nothing is new after
// all (the change is then rolled back). Adds the phases' seconds to `timings`.
std::optional<Applied> change_data_dir(Context& ctx, AtomicChange& change, const DataDir& dir, Dump& dump,
                                       const ImportSettings& settings, bool strict, Checked& checked,
                                       std::unique_ptr<StagedRunFiles> staged, const stdfs::path& zip_path,
                                       nlohmann::ordered_json& timings) {
  Console& console = ctx.console;
  ImportOutcome& planned = checked.plan;
  console.info("Started importing from dump file " + zip_path.string() + " ...");
  Applied applied;
  applied.snapshot = change.snapshot_name();
  auto started = std::chrono::steady_clock::now();
  staged->finish(console);
  timings["files"] = since(started);  // what the extraction took beyond the snapshot
  dump.release_memory();  // the zip is not read again unless the plan changes under the lock

  started = std::chrono::steady_clock::now();
  console.step("Writing the rows into the databases");
  WriteConnection w(dir, dump, change, !planned.dangling.empty());
  for (const std::string& notice : w.notices) console.info(notice);
  Importer importer(dump, w.db, settings, dir.root());
  Problems problems;
  bool again = !checked.watch.unchanged();
  console.set("checked_again", again);
  if (again)
    importer.validate(problems);  // under the lock: the databases changed since the checks
  else
    importer.validate_unchanged(planned.dangling);
  refuse_dangling(console, importer.dangling(), strict, problems);
  problems.throw_if_any(dump.file_name());
  applied.outcome = importer.run(true);
  if (!applied.outcome.changes) return std::nullopt;
  if (w.foreign_keys_off) check_foreign_keys(w, dump, applied.outcome.dangling);
  if (!staged->staged_for(applied.outcome)) {
    staged.reset();  // its thread is done: the next one may use the dump
    staged = std::make_unique<StagedRunFiles>(dir, dump, applied.outcome.files, applied.outcome.new_run_dirs);
    staged->stage(console);
  }
  interrupt::check();  // the last point where a signal stops the import: from here it runs to the end
  console.step("Moving the run files into place and committing");
  applied.files = staged->place(change);
  w.commit();
  timings["locked"] = since(started);  // how long other writers of the databases had to wait
  change.commit();
  return applied;
}

// The run files' extraction for the checks' plan, started once the data dir is locked (stale
// staging swept first) and run while the snapshot is taken.
struct ExtractionBeside : BesideSnapshot {
  ExtractionBeside(Context& ctx, const DataDir& dir, Dump& dump, ImportOutcome& plan)
      : ctx(ctx), dir(dir), dump(dump), plan(plan) {}
  void start() override {
    remove_stale_import_staging(dir);
    staged = std::make_unique<StagedRunFiles>(dir, dump, std::move(plan.files), std::move(plan.new_run_dirs));
    if (fs::env().numbers_writes())
      staged->stage(ctx.console);  // before the snapshot: the same order of writes in every run
    else
      staged->start();
  }
  void stop() noexcept override { staged.reset(); }
  bool running() const noexcept override { return staged && staged->running(); }

  Context& ctx;
  const DataDir& dir;
  Dump& dump;
  ImportOutcome& plan;
  std::unique_ptr<StagedRunFiles> staged;
};

// Lock, then the run files' extraction started while the snapshot and journal marker are made,
// then the change (change_data_dir), rolled back unless it commits.
std::optional<Applied> apply(Context& ctx, const DataDir& dir, Dump& dump, const ImportSettings& settings,
                             bool strict, Checked& checked, const stdfs::path& zip_path,
                             nlohmann::ordered_json& timings) {
  fs::mkdirs(dir.root());
  dump.release_memory();
  auto started = std::chrono::steady_clock::now();
  ExtractionBeside extraction(ctx, dir, dump, checked.plan);
  AtomicChange change(ctx, dir, "import", &extraction);
  timings["snapshot"] = since(started);
  return within(change, [&] {
    return change_data_dir(ctx, change, dir, dump, settings, strict, checked, std::move(extraction.staged), zip_path,
                           timings);
  });
}

int import_dump(Context& ctx, const ImportOptions& opts, const ConflictResolver& resolver, const stdfs::path& zip_path,
                const DataDir& dir) {
  auto started = std::chrono::steady_clock::now();
  Console& console = ctx.console;

  ImportSettings settings;
  settings.resolver = &resolver;
  settings.labels = opts.labels.empty() ? std::vector<std::string>{default_label(zip_path.filename().string())}
                                        : opts.labels;
  settings.keep_import_metadata = opts.keep_import_metadata;
  settings.qualification_only = opts.qualification_only;
  settings.id_seed = std::random_device{}();
  console.set("file", zip_path.string());

  // 1. Checks and dry run: reads only.
  console.step("Checking the dump");
  Problems problems;
  Dump dump(zip_path, fs::exists(dir.root()) ? dir.root() : dir.root().parent_path(), console, problems);
  console.set("rows_from", dump.from_capnp() ? "capnp" : "json");
  if (dump.capnp_rejected()) console.set("rows_from_reason", *dump.capnp_rejected());
  Checked checked(dir, dump);
  ImportOutcome& dry = checked.plan;
  {
    sql::Db view = open_for_reading(dir, dump);
    Importer check(dump, view, settings, dir.root());
    check.validate(problems);
    refuse_dangling(console, check.dangling(), opts.strict, problems);
    problems.throw_if_any(dump.file_name());
    dry = check.run(false);
  }
  if (!dry.changes) {
    report_restored_ids(console, dry);
    return nothing_new(console, dry, opts.qualification_only);
  }
  warn_dangling(console, dry.dangling);
  if (opts.dry_run) {
    report_restored_ids(console, dry);
    return report_dry_run(console, dry, opts.qualification_only);
  }
  // The timings are collected here and stored whole: the result is never written through a
  // reference (AtomicChange adds keys to it, which moves the values already there).
  nlohmann::ordered_json timings = {{"checks", since(started)}};
  console.set("timings", timings);
  if (!console.confirm()) return 1;

  // 2. The atomic change. Every failure in it has been rolled back (within()) when it reaches the catch.
  std::optional<Applied> applied = apply(ctx, dir, dump, settings, opts.strict, checked, zip_path, timings);
  if (!applied) return nothing_new(console, dry, opts.qualification_only);  // imported meanwhile by another
  const ImportOutcome& done = applied->outcome;
  timings["total"] = since(started);
  console.set("timings", timings);

  if (opts.verbosity >= 1) report_tables(console, done);
  report_restored_ids(console, dry);  // the checks restored them in the staged dump, once
  if (opts.qualification_only)
    console.info("Finished successfully. Imported " + qualification_counts(done, true));
  else
    console.info("Finished successfully. Imported " + std::to_string(done.counted(DbId::Mephisto, "task_runs")) +
                 " TaskRuns");
  console.set("ok", true);
  console.set("snapshot", applied->snapshot);
  console.set("task_runs", done.counted(DbId::Mephisto, "task_runs"));
  console.set("files", applied->files);
  json_tables(console, done);
  return 0;
}

int import_command(Context& ctx, const ImportOptions& opts) {
  ctx.console.echo_options(option_settings(opts));
  require_file_option(opts.file);
  ConflictResolver resolver = ConflictResolver::from_option(opts.conflict_resolver);
  stdfs::path zip_path = resolve_dump_file(ctx, opts.file);
  DataDir dir = prepare_data_dir(ctx, DbCommand::Import);
  try {
    return import_dump(ctx, opts, resolver, zip_path, dir);
  } catch (const interrupt::Interrupted& e) {  // the change, if it began, has been rolled back
    throw e.with_outcome("nothing was imported; " + data_dir_after_undo(dir) + ".");
  }
}

}  // namespace

int run_import(Context& ctx, const ImportOptions& opts) {
  try {
    return import_command(ctx, opts);
  } catch (const Error& e) {  // a change that began has been rolled back
    throw finish(e, "Nothing was imported.");
  }
}

}  // namespace mdb
