#pragma once
// Atomic changes of a data dir: the snapshot + journal marker + rollback used by import, restore
// and export -del, and the recovery every command that touches a data dir runs first.
//
// ---- Notes on an atomic change (in the style of SQLite's pager.c) ------------------------------
//
// A command that changes a data dir in more than one step (rows in several SQLite files, run
// files, a whole tree swapped) makes the change through an AtomicChange, so that after success,
// failure, Ctrl-C or kill -9 the data dir is exactly as before or exactly as after. Two records
// of the change exist on disk while it runs, both one store::ChangeRecord (store/change_record.h):
// the JOURNAL MARKER `<data dir>/.mephisto-db/journal` and the PIN `<store>/pins/<hash>.json`.
//
// STATES (in-process: AtomicChange::State; on disk: which of lock, snapshot, pin, marker exist)
//
//   LOCKED       The data-dir writer lock `.mephisto-db/lock` is held (flock: the kernel drops
//                it when its holder dies). Nothing is written yet but what snapshots leave out
//                (an import's staging dirs, filled while the snapshot is taken).
//   SNAPSHOTTED  The data dir is a snapshot `<time>_before_<command>` in the store, taken under
//                the store lock (through the caller's exclusive SQLite locks for restore).
//   MARKED       The pin, then the marker, are durable (file and directory fsynced), both
//                written before the store lock is released. Only now may the data dir change.
//                A change that cannot be undone path by path (restore swaps whole trees;
//                import replacing files of no task run; export -del after a migration) is
//                marked IRREVERSIBLE: from then on undoing it means restoring the snapshot.
//   COMMITTED    Every write of the change is durable; the marker is removed (and its
//                directory fsynced), then the pin, then the lock is released.
//   ROLLED BACK  The data dir is as before again: path by path from the undo log (paths the
//                change created are removed, paths it moved are moved back), or, when the change
//                is irreversible or that undo fails, by restoring the snapshot (roll_back);
//                then the marker, then the pin are removed and the lock is released. A file
//                whose content in the snapshot is damaged cannot be restored: the rest is,
//                the data dir's current file stays at that path (or it is left out), the
//                marker and pin are removed all the same, and the files are named
//                (rollback_outcome; recovery throws a Damaged error): the data dir stays
//                usable, never a marker that every later command fails on.
//   LEFT FOR RECOVERY
//                The rollback itself failed: the marker stays (it is the only record of what
//                to do) and the next command of any kind restores the snapshot first.
//
//   LOCKED -> SNAPSHOTTED -> MARKED -> COMMITTED
//                                   \-> ROLLED BACK | LEFT FOR RECOVERY
//   A failure before MARKED leaves nothing to undo (a snapshot taken is an ordinary one).
//
// INVARIANTS
//   1. Only the holder of the data-dir lock writes the data dir, its marker, or a pin for it;
//      a second writer fails at once, naming the holder. Recovery takes the same lock.
//   2. The marker exists only if the snapshot it names is complete and durable in the store it
//      names, and a pin naming that snapshot exists: pin before marker, marker removed before pin.
//      A pin without its marker is dead (prune drops it); a marker is never without its pin.
//   3. The data dir differs from both its "before" and its "after" state only while the marker
//      exists: the change writes nothing before MARKED, and removes the marker only once the data
//      dir is wholly "after" (commit) or wholly "before" again (rollback), durably.
//   4. Whatever is interrupted, the marker is enough to get back: the next command (any
//      command: prepare_data_dir, recover_before_reading) that finds a marker whose lock it can
//      take restores the snapshot exactly. The marker stays until the tree is in place, so a
//      crash during recovery only means doing it again.
//   5. Undo path by path is used only while it is exact: every path the change created or moved
//      is in the undo log before the change can fail past it, SQLite's own rollback undoes the
//      rows, and anything else the change alters first marks it irreversible.
//   6. Rollback is an explicit call (AtomicChange::rollback, made by within() when the work
//      ends uncommitted), never done by a destructor: ~AtomicChange only releases the lock, so
//      a change dropped while MARKED is LEFT FOR RECOVERY, as after a crash.
//   7. A rollback runs to its end: signals are noted, not acted on (interrupt::Defer), and a
//      failure is reported as a warning, never thrown over the error that caused it.
//
// WHO MAY DO WHAT
//   - The change's own process: write the data dir only in MARKED; commit() or rollback() once.
//   - Another command on the same data dir: while the lock is held, nothing that writes (it
//     fails naming the holder); readers that take no lock (snapshots, verify, prune) leave a
//     live change's marker alone (its pid is alive on this host, or its lock is held).
//   - prune, for any data dir sharing the store: never forgets a snapshot a live pin names
//     (live_pins), nor the one named by the marker of the data dir it runs for.
//   - Recovery (recover_interrupted_change): with the lock, restores the marker's snapshot,
//     removes the marker, then the pin; also removes staging dirs, marker temp files and trash
//     left by dead processes.
// -------------------------------------------------------------------------------------------------
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "datadir/classify.h"
#include "datadir/context.h"
#include "datadir/datadir.h"
#include "platform/temp_dir.h"
#include "store/change_record.h"
#include "store/pins.h"

namespace mdb {

class DataDirLock;
class ExclusiveDbLocks;
}  // namespace mdb
namespace mdb::store {
class Staging;
class Store;
}  // namespace mdb::store
namespace mdb {

// The one entry point of commands that take a data dir: resolves it (symlinks resolved, so
// swaps act on the real directory), runs recover_interrupted_change, then checks it and its
// databases by `command`'s row of the policy table (classify.h): export, export -del and backup
// need database.db; import and restore take a missing data dir (created later).
DataDir prepare_data_dir(Context& ctx, DbCommand command);

// For the commands that only read the store (snapshots, verify, prune): when the configured
// data dir exists, runs recover_interrupted_change on it first, as every command does ("the
// next command of any kind"), then check_databases for `command` (warnings only). A marker
// whose process is still running is left alone, and a recovery that fails is a warning:
// listing and checking the store must work even then.
void recover_before_reading(Context& ctx, DbCommand command);

// If `.mephisto-db/journal` exists (an earlier command died mid-change), restores the
// snapshot it names exactly (files added after it removed, DB sidecar files removed),
// removes the marker, and tells the user (one line naming the snapshot and the command).
// Idempotent and crash-safe: the marker stays until the restore is complete. A marker of
// a change still running in another process is left alone (its lock is held): error.
// Files whose content in the snapshot is damaged are not restored (the rest is, and the
// marker is removed): a Damaged error then names them, once the cleanup below is done.
// Also removes staging directories of restores that crashed, and finishes deleting the trash
// of commands killed while deleting it (empty_trash).
void recover_interrupted_change(Context& ctx, const DataDir& dir);

// Our folder on the filesystem of `path` (a path inside the data dir): the data dir's own
// `.mephisto-db/`, or, when `path` lies in a mount inside the data dir (`data/` on its own
// volume, a bind mount), a `.mephisto-db/` at the top of that mount (innermost one), so a
// rename between the two never crosses filesystems. `mounts`: fs::mount_points_inside(root).
std::filesystem::path meta_dir_for(const DataDir& dir, const std::filesystem::path& path,
                                   const std::vector<std::filesystem::path>& mounts);

// Where a command puts what it takes out of the data dir for good (restore's replaced tree,
// export -del's run dirs) before deleting it: a new fs::OwnedTempDir `trash-XXXXXX` in `meta`
// (our folder on the filesystem of what goes there; the data dir's own by default, which
// must exist). Deleting can take minutes; if the command is killed meanwhile, the next
// command of any kind finishes it (its owner file is no longer locked).
std::unique_ptr<fs::OwnedTempDir> make_trash(const std::filesystem::path& meta);
// Deletes a trash dir (fs::remove_tree), with a progress bar on a terminal. The change that
// filled it is done: a failure (a mount point found in it is left in place) is a warning, and
// the next command retries.
void empty_trash(Console& console, const std::filesystem::path& trash);
// After a swap (restore, rollback): moves the tree it replaced into the trash and deletes it
// (empty_trash). A failure is a warning: the data dir is already the new tree, and what is
// left is swept by the next command.
void discard_replaced_tree(Console& console, store::Staging& staging, const DataDir& dir);

// Work an atomic change runs beside its snapshot (an import's extraction of its run files). It is
// started once the data dir is locked, so it may write only what snapshots leave out
// (not_in_snapshots), never the data dir; and when the change fails before it is MARKED, it is
// stopped while the lock is still held, so nothing of it outlives the lock.
class BesideSnapshot {
 public:
  virtual ~BesideSnapshot() = default;
  virtual void start() = 0;
  virtual void stop() noexcept = 0;
  // Whether it still runs (and holds its memory); asked from the snapshot's thread.
  virtual bool running() const noexcept = 0;
};

class AtomicChange {
 public:
  // LOCKED -> SNAPSHOTTED -> MARKED: takes the data-dir writer lock (a second writer fails at
  // once naming the holder), snapshots the data dir into the store, then writes the pin and
  // the journal marker durably. Returns MARKED or throws with nothing left to undo (a failure
  // after the pin is rolled back before the exception leaves).
  // `beside`, when given, is started once the lock is held and runs while the snapshot is taken.
  AtomicChange(Context& ctx, const DataDir& dir, std::string command, BesideSnapshot* beside = nullptr);
  // The same, for a caller that holds exclusive SQLite locks on the DBs and has the store
  // open for writing (restore): the snapshot copies the DBs through those connections and
  // goes into that store (LMDB forbids opening one environment twice in a process). Both stay
  // open until the change is committed or rolled back.
  AtomicChange(Context& ctx, const DataDir& dir, std::string command, store::Store& store,
               const ExclusiveDbLocks& locks);
  AtomicChange(const AtomicChange&) = delete;
  AtomicChange& operator=(const AtomicChange&) = delete;
  // Releases the lock. Never undoes anything (invariant 6): dropped while MARKED, the change is
  // left for recovery, as after a crash.
  ~AtomicChange();

  const std::string& snapshot_name() const { return record_.snapshot; }
  // The undo log. A path (relative to the data dir) this change created or moved into place:
  // removed by rollback().
  void record_created(const std::filesystem::path& rel);
  // A path this change moved away from `from` to `to` (absolute, both inside the data dir):
  // moved back by rollback().
  void record_moved(const std::filesystem::path& from, const std::filesystem::path& to);
  // A trash (make_trash) that record_moved paths go into: held (locked, so no sweep takes it)
  // until the change is over, so rollback() finds them there. Removed with the change when
  // still there then, unless the change is left for recovery. Returns the trash.
  fs::OwnedTempDir& hold_trash(std::unique_ptr<fs::OwnedTempDir> trash);
  // From here on the change cannot be undone path by path: rollback() restores the snapshot.
  void mark_irreversible() { irreversible_ = true; }
  // MARKED -> COMMITTED. Call once every write of the change is durable: removes the marker
  // (fsyncs the dir), then the pin, and releases the lock. If removing the marker fails, the
  // change is still MARKED (the caller rolls it back).
  void commit();
  // MARKED -> ROLLED BACK (or LEFT FOR RECOVERY when undoing fails: reported as a warning, the
  // marker stays). Does nothing once committed or rolled back. Never throws.
  void rollback() noexcept;
  bool committed() const { return state_ == State::Committed; }
  // After rollback(), what became of the data dir when it is not simply as before: the change
  // left for recovery (what is left, where the snapshot is, which command settles it), or a
  // rollback that could not restore files whose content in the store is damaged (named).
  // "" when the rollback was whole. within() makes it the outcome of the error.
  const std::string& rollback_outcome() const { return outcome_; }

 private:
  enum class State { Marked, Committed, RolledBack, LeftForRecovery };
  struct Undo {
    std::filesystem::path path;        // created (relative to the data dir) or moved to (absolute)
    std::filesystem::path moved_from;  // empty for a created path
  };

  void begin(BesideSnapshot* beside = nullptr);
  // SNAPSHOTTED, then MARKED: begin() once the lock is held and `beside` (if any) started.
  void snapshot_and_mark(BesideSnapshot* beside);
  void announce();
  void undo_log();

  Context& ctx_;
  DataDir dir_;
  store::ChangeRecord record_;
  store::Store* store_ = nullptr;
  const ExclusiveDbLocks* locks_ = nullptr;
  std::unique_ptr<DataDirLock> lock_;
  std::vector<std::unique_ptr<fs::OwnedTempDir>> trash_;
  std::vector<Undo> undo_;
  bool irreversible_ = false;
  State state_ = State::Marked;
  std::string outcome_;
};

// The one way a command runs the work of a change: `work()`, then, if it ended without
// committing the change (an exception, or an early return), `change.rollback()`: an explicit
// call once work's own objects (transactions, open files, staging dirs) are gone, never from
// a destructor during unwinding. The exception then goes on, an Error with the rollback's
// outcome when it was not whole (rollback_outcome: the command's "Nothing was imported."
// would not be true); otherwise work's result is returned.
template <class Work>
auto within(AtomicChange& change, Work&& work) -> decltype(work()) {
  try {
    if constexpr (std::is_void_v<decltype(work())>) {
      work();
      change.rollback();
    } else {
      auto result = work();
      change.rollback();
      return result;
    }
  } catch (const Error& e) {
    change.rollback();
    if (change.rollback_outcome().empty()) throw;
    throw e.with_outcome(change.rollback_outcome());
  } catch (...) {
    change.rollback();
    throw;
  }
}

// What became of a data dir whose atomic change was interrupted, once it has been rolled back:
// "the data dir is as it was before", or (the undo did not finish and the marker stays) that
// the next command restores the snapshot first. For the one line of an interrupted command.
std::string data_dir_after_undo(const DataDir& dir);

// The path of the journal marker of a data dir.
std::filesystem::path journal_marker_path(const DataDir& dir);
// The snapshot named by a data dir's journal marker, if there is one (prune keeps it).
std::optional<std::string> journal_snapshot(const DataDir& dir);

// The pins of the store at `store_dir` whose change may still be pending (docs/PRUNE.md): a
// pin is dropped only when proven dead, its data dir present and its journal marker gone or
// naming another snapshot. With `drop_dead` (the caller holds the store lock) dead pins are
// removed.
std::vector<store::Pin> live_pins(store::Backend& store, bool drop_dead);

}  // namespace mdb
