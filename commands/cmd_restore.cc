// `mephisto db restore -f NAME_OR_FILE [--only PATH] [--target DIR] [--dry-run]` (cli.md, store.md):
// makes the data dir exactly a snapshot (or a backup zip), after snapshotting the current data,
// with an atomic swap of a fully built and verified staging tree; or fills another, empty
// directory (--target); or says what it would change (--dry-run).
#include <algorithm>
#include <memory>
#include <optional>

#include "commands/commands.h"
#include "commands/outcome.h"
#include "commands/snapshot_view.h"
#include "datadir/journal.h"
#include "datadir/storeops.h"
#include "base/interrupt.h"
#include "formats/safe_path.h"
#include "formats/zip.h"
#include "platform/env.h"
#include "store/restore.h"
#include "store/restore_plan.h"
#include "store/store.h"

namespace mdb {

namespace {

constexpr int kExitWarnings = 3;  // docs/EXIT_CODES.md

struct Source {
  std::optional<std::string> snapshot;  // a snapshot name, or
  stdfs::path zip;                      // a backup zip
};

std::optional<store::SnapshotInfo> find_in_store(Context& ctx, const std::string& spec) {
  const stdfs::path& dir = ctx.locations().store_dir;
  if (!store::Store::exists(dir)) return std::nullopt;
  store::Store store(dir, store::Store::Mode::Read);
  return store.find_snapshot(spec);
}

// " Did you mean ...?" for a snapshot name that is not in the store, or "".
std::string suggestions(Context& ctx, const std::string& spec) {
  const stdfs::path& dir = ctx.locations().store_dir;
  if (!store::Store::exists(dir)) return "";
  store::Store store(dir, store::Store::Mode::Read);
  return did_you_mean(store, spec);
}

bool has_any_tag(const store::SnapshotRecord& r, const std::vector<std::string>& tags) {
  return tags.empty() || std::any_of(tags.begin(), tags.end(), [&](const std::string& t) { return r.has_tag(t); });
}

std::string tag_list(const std::vector<std::string>& tags) {
  std::string out;
  for (const std::string& t : tags) out += (out.empty() ? "" : " or ") + t;
  return out;
}

// `-f latest` (when no snapshot is named so), with --tag.
std::optional<std::string> latest(Context& ctx, const std::vector<std::string>& tags) {
  const stdfs::path& dir = ctx.locations().store_dir;
  if (!store::Store::exists(dir)) return std::nullopt;
  store::Store store(dir, store::Store::Mode::Read);
  if (auto snap = latest_backup(store, tags, live_data_dir(ctx))) return snap->name;
  return std::nullopt;
}

// A snapshot name or unique id prefix; else a zip (as given, or in <outputs>/backup/);
// else NAME.zip naming a snapshot NAME; `latest` as latest() says. With --tag, a snapshot
// must have one of the tags.
Source resolve_source(Context& ctx, const std::string& spec, const std::vector<std::string>& tags) {
  if (auto snap = find_in_store(ctx, spec)) {
    if (!has_any_tag(snap->record, tags))
      throw Error("The snapshot " + snap->name + " has not the tag " + tag_list(tags) + ".", ErrorKind::NotFound);
    return Source{snap->name, {}};
  }
  if (spec == "latest") {
    if (auto name = latest(ctx, tags)) return Source{*name, {}};
    throw Error("There is no backup" + (tags.empty() ? "" : " with the tag " + tag_list(tags)) + " in the store " +
                    ctx.locations().store_dir.string() + ", so -f latest names none.",
                ErrorKind::NotFound);
  }
  if (!tags.empty())
    throw UsageError("--tag " + tag_list(tags) + " applies to snapshots (and -f latest), not to the file " + spec + ".");
  stdfs::path given(spec);
  std::error_code ec;
  for (const stdfs::path& p : {given, ctx.locations().outputs_dir / "backup" / given})
    if (stdfs::is_regular_file(p, ec)) return Source{std::nullopt, stdfs::absolute(p)};
  if (given.extension() == ".zip")
    if (auto snap = find_in_store(ctx, given.stem().string())) return Source{snap->name, {}};
  throw Error("Could not find a snapshot or backup file named " + spec +
              ": it is not a snapshot name or id prefix in "
              "the store " +
              ctx.locations().store_dir.string() + ", and neither " + spec + " nor " +
              (ctx.locations().outputs_dir / "backup" / given).string() +
              " exists." + suggestions(ctx, spec) + " `mephisto db snapshots` lists the snapshots.",
              ErrorKind::NotFound);
}

std::optional<std::string> normalize_only(const std::optional<std::string>& only) {
  if (!only) return std::nullopt;
  std::string p = stdfs::path(*only).lexically_normal().generic_string();
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (std::string problem = relative_path_problem(p); !problem.empty())
    throw UsageError("--only " + *only + ": the path " + problem +
                     "; give a path relative to the data directory, without '..'.");
  if (p == kMetaDirName || p.rfind(std::string(kMetaDirName) + "/", 0) == 0)
    throw UsageError("--only " + *only + ": " + kMetaDirName + "/ is mephisto-db's own folder; it is never restored.");
  return p;
}

// A backup zip, checked before anything is written: every member safe (no `..`, absolute
// paths, symlinks, duplicates, oversize), and a database.db at its top level.
std::unique_ptr<zip::Reader> open_backup_zip(const stdfs::path& path, const DataDir& dir) {
  auto reader = std::make_unique<zip::Reader>(path);
  zip::Limits limits;
  limits.extract_to = fs::exists(dir.root()) ? dir.root() : dir.root().parent_path();
  reader->validate(limits);
  if (!reader->find("database.db"))
    throw Error(path.string() +
                " is not a Mephisto backup: it has no database.db at its top level (a dump zip is "
                "imported with `mephisto db import`).",
                ErrorKind::Damaged);
  return reader;
}

std::unique_ptr<store::TreeSource> open_source(store::Store* store, const Source& src, const zip::Reader* zip,
                                               const std::optional<std::string>& only) {
  if (zip) return std::make_unique<store::ZipSource>(*zip, std::vector<std::string>{kMetaDirName}, only, fs::env().now_ns());
  auto snap = store->find_snapshot(*src.snapshot);
  if (!snap) throw Error("The snapshot " + *src.snapshot + " disappeared from the store.", ErrorKind::NotFound);
  return std::make_unique<store::SnapshotSource>(*store, snap->record, only);
}

// Missing, or holding nothing but our own folder.
bool is_empty(const DataDir& dir) {
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir.root(), ec))
    if (e.path().filename() != kMetaDirName) return false;
  return true;
}

// Removes a data dir this restore created when the restore fails.
struct CreatedRoot {
  stdfs::path path;
  bool active = false;
  ~CreatedRoot() {
    if (!active) return;
    try {
      fs::remove_tree(path);
    } catch (const Error&) {
      // A destructor cannot report; the restore's own error says what failed.
    }
  }
};

int restore(Context& ctx, const RestoreOptions& opts, const DataDir& dir) {
  check_store_outside(dir, ctx.locations().store_dir);
  std::optional<std::string> only = normalize_only(opts.only);
  Source src = resolve_source(ctx, opts.file, checked_tags(opts.tags));
  std::unique_ptr<zip::Reader> zip = src.snapshot ? nullptr : open_backup_zip(src.zip, dir);
  if (fs::exists(dir.root())) store::refuse_mounts_inside(dir.root());
  // --target changes nothing that exists: no question to ask.
  if (!opts.target && !ctx.console.confirm()) return 1;
  ctx.console.info(src.snapshot ? "Started restoring from snapshot " + *src.snapshot + " ..."
                                : "Started restoring from backup " + src.zip.string() + " ...");

  CreatedRoot created_root{dir.root(), !fs::exists(dir.root())};
  if (created_root.active) fs::mkdirs(dir.root());
  // An empty data dir has nothing to save first: the restore then only reads the store (it
  // runs alongside a backup, from a read-only store), or needs none for a zip.
  bool empty = is_empty(dir);
  std::optional<DataDirLock> lock;
  if (empty) lock.emplace(dir, "restore");
  std::optional<store::Store> store;
  if (src.snapshot || !empty)
    store.emplace(ctx.locations().store_dir, empty ? store::Store::Mode::Read : store::Store::Mode::Write, "restore");
  ExclusiveDbLocks locks(dir);
  std::unique_ptr<store::TreeSource> source = open_source(store ? &*store : nullptr, src, zip.get(), only);
  store::Staging staging(dir.root(), kMetaDirName);
  ConsoleReporter reporter(ctx.console);
  store::BuildStats stats = store::build_tree(*source, staging.path(), reporter);
  if (only && !fs::exists(staging.path() / *only))
    throw Error(*only + " is not in " + (src.snapshot ? "snapshot " + *src.snapshot : src.zip.string()) +
                ".", ErrorKind::NotFound);

  // A signal stops the restore up to here and during the snapshot of the current data; once
  // that is saved, the swap runs to the end.
  interrupt::check();
  auto swap = [&] {
    if (only)
      store::swap_path(dir.root(), staging, *only);
    else
      store::swap_tree(dir.root(), staging, kMetaDirName, source->root_owner());
  };
  if (empty) {
    swap();
  } else {
    AtomicChange change(ctx, dir, "restore", *store, locks);
    change.mark_irreversible();
    within(change, [&] {
      swap();
      change.commit();
    });
  }
  created_root.active = false;
  // The replaced tree goes into our trash first, so a kill while deleting it (minutes for a
  // big data dir) leaves it for the next command to finish, not for the user to find.
  discard_replaced_tree(ctx.console, staging, dir);

  // An entry that could not be made as recorded (a device node, not as root): the rest is
  // restored, the warnings above name each (exit 3, "finished with warnings", like backup).
  size_t skipped = stats.warnings.size();
  int exit_code = skipped ? kExitWarnings : 0;
  if (skipped)
    ctx.console.info("Finished with warnings (" + std::to_string(skipped) + (skipped == 1 ? " entry" : " entries") +
                     " not restored, see the warnings above)");
  else
    ctx.console.info("Finished successfully");
  ctx.console.set("ok", true);
  if (src.snapshot)
    ctx.console.set("snapshot", *src.snapshot);
  else
    ctx.console.set("zip", src.zip.string());
  if (only) ctx.console.set("only", *only);
  if (opts.target) ctx.console.set("target", dir.root().string());
  ctx.console.set("files", stats.files);
  ctx.console.set("dirs", stats.dirs);
  ctx.console.set("symlinks", stats.symlinks);
  ctx.console.set("hard_links", stats.hard_links);
  ctx.console.set("special_files", stats.special_files);
  ctx.console.set("bytes", stats.bytes);
  ctx.console.set("blobs_decoded_ahead", source->blobs_decoded_ahead());
  ctx.console.set("warnings", stats.warnings);
  ctx.console.set("exit_code", exit_code);
  return exit_code;
}

void list_changes(Console& console, const char* sign, const std::vector<store::RestorePlan::Change>& list) {
  for (const store::RestorePlan::Change& c : list) console.info(std::string("  ") + sign + " " + c.path);
}

// As `diff now SOURCE` gives its `changes` (docs/JSON.md): path (a directory with '/'), change,
// type, size_before, size_after (null where there is no file).
void add_changes_json(nlohmann::ordered_json& out, const char* change,
                      const std::vector<store::RestorePlan::Change>& list) {
  auto size = [](const std::optional<uint64_t>& n) { return n ? nlohmann::ordered_json(*n) : nlohmann::ordered_json(); };
  for (const store::RestorePlan::Change& c : list) {
    bool file = c.kind == store::EntryKind::File || c.kind == store::EntryKind::HardLink;
    std::optional<uint64_t> after;
    if (std::string(change) != "removed" && file) after = c.bytes;
    out.push_back({{"path", c.kind == store::EntryKind::Directory ? c.path + "/" : c.path},
                   {"change", change},
                   {"type", type_name(c.kind)},
                   {"size_before", size(c.before)},
                   {"size_after", size(after)}});
  }
}

// --dry-run: the restore's source compared with the directory it would replace
// (store/restore_plan.h); nothing is locked, snapshotted or written.
int restore_dry_run(Context& ctx, const RestoreOptions& opts, const DataDir& dir) {
  std::optional<std::string> only = normalize_only(opts.only);
  Source src = resolve_source(ctx, opts.file, checked_tags(opts.tags));
  std::unique_ptr<zip::Reader> zip = src.snapshot ? nullptr : open_backup_zip(src.zip, dir);
  std::optional<store::Store> store;
  if (src.snapshot) store.emplace(ctx.locations().store_dir, store::Store::Mode::Read);
  std::unique_ptr<store::TreeSource> source = open_source(store ? &*store : nullptr, src, zip.get(), only);
  store::RestorePlan plan = store::plan_restore(*source, dir.root(), kMetaDirName, only, src.snapshot.has_value());
  Console& c = ctx.console;
  std::string from = src.snapshot ? "snapshot " + *src.snapshot : src.zip.string();
  c.info("Restoring " + from + " into " + dir.root().string() + " would add " + std::to_string(plan.added.size()) +
         " entries (" + human_bytes(plan.bytes(plan.added)) + "), remove " + std::to_string(plan.removed.size()) +
         " (" + human_bytes(plan.bytes(plan.removed)) + ") and change " + std::to_string(plan.changed.size()) + " (" +
         human_bytes(plan.bytes(plan.changed)) + ").");
  if (opts.verbosity >= 1) {
    list_changes(c, "+", plan.added);
    list_changes(c, "-", plan.removed);
    list_changes(c, "M", plan.changed);
  }
  c.info("Dry run: nothing was changed.");
  c.set("ok", true);
  c.set("dry_run", true);
  if (src.snapshot)
    c.set("snapshot", *src.snapshot);
  else
    c.set("zip", src.zip.string());
  if (only) c.set("only", *only);
  if (opts.target) c.set("target", dir.root().string());
  c.set("bytes_added", plan.bytes(plan.added));
  c.set("bytes_removed", plan.bytes(plan.removed));
  c.set("bytes_changed", plan.bytes(plan.changed));
  nlohmann::ordered_json changes = nlohmann::ordered_json::array();
  add_changes_json(changes, "added", plan.added);
  add_changes_json(changes, "removed", plan.removed);
  add_changes_json(changes, "changed", plan.changed);
  c.set("changes", std::move(changes));
  return 0;
}

// --target DIR: a new or empty directory outside the data dir and the store. The data dir
// itself is not looked at: not recovered, locked, checked or snapshotted.
DataDir target_dir(Context& ctx, const std::string& target) {
  std::error_code ec;
  stdfs::path t = stdfs::weakly_canonical(stdfs::absolute(target), ec);
  if (ec) t = stdfs::absolute(target).lexically_normal();
  if (std::string live = live_data_dir(ctx); !live.empty()) {
    stdfs::path canon = stdfs::weakly_canonical(live, ec);
    stdfs::path rel = t.lexically_relative(ec ? stdfs::path(live) : canon);
    if (!rel.empty() && *rel.begin() != "..")
      throw UsageError("--target " + target + " is the data directory " + live +
                       " or inside it; restore --target never touches the data directory. Choose a directory "
                       "outside it (or restore without --target).");
  }
  if (fs::exists(t)) {
    if (!stdfs::is_directory(stdfs::symlink_status(t, ec)))
      throw Error("The target " + t.string() + " exists and is not a directory.", ErrorKind::Failure);
    if (!stdfs::is_empty(t, ec))
      throw Error("The target directory " + t.string() +
                      " is not empty: restore --target fills only a new or empty directory, it never replaces files "
                      "there. Choose another directory or empty this one.",
                  ErrorKind::Failure);
  }
  DataDir dir(t);
  check_store_outside(dir, ctx.locations().store_dir);
  return dir;
}

int restore_command(Context& ctx, const RestoreOptions& opts) {
  ctx.console.echo_options(option_settings(opts));
  require_file_option(opts.file);
  DataDir dir = opts.target ? target_dir(ctx, *opts.target) : prepare_data_dir(ctx, DbCommand::Restore);
  if (opts.dry_run) return restore_dry_run(ctx, opts, dir);
  try {
    return restore(ctx, opts, dir);
  } catch (const interrupt::Interrupted& e) {  // the staging dir has been removed
    throw e.with_outcome("nothing was restored; " + data_dir_after_undo(dir) + ".");
  }
}

}  // namespace

int run_restore(Context& ctx, const RestoreOptions& opts) {
  try {
    return restore_command(ctx, opts);
  } catch (const Error& e) {  // the change, if it began, has been rolled back
    throw finish(e, "Nothing was changed.");
  }
}

}  // namespace mdb
