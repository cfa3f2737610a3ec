#pragma once
// A FilePlan (import_outcome.h) on disk: one row a file (member, moved_to, new_run) in a table of
// the dump's staging database, written in plan order and read back in that order by a cursor.
#include <functional>

#include "import/import_outcome.h"

namespace mdb {

// Writes a fresh plan into `plan`, inside a transaction of the staging database.
class FilePlanWriter {
 public:
  FilePlanWriter(Dump& dump, FilePlan& plan);
  void add(const FileAction& a);
  // Commits the rows; without it they are rolled back and the plan stays empty.
  void finish();

 private:
  FilePlan& plan_;
  FilePlan written_;
  sql::Transaction tx_;
  sql::Stmt insert_;
};

// Calls `fn` with each file of `plan`, in plan order.
void for_each_action(Dump& dump, const FilePlan& plan, const std::function<void(const FileAction&)>& fn);

// Whether two plans hold the same files, bound for the same places, in the same order.
bool same_files(Dump& dump, const FilePlan& a, const FilePlan& b);

}  // namespace mdb
