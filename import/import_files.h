#pragma once
// The run files of an import (import.md "Run files", "One transaction" step 4): extracted into a
// staging dir inside the data dir, checked against the hashes the Cap'n Proto half records and
// flushed BEFORE the import's SQLite transaction takes the databases' write lock (extraction is
// the long part of an import: a running Mephisto must not wait for it); inside the transaction
// they are only renamed into place. A task run new here gets its dir (files already there belong
// to no run and are replaced); an existing run keeps its files and gains the dump's other files.
// Files bound for a mount inside the data dir (`data/` on its own volume) are staged in a
// `.mephisto-db/` folder at the top of that mount, so every rename stays on one filesystem.
// The extraction runs while the import's snapshot is taken, which leaves those folders out.
#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <thread>

#include "platform/console.h"
#include "datadir/datadir.h"
#include "import/import_outcome.h"
#include "platform/env.h"
#include "platform/temp_dir.h"

namespace mdb {

class AtomicChange;

class StagedRunFiles {
 public:
  // The files of a plan (ImportOutcome::files, new_run_dirs), staged by start() and finish().
  StagedRunFiles(const DataDir& dir, Dump& dump, FilePlan files, std::vector<stdfs::path> new_run_dirs);
  StagedRunFiles(const StagedRunFiles&) = delete;
  StagedRunFiles& operator=(const StagedRunFiles&) = delete;
  // Stops an extraction still running and waits for it. The staging dirs are removed (after
  // place(), only what place() moved aside is left in them).
  ~StagedRunFiles();

  // Extracts and hash-checks every file of the plan into the staging dirs and flushes them, on
  // a thread of its own (start_worker), so the import's snapshot is taken meanwhile. Nothing
  // else may use the dump until finish() returns.
  void start();
  // Waits for the extraction, with a progress bar from where it is when it still runs, and
  // rethrows what stopped it.
  void finish(Console& console);
  // Whether start()'s thread still works (and holds its buffers).
  bool running() const { return worker_.joinable() && !ended_; }
  // start() and finish().
  void stage(Console& console) {
    start();
    finish(console);
  }

  // Whether `plan` places exactly the staged files. The files are staged for the plan of the
  // checks, made before the transaction: a program that wrote to the databases since can have
  // changed it (then stage again for the transaction's plan).
  bool staged_for(const ImportOutcome& plan);
  // Renames the staged files into place, recording every path moved in `change`, and flushes the
  // moves. Returns the number of files placed.
  int64_t place(AtomicChange& change);

 private:
  // Extracts and hash-checks every file of the plan into the staging dirs.
  void extract_all();
  // The staging dir on the filesystem of `dest` (relative to the data dir), made on first use.
  const stdfs::path& staging_for(const stdfs::path& dest);
  stdfs::path staged(const stdfs::path& dest) { return staging_for(dest) / dest; }

  // One staging dir per filesystem, keyed by our folder it is in (meta_dir_for).
  struct Staging {
    std::unique_ptr<fs::OwnedTempDir> dir;
    stdfs::path meta;  // a mount's folder, removed once empty; else empty
    ~Staging();
  };
  DataDir dir_;
  Dump& dump_;  // outlives this (the Importer holds both)
  stdfs::path root_;
  std::vector<stdfs::path> mounts_;
  std::map<stdfs::path, Staging> staging_;
  FilePlan files_;
  std::vector<stdfs::path> new_run_dirs_;
  // The extraction's thread, what it has done so far (for the progress bar), and its end.
  std::thread worker_;
  std::atomic<bool> stop_{false}, ended_{false};
  std::atomic<uint64_t> bytes_done_{0}, files_done_{0};
  std::promise<void> done_;
  std::future<void> result_;
};

// Creates the missing directories of `rel` (relative to `root`), recording the topmost one created
// in `change` so a failure removes them.
void make_dirs(const stdfs::path& root, const stdfs::path& rel, AtomicChange& change);

// Removes staging dirs that earlier imports left behind when they were killed, in the data dir's
// `.mephisto-db/` and in those at the top of mounts inside it (fs::sweep_abandoned).
void remove_stale_import_staging(const DataDir& dir);

}  // namespace mdb
