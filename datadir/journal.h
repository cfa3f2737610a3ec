#pragma once
// The shared atomic-change API (notes/JOURNAL_API.md): one snapshot + journal marker +
// rollback path used by import, restore and export -del, and the recovery check every
// command that touches a data dir runs first.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datadir/context.h"
#include "datadir/datadir.h"
#include "store/pins.h"

namespace mdb::core {

class DataDirLock;
class ExclusiveDbLocks;
}  // namespace mdb::core
namespace mdb::store {
class Staging;
class Store;
}  // namespace mdb::store
namespace mdb::core {

// How a command uses the data dir it resolves.
enum class DataDirUse {
  Existing,  // must hold database.db (export, import into an existing dir, backup)
  Any,       // may be missing or empty; created when missing (restore, import into a fresh dir)
};

// The one entry point of commands that take a data dir: resolves it (symlinks resolved, so
// swaps act on the real directory), checks it, and runs recover_interrupted_change.
DataDir prepare_data_dir(Context& ctx, DataDirUse use = DataDirUse::Existing);

// For the commands that only read the data dir (snapshots, verify, prune): when the configured
// data dir exists, runs recover_interrupted_change on it first, as every command does ("the
// next command of any kind"). A marker whose process is still running is left alone, and a
// recovery that fails is a warning: listing and checking the store must work even then.
void recover_before_reading(Context& ctx);

// If `.mephisto-db/journal` exists (an earlier command died mid-change), restores the
// snapshot it names exactly (files added after it removed, DB sidecar files removed),
// removes the marker, and tells the user (one line naming the snapshot and the command).
// Idempotent and crash-safe: the marker stays until the restore is complete. A marker of
// a change still running in another process is left alone (its lock is held): error.
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
// export -del's run dirs) before deleting it: `trash-<pid>` in `meta` (our folder on the
// filesystem of what goes there; the data dir's own by default). Deleting can take minutes;
// if the command is killed meanwhile, the next command of any kind finishes it.
std::filesystem::path trash_dir(const std::filesystem::path& meta);
std::filesystem::path trash_dir(const DataDir& dir);
// Deletes a trash dir (fs::remove_tree), with a progress bar on a terminal. The change that
// filled it is done: a failure (a mount point found in it is left in place) is a warning, and
// the next command retries.
void empty_trash(Console& console, const std::filesystem::path& trash);
// After a swap (restore, rollback): moves the tree it replaced into the trash and deletes it
// (empty_trash). A failure is a warning: the data dir is already the new tree, and what is
// left is swept by the next command.
void discard_replaced_tree(Console& console, store::Staging& staging, const DataDir& dir);

class AtomicChange {
 public:
  // Takes the data-dir writer lock (a second writer fails at once naming the holder; the
  // kernel releases the lock of a dead process), snapshots the data dir into the store,
  // then writes the journal marker (store path, snapshot name, command) durably.
  AtomicChange(Context& ctx, const DataDir& dir, std::string command);
  // The same, for a caller that holds exclusive SQLite locks on the DBs and has the store
  // open for writing (restore): the snapshot copies the DBs through those connections and
  // goes into that store (LMDB forbids opening one environment twice in a process).
  AtomicChange(Context& ctx, const DataDir& dir, std::string command, store::Store& store,
               const ExclusiveDbLocks& locks);
  AtomicChange(const AtomicChange&) = delete;
  AtomicChange& operator=(const AtomicChange&) = delete;
  // Without commit (an exception unwinds): removes the recorded paths, then the marker. If
  // undo fails, the marker stays and the next command restores the snapshot.
  ~AtomicChange();

  const std::string& snapshot_name() const { return snapshot_; }
  // A path (relative to the data dir) this change created or moved into place; removed on
  // in-process failure.
  void record_created(const std::filesystem::path& rel);
  // From here on the change cannot be undone path by path (restore is about to swap
  // trees): a failure restores the snapshot instead.
  void mark_irreversible() { irreversible_ = true; }
  // Everything is durable: removes the marker (fsyncs the dir) and releases the lock.
  void commit();

 private:
  void begin();

  Context& ctx_;
  DataDir dir_;
  std::string command_;
  std::string snapshot_;
  std::filesystem::path store_dir_;  // where the snapshot and its pin are
  store::Store* store_ = nullptr;
  const ExclusiveDbLocks* locks_ = nullptr;
  std::unique_ptr<DataDirLock> lock_;
  std::vector<std::filesystem::path> created_;
  bool marker_written_ = false;
  bool irreversible_ = false;
  bool committed_ = false;
};

// What became of a data dir whose atomic change was interrupted, once the change has unwound:
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
std::vector<store::Pin> live_pins(const std::filesystem::path& store_dir, bool drop_dead);

}  // namespace mdb::core
