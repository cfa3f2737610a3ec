#pragma once
// The run files of an import (import.md "Run files", "One transaction" step 4): extracted into a
// staging dir inside the data dir, checked against the hashes the Cap'n Proto half records,
// fsynced, then moved into place. A task run new here gets its dir (files already there belong to
// no run and are replaced); an existing run keeps its files and gains the dump's other files.
#include "core/console.h"
#include "core/datadir.h"
#include "core/import_engine.h"

namespace mdb::core {

class AtomicChange;

// Returns the number of files placed. Every path moved into place is recorded in `change`.
int64_t place_run_files(const DataDir& dir, Dump& dump, const ImportOutcome& plan, AtomicChange& change,
                        Console& console);

// Creates the missing directories of `rel` (relative to `root`), recording the topmost one created
// in `change` so a failure removes them.
void make_dirs(const stdfs::path& root, const stdfs::path& rel, AtomicChange& change);

// Removes staging dirs that earlier imports left behind when they were killed (the caller holds
// the data dir's writer lock, so no live import owns one).
void remove_stale_import_staging(const DataDir& dir);

}  // namespace mdb::core
