#pragma once
// -del/--delete-exported-data (export.md): removes exactly the exported rows that belong to the
// exported runs, the provider rows tied to them, their run directories and, with -tn/-ti, the
// tasks and their task-level reviews (a task that a remaining row still references, e.g. as
// parent, stays). A full export empties every exported table. Runs inside the caller's write
// transaction over every DB and the caller's AtomicChange: no reference is left dangling (checked
// before anything is deleted), the run directories are moved out only once every statement has
// run, and the transaction commits last, so a crash leaves exactly the before or the after state.
#include <cstdint>
#include <string>
#include <vector>

#include "export/export_select.h"
#include "datadir/journal.h"

namespace mdb {

struct DeleteResult {
  uint64_t rows = 0;
  uint64_t run_dirs = 0;
  std::vector<std::string> notes;  // tasks kept, and why
};

// `runs`: the runs the filter named (a partial dump); `delete_tasks`: -tn/-ti. Commits `txn`.
DeleteResult delete_exported(Source& src, const Selection& sel, const std::vector<int64_t>& runs, bool delete_tasks,
                             sql::Transaction& txn, AtomicChange& change, Console& console);

}  // namespace mdb
