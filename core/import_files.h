#pragma once
// The run files of an import (import.md "Run files", "One transaction" step 4): extracted into a
// staging dir inside the data dir, checked against the hashes the Cap'n Proto half records and
// flushed BEFORE the import's SQLite transaction takes the databases' write lock (extraction is
// the long part of an import: a running Mephisto must not wait for it); inside the transaction
// they are only renamed into place. A task run new here gets its dir (files already there belong
// to no run and are replaced); an existing run keeps its files and gains the dump's other files.
#include <memory>

#include "core/console.h"
#include "core/datadir.h"
#include "core/import_engine.h"
#include "store/env.h"

namespace mdb::core {

class AtomicChange;

class StagedRunFiles {
 public:
  // Extracts, hash-checks and flushes the files of a plan (ImportOutcome::files, new_run_dirs).
  // The staging dir is removed when this is destroyed (after place(), only what place() moved
  // aside is left in it).
  StagedRunFiles(const DataDir& dir, Dump& dump, std::vector<FileAction> files, std::vector<stdfs::path> new_run_dirs,
                 Console& console);
  StagedRunFiles(const StagedRunFiles&) = delete;
  StagedRunFiles& operator=(const StagedRunFiles&) = delete;

  // Whether `plan` places exactly the staged files. The files are staged for the plan of the
  // checks, made before the transaction: a program that wrote to the databases since can have
  // changed it (then stage again for the transaction's plan).
  bool staged_for(const ImportOutcome& plan) const;
  // Renames the staged files into place, recording every path moved in `change`, and flushes the
  // moves. Returns the number of files placed.
  int64_t place(AtomicChange& change);

 private:
  stdfs::path root_;
  std::unique_ptr<fs::TempDir> staging_;
  std::vector<FileAction> files_;
  std::vector<stdfs::path> new_run_dirs_;
};

// Creates the missing directories of `rel` (relative to `root`), recording the topmost one created
// in `change` so a failure removes them.
void make_dirs(const stdfs::path& root, const stdfs::path& rel, AtomicChange& change);

// Removes staging dirs that earlier imports left behind when they were killed (the caller holds
// the data dir's writer lock, so no live import owns one).
void remove_stale_import_staging(const DataDir& dir);

}  // namespace mdb::core
