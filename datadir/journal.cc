#include "datadir/journal.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "datadir/storeops.h"
#include "base/malloc_policy.h"
#include "base/interrupt.h"
#include "platform/env.h"
#include "platform/temp_dir.h"
#include "store/pins.h"
#include "store/restore.h"
#include "store/store.h"

namespace mdb {

namespace {

// The change a data dir's journal marker records. A marker that cannot be decoded, or names no
// store, is an Error: nothing says where to roll back to.
store::ChangeRecord read_marker(const stdfs::path& path) {
  std::optional<store::ChangeRecord> m = store::ChangeRecord::decode(fs::read_file(path));
  if (!m || m->store.empty())
    throw Error("The journal marker " + path.string() +
                " is damaged, so the interrupted change it records cannot be "
                "rolled back automatically. Restore the latest `_before_` snapshot listed by `mephisto db snapshots` "
                "with `mephisto db restore -f NAME`, then delete the marker.", ErrorKind::Damaged);
  return *m;
}

// A rollback meets a file whose content in the store is damaged: the data dir's current file
// at that path, if there is one, goes into the restored tree in its place (for a file the
// change did not touch, that is its content before the change), with its mode and mtime.
store::DamagedFile keep_current(const DataDir& dir) {
  return [root = dir.root()](const store::Entry& e, fs::File& out) {
    std::optional<fs::File> current = fs::File::open_read_inside(root, e.path);
    if (!current) return false;
    std::string buf(1u << 20, '\0');
    for (size_t n; (n = current->read(buf.data(), buf.size())) > 0;) out.write_all(std::string_view(buf.data(), n));
    struct stat st = current->stat();
    out.set_mode_and_mtime(st.st_mode & 07777, st.st_mtim);
    return true;
  };
}

// The files a rollback could not restore from the snapshot, or "" when there were none.
std::string unrestored(const store::BuildStats& built, const std::string& snapshot) {
  if (built.damaged_replaced.empty() && built.damaged_missing.empty()) return "";
  size_t n = built.damaged_replaced.size() + built.damaged_missing.size();
  std::string out = "the content of " + std::to_string(n) + (n == 1 ? " file" : " files") + " in snapshot " +
                    snapshot + " is damaged in the store, so " + (n == 1 ? "it was" : "they were") + " not restored:";
  for (const std::string& p : built.damaged_replaced) out += " " + p + " (the current file was kept);";
  for (const std::string& p : built.damaged_missing) out += " " + p + " (missing: there was no current file to keep);";
  out.back() = '.';
  return out;
}

// Makes the data dir exactly the marker's snapshot again. The marker stays until the tree
// is in place, so a crash here only means doing it again. `locks` may be held by the
// caller; otherwise they are taken here (a damaged DB file does not block the rollback).
// `open_store` is the caller's open handle on the marker's store, if any.
// Files whose content in the store is damaged are not restored (keep_current): the rollback
// still ends, the marker and pin removed, and returns what it left ("" when nothing).
std::string roll_back(Context& ctx, const DataDir& dir, const store::ChangeRecord& m, store::Store* open_store,
                      const ExclusiveDbLocks* locks) {
  interrupt::Defer defer;  // a signal now is noted, and the rollback runs to the end
  std::optional<store::Store> own_store;
  store::Store& store = open_store ? *open_store : own_store.emplace(m.store, store::Store::Mode::Read);
  auto snap = store.find_snapshot(m.snapshot);
  if (!snap || snap->name != m.snapshot)
    throw Error("Cannot roll back the interrupted `" + m.command + "`: its snapshot " + m.snapshot +
                " is not in the store " + m.store + ". The journal marker " + journal_marker_path(dir).string() +
                " was left in place.", ErrorKind::NotFound);
  std::optional<ExclusiveDbLocks> own;
  if (!locks) locks = &own.emplace(dir);
  store::Staging staging(dir.root(), kMetaDirName);
  store::SnapshotSource src(store, snap->record);
  ConsoleReporter reporter(ctx.console);
  store::BuildStats built = store::build_tree(src, staging.path(), reporter, keep_current(dir));
  store::swap_tree(dir.root(), staging, kMetaDirName, src.root_owner());
  fs::remove_file(journal_marker_path(dir));
  fs::sync_dir(dir.meta_dir());
  // The pin is named after the data dir's path when the change began (older markers: here).
  store::remove_pin(*store::Store::open_backend(m.store), m.data_dir.empty() ? dir.root().string() : m.data_dir,
                    m.snapshot);
  discard_replaced_tree(ctx.console, staging, dir);
  std::string left = unrestored(built, m.snapshot);
  ctx.console.warn("Rolled back an interrupted `mephisto db " + m.command + "`" +
                   (m.started.empty() ? "" : " (started " + m.started + " by process " + std::to_string(m.pid) + ")") +
                   (left.empty() ? ": the data directory is again exactly snapshot " + m.snapshot + "."
                                 : ": the data directory is again snapshot " + m.snapshot + ", except that " + left));
  ctx.console.set("rolled_back", {{"command", m.command},
                                  {"snapshot", m.snapshot},
                                  {"not_restored", built.damaged_replaced},
                                  {"missing", built.damaged_missing}});
  if (left.empty()) return "";
  return "The rollback of `mephisto db " + m.command + "` in " + dir.root().string() + " ended, but " + left +
         " The journal marker is removed and the data directory is usable; `mephisto db verify --read-data "
         "--repair` heals the store from files that still have that content.";
}

// The kind of the automatic snapshot taken before `command` (an AtomicChange's command).
store::SnapshotKind kind_before(const std::string& command) {
  if (command == "import") return store::SnapshotKind::BeforeImport;
  if (command == "restore") return store::SnapshotKind::BeforeRestore;
  if (command.rfind("export", 0) == 0) return store::SnapshotKind::BeforeExportDelete;
  throw std::logic_error("no snapshot kind for the change " + command);
}

std::string name_part(const std::string& command) {
  std::string out;
  for (char c : command) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

constexpr const char* kTrashPrefix = "trash-";

// Trash of commands that were killed while deleting it, in our folder and in those at the top
// of mounts inside the data dir (removed once empty).
void empty_stale_trash(Context& ctx, const DataDir& dir) {
  std::vector<stdfs::path> metas{dir.meta_dir()};
  for (const stdfs::path& m : fs::mount_points_inside(dir.root())) metas.push_back(m / kMetaDirName);
  for (const stdfs::path& meta : metas) {
    size_t emptied =
        fs::sweep_abandoned(meta, kTrashPrefix, [&](const stdfs::path& trash) { empty_trash(ctx.console, trash); });
    // A mount's folder goes once empty; only after our own sweep, never under a live import
    // that has just made it.
    if (emptied && meta != dir.meta_dir()) fs::discard_empty_dir(meta);
  }
}

// A marker being written is `journal.tmp-<pid>` until it is renamed into place, by the holder
// of the data-dir lock (AtomicChange::begin): one found while that lock is free is garbage.
void remove_stale_marker_temps(const DataDir& dir) {
  const std::string prefix = "journal.tmp-";
  std::vector<stdfs::path> stale;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir.meta_dir(), ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) stale.push_back(e.path());
  if (stale.empty()) return;
  std::optional<DataDirLock> lock = DataDirLock::try_take(dir, "recovery");
  if (!lock) return;  // a change is running: its marker may be being written
  for (const stdfs::path& p : stale) fs::remove_file(p);
}

}  // namespace

stdfs::path journal_marker_path(const DataDir& dir) { return dir.meta_dir() / "journal"; }

stdfs::path meta_dir_for(const DataDir& dir, const stdfs::path& path, const std::vector<stdfs::path>& mounts) {
  stdfs::path best;
  std::string p = path.string();
  for (const stdfs::path& m : mounts) {
    std::string s = m.string();
    if (p.size() > s.size() && p.compare(0, s.size(), s) == 0 && p[s.size()] == '/') best = m;
  }
  return best.empty() ? dir.meta_dir() : best / kMetaDirName;
}

std::unique_ptr<fs::OwnedTempDir> make_trash(const stdfs::path& meta) {
  return std::make_unique<fs::OwnedTempDir>(meta, kTrashPrefix);
}

void empty_trash(Console& console, const stdfs::path& trash) {
  std::optional<Console::Progress> bar;
  if (console.progress_enabled()) bar.emplace(console, "Removing the replaced files", fs::count_tree(trash), false);
  try {
    fs::remove_tree(trash, [&](uint64_t n) {
      if (bar) bar->add(n);
    });
  } catch (const fs::IoError& e) {
    console.warn(std::string("Warning: ") + e.what() + ". The next mephisto db command deletes the rest.");
  }
}

void discard_replaced_tree(Console& console, store::Staging& staging, const DataDir& dir) {
  std::unique_ptr<fs::OwnedTempDir> trash;
  try {
    trash = make_trash(dir.meta_dir());
    staging.retire_into(trash->path());
  } catch (const Error& e) {
    console.warn(std::string("Warning: could not move the replaced files into a trash in ") +
                 dir.meta_dir().string() + " (" + e.what() + "). The next mephisto db command deletes them.");
    if (trash) trash->release();
    return;
  }
  empty_trash(console, trash->path());
  trash->release();  // emptied, or what is left waits for the next command's sweep
}

std::string data_dir_after_undo(const DataDir& dir) {
  std::optional<std::string> snapshot;
  try {
    snapshot = journal_snapshot(dir);
  } catch (const Error&) {
    return "the change could not be undone yet: its journal marker " + journal_marker_path(dir).string() +
           " stays (see the message above)";
  }
  if (!snapshot) return "the data dir is as it was before";
  return "the change could not be undone yet: the next mephisto db command on this data dir restores snapshot " +
         *snapshot + " first";
}

std::optional<std::string> journal_snapshot(const DataDir& dir) {
  if (!fs::exists(journal_marker_path(dir))) return std::nullopt;
  return read_marker(journal_marker_path(dir)).snapshot;
}

namespace {

// Proven dead: the pin's data dir is there and its marker is gone or names another snapshot.
// Anything else (the data dir missing or unmounted, unreadable, a damaged marker) keeps it.
bool pin_is_dead(const store::Pin& pin) {
  struct stat st{};
  if (::stat(pin.data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  stdfs::path marker = journal_marker_path(DataDir(pin.data_dir));
  if (::lstat(marker.c_str(), &st) != 0) return errno == ENOENT;
  try {
    return read_marker(marker).snapshot != pin.snapshot;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::vector<store::Pin> live_pins(store::Backend& store, bool drop_dead) {
  std::vector<store::Pin> live;
  for (store::Pin& pin : store::read_pins(store)) {
    if (!pin_is_dead(pin))
      live.push_back(std::move(pin));
    else if (drop_dead)
      store::remove_pin(store, pin);
  }
  return live;
}

DataDir prepare_data_dir(Context& ctx, DbCommand command) {
  stdfs::path root = ctx.locations().data_dir;
  std::error_code ec;
  stdfs::path real = stdfs::canonical(root, ec);
  if (!ec) root = real;
  bool must_exist = policy(command).missing == Verdict::Refuse;
  if (!must_exist && !fs::exists(root)) return DataDir(root);
  if (stdfs::is_directory(root, ec)) recover_interrupted_change(ctx, DataDir(root));
  if (must_exist) DataDir::open_existing(root);
  if (!stdfs::is_directory(root, ec))
    throw Error("The data directory " + root.string() + " is not a directory.");
  DataDir dir(root);
  check_databases(ctx.console, dir, command);
  return dir;
}

void recover_interrupted_change(Context& ctx, const DataDir& dir) {
  stdfs::path marker = journal_marker_path(dir);
  std::string left;  // files the rollback could not restore: said once the rest is done
  if (fs::exists(marker)) {
    DataDirLock lock(dir, "recovery");  // a live change in another process keeps its marker
    if (fs::exists(marker)) left = roll_back(ctx, dir, read_marker(marker), nullptr, nullptr);
  }
  try {
    store::remove_stale_staging(dir.root(), kMetaDirName);
  } catch (const fs::MountPointLeft& e) {
    ctx.console.warn(std::string("Warning: ") + e.what());  // reported, never emptied
  }
  remove_stale_marker_temps(dir);
  empty_stale_trash(ctx, dir);
  if (!left.empty()) throw Error(left, ErrorKind::Damaged);
}

void recover_before_reading(Context& ctx, DbCommand command) {
  stdfs::path configured;
  try {
    configured = ctx.locations().data_dir;
  } catch (const Error&) {
    return;  // no data dir configured: these commands need only the store (or a zip)
  }
  std::error_code ec;
  stdfs::path root = stdfs::canonical(configured, ec);
  if (ec || !stdfs::is_directory(root, ec)) return;
  DataDir dir(root);
  try {
    if (fs::exists(journal_marker_path(dir)) && !DataDirLock::try_take(dir, "recovery"))
      return;  // the change still holds the data-dir lock: it is running, nothing was interrupted
    recover_interrupted_change(ctx, dir);
  } catch (const Error& e) {
    ctx.console.warn(std::string("Warning: could not finish what an interrupted command left in the data directory ") +
                     root.string() + ": " + e.what());
  }
  check_databases(ctx.console, dir, command);
}

AtomicChange::AtomicChange(Context& ctx, const DataDir& dir, std::string command, BesideSnapshot* beside)
    : ctx_(ctx), dir_(dir) {
  record_.command = std::move(command);
  begin(beside);
}

AtomicChange::AtomicChange(Context& ctx, const DataDir& dir, std::string command, store::Store& store,
                           const ExclusiveDbLocks& locks)
    : ctx_(ctx), dir_(dir), store_(&store), locks_(&locks) {
  record_.command = std::move(command);
  begin();
}

AtomicChange::~AtomicChange() {
  if (state_ == State::Marked || state_ == State::LeftForRecovery)
    for (auto& trash : trash_) trash->release();  // the recovery may need what is in it
}

fs::OwnedTempDir& AtomicChange::hold_trash(std::unique_ptr<fs::OwnedTempDir> trash) {
  trash_.push_back(std::move(trash));
  return *trash_.back();
}

void AtomicChange::begin(BesideSnapshot* beside) {
  release_free_memory();  // what the checks before the change freed, before the snapshot allocates
  lock_ = std::make_unique<DataDirLock>(dir_, record_.command);  // LOCKED
  if (!beside) {
    snapshot_and_mark(nullptr);
    return;
  }
  try {
    beside->start();
    snapshot_and_mark(beside);
  } catch (...) {
    beside->stop();  // before the lock goes with this object's members
    throw;
  }
}

void AtomicChange::snapshot_and_mark(BesideSnapshot* beside) {
  const std::string& command = record_.command;
  std::optional<store::Store> own_store;
  store::Store& store =
      store_ ? *store_ : own_store.emplace(ctx_.locations().store_dir, store::Store::Mode::Write, command);
  if (beside) store.share_memory([beside] { return beside->running(); });
  std::string snapshot = store.unique_snapshot_name(timestamp_now() + "_before_" + name_part(command));
  snapshot_data_dir(store, ctx_.console, dir_, snapshot, command, kind_before(command), locks_);  // SNAPSHOTTED
  record_ = store::ChangeRecord::begun_here(store.dir().string(), dir_.root().string(), snapshot, command);
  // Pin and marker are durable before the store lock is released: from then on a prune run
  // for any data dir sharing the store keeps the snapshot (a pin without a marker is dead).
  store::write_pin(store.backend(), record_);
  try {
    fs::write_file_atomic(journal_marker_path(dir_), record_.encode());  // MARKED
    own_store.reset();  // releases the store lock before the change runs
    announce();
  } catch (...) {
    if (beside) beside->stop();  // before rollback() releases the lock
    rollback();  // the marker may be in place even if its write failed at the fsync
    throw;
  }
}

void AtomicChange::announce() {
  // Where the original names its safety backup zip, we name the snapshot and how to go back to it.
  std::string undo = restore_command(ctx_, record_.snapshot);
  ctx_.console.info("Saved the current data as snapshot " + record_.snapshot);
  ctx_.console.info("To undo this " + record_.command + ": " + undo);
  ctx_.console.set("snapshot_before", record_.snapshot);
  ctx_.console.set("undo", undo);
}

void AtomicChange::record_created(const stdfs::path& rel) { undo_.push_back({rel, {}}); }

void AtomicChange::record_moved(const stdfs::path& from, const stdfs::path& to) { undo_.push_back({to, from}); }

void AtomicChange::commit() {
  if (state_ != State::Marked) throw std::logic_error("commit of a change that is over");
  fs::remove_file(journal_marker_path(dir_));
  // From here the data dir is the "after" state whatever happens: if the marker's removal
  // does not reach the disk, a power loss brings it back and the next command restores
  // the "before" state, which is consistent too.
  state_ = State::Committed;
  try {
    fs::sync_dir(dir_.meta_dir());
  } catch (const fs::IoError& e) {
    ctx_.console.warn(std::string("Warning: ") + e.what());
  }
  store::remove_pin(*store::Store::open_backend(record_.store), record_.data_dir, record_.snapshot);
  lock_.reset();
}

// Undoes the log newest first, then removes the marker and the pin (invariant 2).
void AtomicChange::undo_log() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    if (it->moved_from.empty())
      fs::remove_tree(dir_.root() / it->path);
    else
      fs::rename(it->path, it->moved_from);
  }
  fs::remove_file(journal_marker_path(dir_));
  fs::sync_dir(dir_.meta_dir());
  store::remove_pin(*store::Store::open_backend(record_.store), record_.data_dir, record_.snapshot);
}

void AtomicChange::rollback() noexcept {
  if (state_ != State::Marked) return;
  interrupt::Defer defer;  // undoing is never stopped half way by a signal
  state_ = State::RolledBack;
  try {
    if (!irreversible_) {
      undo_log();
      lock_.reset();
      return;
    }
  } catch (const std::exception&) {
    // the log could not be undone exactly: restore the whole snapshot instead
  }
  try {
    outcome_ = roll_back(ctx_, dir_, record_, store_, locks_);
  } catch (const std::exception& e) {
    state_ = State::LeftForRecovery;
    ctx_.console.warn(std::string("Could not undo the failed change yet (") + e.what() +
                      "). The journal marker stays: the next mephisto db command on this data directory restores "
                      "snapshot " +
                      record_.snapshot + " first.");
    outcome_ = "The failed " + record_.command + " could not be undone yet: the data directory " +
               dir_.root().string() + " may be partly changed. Its journal marker " +
               journal_marker_path(dir_).string() + " stays, and the next mephisto db command on this data "
               "directory (any, e.g. `mephisto db snapshots`) restores snapshot " + record_.snapshot +
               " from the store " + record_.store + " first.";
  }
  lock_.reset();
}

}  // namespace mdb
