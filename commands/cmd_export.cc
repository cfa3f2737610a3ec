// `mephisto db export` (export.md): selection, the zip (JSON, Cap'n Proto, run files), the
// original's output lines, and -del through the shared atomic-change mechanism.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "commands/commands.h"
#include "commands/outcome.h"
#include "export/dangling.h"
#include "export/export_delete.h"
#include "export/export_dump.h"
#include "export/export_files.h"
#include "export/export_filters.h"
#include "datadir/journal.h"
#include "datadir/migrate.h"
#include "base/error.h"
#include "base/interrupt.h"
#include "platform/env.h"
#include "platform/temp_dir.h"
#include "platform/zipfile.h"

namespace mdb {

namespace {

namespace stdfs = std::filesystem;

constexpr std::string_view kTempPrefix = ".mephisto-export-";

std::string join_ids(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids) out += (out.empty() ? "" : ", ") + std::to_string(id);
  return out;
}

// The original's dump name: local time, YYYY_MM_DD_HH_MM_SS.
std::string local_stamp(time_t t) {
  struct tm local {};
  localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y_%m_%d_%H_%M_%S", &local);
  return buf;
}

struct Reserved {
  std::unique_ptr<fs::ZipFileOutput> output;
  std::string stem;
};

// The first free name of that second: STAMP, STAMP_2, STAMP_3, ... (cli.md: names never collide).
Reserved reserve_dump_name(const stdfs::path& dir, const std::string& stamp) {
  for (int n = 1; n < 100000; ++n) {
    std::string stem = stamp + "_mephisto_dump" + (n > 1 ? "_" + std::to_string(n) : "");
    if (auto out = fs::ZipFileOutput::reserve(dir / (stem + ".zip"))) return {std::move(out), stem};
  }
  throw Error("Cannot find a free dump name for " + stamp + " in " + dir.string() + ".", ErrorKind::Conflict);
}

// The Cap'n Proto member: the header (built when the zip gets to this member, after every file
// has been hashed), then the file records and the row batches written earlier.
class CapnpMemberInput : public FileInput {
 public:
  CapnpMemberInput(std::function<std::string()> head, std::vector<stdfs::path> parts)
      : FileInput({}, 0), head_fn_(std::move(head)), parts_(std::move(parts)) {}
  ~CapnpMemberInput() override { FileInput::close(); }
  std::optional<uint64_t> size() override { return total_; }
  void open() override {
    head_ = head_fn_();
    pos_ = 0;
    next_ = 0;
    total_ = head_.size();
    for (const stdfs::path& p : parts_) total_ += stdfs::file_size(p);
  }
  size_t read(char* buf, size_t n) override {
    if (pos_ < head_.size()) {
      size_t k = std::min(n, head_.size() - pos_);
      std::memcpy(buf, head_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    for (;;) {
      if (file_.valid()) {
        if (size_t got = FileInput::read(buf, n)) return got;
        FileInput::close();
      }
      if (next_ == parts_.size()) return 0;
      path_ = parts_[next_++];
      FileInput::open();
    }
  }

 private:
  std::function<std::string()> head_fn_;
  std::vector<stdfs::path> parts_;
  std::string head_;
  size_t pos_ = 0, next_ = 0;
  uint64_t total_ = 0;
};

struct ExportResult {
  stdfs::path zip;
  std::vector<int64_t> task_runs;
  uint64_t rows = 0, files = 0, bytes = 0;
  double rows_seconds = 0, files_seconds = 0;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Writes the dump of `sel` to a new zip in `out_dir`.
ExportResult write_dump(Context& ctx, Source& src, const Selection& sel, const ExportOptions& opts, const Remap* remap,
                        const stdfs::path& out_dir) {
  Console& con = ctx.console;
  ExportResult result;
  result.task_runs = sel.task_run_ids();
  time_t now = static_cast<time_t>(ctx.env.now_ns() / 1'000'000'000);
  std::string stamp = local_stamp(now);
  fs::mkdirs(out_dir);
  fs::ZipFileOutput::remove_stale_partials(out_dir);
  fs::sweep_abandoned(out_dir, std::string(kTempPrefix));  // private temp dirs of killed exports
  Reserved reserved = reserve_dump_name(out_dir, stamp);
  result.zip = reserved.output->target();
  fs::OwnedTempDir tmp(out_dir, std::string(kTempPrefix));

  DumpMetadata meta{read_migrations(src), &opts, stamp, remap};
  stdfs::path json_path = tmp.path() / (reserved.stem + ".json"), rows_path = tmp.path() / "rows.capnp",
              files_path = tmp.path() / "files.capnp";
  DumpRows rows;
  auto started = std::chrono::steady_clock::now();
  {
    Console::Progress progress(con, "Copying database records", con.progress_enabled() ? count_dump_rows(src, sel) : 0,
                               false);
    rows = write_dump_rows(src, sel, meta, opts.indent, json_path, rows_path, &progress);
  }
  result.rows = rows.rows;
  result.rows_seconds = seconds_since(started);
  started = std::chrono::steady_clock::now();
  con.info("Copying database records finished");

  zip::Writer zip(std::move(reserved.output), now);
  con.step("Compressing the records into the zip");
  zip.add_file(reserved.stem + ".json", std::make_unique<FileInput>(json_path, rows.json_size));
  RunFiles files(src, sel, remap, con);
  fs::File records_file = fs::File::create(files_path, /*exclusive=*/true);
  capnp_dump::StreamWriter records([&](std::string_view b) { records_file.write_all(b); });
  RunFiles::Measure total = con.progress_enabled() ? files.measure() : RunFiles::Measure{};
  Console::Progress progress(con, "Archiving data files", total.bytes, true, total.files);
  files.add_to(
      zip, [&](const capnp_dump::FileRecord& f) { records.file(f); }, &progress);
  auto head = [&] {
    records.finish();
    records_file.close();
    capnp_dump::Header h;
    h.dump_metadata = rows.metadata_json;
    h.json_member = reserved.stem + ".json";
    h.json_size = rows.json_size;
    h.json_hash = rows.json_hash;
    h.file_count = files.file_count();
    std::string bytes;
    capnp_dump::StreamWriter([&](std::string_view b) { bytes.append(b); }).header(h);
    return bytes;
  };
  con.step("Finishing the zip");
  zip.add_file(reserved.stem + ".capnp",
               std::make_unique<CapnpMemberInput>(head, std::vector<stdfs::path>{files_path, rows_path}));
  if (opts.verbosity > 0 && sel.kind() != DumpKind::QualificationsOnly) {
    con.info("Archiving data files started ...");
    con.info("Archiving data files for TaskRuns: " + join_ids(result.task_runs));
  }
  zip.commit();
  if (opts.verbosity > 0 && sel.kind() != DumpKind::QualificationsOnly) con.info("Archiving data files finished");
  result.files_seconds = seconds_since(started);
  result.files = files.file_count();
  result.bytes = files.total_bytes();
  return result;
}

Selection select(Source& src, const ExportRequest& req, bool unit_review_key) {
  switch (req.kind) {
    case DumpKind::Full:
      return Selection::full(src, unit_review_key);
    case DumpKind::Partial:
      return Selection::partial(src, req.run_ids);
    case DumpKind::QualificationsOnly:
      return Selection::qualifications(src, req.qualification_ids);
  }
  throw Error("internal: unknown dump kind");
}

// References the data dir itself cannot satisfy (left by the original's imports) stay in the
// dump as they are, so it imports as the data dir is (import.md).
void warn_dangling(Console& con, Source& src, const Selection& sel) {
  std::vector<DanglingReference> refs = dangling_in_selection(src, sel);
  report_dangling(con,
                  "Warning: " + std::to_string(refs.size()) + " reference" + (refs.size() == 1 ? "" : "s") +
                      " of the exported rows point at rows the data dir does not have; the dump keeps them as "
                      "they are:",
                  refs, kNotInDataDir);
}

// The export, inside `change` with -del; `saved` is set once the dump zip is in place.
int export_in(Context& ctx, const ExportOptions& opts, const DataDir& dir, AtomicChange* change,
              std::optional<stdfs::path>& saved) {
  Console& con = ctx.console;
  bool del = change != nullptr;
  DataDirMigration migration = migrate_data_dir(dir);
  // A migration is committed at once: undoing the change then takes the snapshot.
  if (change && !migration.notices.empty()) change->mark_irreversible();
  for (const std::string& notice : migration.notices) con.info(notice);
  const std::vector<std::string>& applied = migration.mephisto;
  bool unit_review_key = std::find(applied.begin(), applied.end(), kModifyQualifications) == applied.end();

  con.info("Started exporting data ...");
  Source src(dir, /*writable=*/del);
  sql::Transaction txn(src.conn(), del ? "BEGIN IMMEDIATE" : "BEGIN");  // one consistent view of every DB
  con.info("Copying database records ...");
  ExportRequest req = resolve_filters(src.conn(), opts);
  Selection sel = select(src, req, unit_review_key);
  check_project_dirs(src, sel);
  if (req.kind == DumpKind::Full) con.info("No filter for TaskRuns specified - exporting all TaskRuns.");
  if (req.kind == DumpKind::Partial) con.info("Run command for TaskRun IDs: " + join_ids(req.run_ids) + ".");
  warn_dangling(con, src, sel);
  std::optional<Remap> remap;
  if (opts.randomize_legacy_ids) remap.emplace(src, sel);

  ExportResult r = write_dump(ctx, src, sel, opts, remap ? &*remap : nullptr, ctx.locations().outputs_dir / "export");
  saved = r.zip;
  if (del) {
    con.info("Backing up your current data and removing exported data from local data ...");
    bool tasks = !opts.task_names.empty() || !opts.task_ids.empty();
    DeleteResult d = delete_exported(src, sel, req.run_ids, tasks, txn, *change, con);
    for (const std::string& note : d.notes) con.info(note);
    con.info("Backing up of your current data and removing of exported data finished");
    con.set("deleted", {{"rows", d.rows}, {"run_dirs", d.run_dirs}, {"snapshot", change->snapshot_name()}});
  } else {
    txn.commit();
  }

  con.info("Finished successfully, saved to file: " + r.zip.string());
  if (del) con.info("Created backup snapshot (just in case): " + change->snapshot_name());
  con.set("command", "export");
  con.set("file", r.zip.string());
  con.set("task_runs", r.task_runs.size());
  con.set("rows", r.rows);
  con.set("files", r.files);
  con.set("bytes", r.bytes);
  con.set("timings", {{"rows", r.rows_seconds}, {"files", r.files_seconds}, {"total", r.rows_seconds + r.files_seconds}});
  return 0;
}

// The export; `saved` is set once the dump zip is in place. -del: the snapshot and journal
// marker come first, so everything after (migrations included) is one atomic change; the
// exported rows are read and deleted in one write transaction.
int export_data(Context& ctx, const ExportOptions& opts, const DataDir& dir, std::optional<stdfs::path>& saved) {
  if (!opts.delete_exported) return export_in(ctx, opts, dir, nullptr, saved);
  if (!ctx.console.confirm()) return 1;
  AtomicChange change(ctx, dir, "export --delete-exported-data");
  return within(change, [&] { return export_in(ctx, opts, dir, &change, saved); });
}

// The export, saying what became of the data when a signal stops it.
int export_command(Context& ctx, const ExportOptions& opts, std::optional<stdfs::path>& saved) {
  ctx.console.echo_options(export_option_settings(opts));
  DataDir dir = prepare_data_dir(ctx, opts.delete_exported ? DbCommand::ExportDelete : DbCommand::Export);
  try {
    return export_data(ctx, opts, dir, saved);
  } catch (const interrupt::Interrupted& e) {  // everything in export_data has unwound, the change rolled back
    if (!opts.delete_exported)
      throw e.with_outcome("nothing was exported; no partial zip or temporary files were left.");
    if (!saved)
      throw e.with_outcome("nothing was exported or deleted; no partial zip or temporary files were left, and " +
                           data_dir_after_undo(dir) + ".");
    throw e.with_outcome("the dump was saved to " + saved->string() + ", but nothing was deleted: " +
                         data_dir_after_undo(dir) + ".");
  }
}

}  // namespace

int run_export(Context& ctx, const ExportOptions& opts) {
  std::optional<stdfs::path> saved;
  try {
    return export_command(ctx, opts, saved);
  } catch (const Error& e) {  // partial zips and temp dirs are gone; -del's change has been rolled back
    bool dump_saved = saved && opts.delete_exported;
    throw finish(e, dump_saved ? "The dump was written; nothing was deleted." : "Nothing was exported.");
  }
}

}  // namespace mdb
