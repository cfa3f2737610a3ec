#include "import/file_plan.h"

namespace mdb {

FilePlanWriter::FilePlanWriter(Dump& dump, FilePlan& plan)
    : plan_(plan), tx_(dump.stage(), "BEGIN") {
  written_.table = dump.new_stage_table("plan");
  dump.stage().exec("CREATE TABLE " + written_.table +
                    " (member INTEGER NOT NULL, moved_to TEXT, new_run INTEGER NOT NULL)");
  insert_ = dump.stage().prepare("INSERT INTO " + written_.table + " (member, moved_to, new_run) VALUES (?1, ?2, ?3)");
}

void FilePlanWriter::add(const FileAction& a) {
  insert_.bind(1, static_cast<int64_t>(a.file.index)).bind(3, int64_t{a.new_run});
  if (a.moved_to.empty()) {
    insert_.bind_null(2);
  } else {
    insert_.bind(2, std::string_view(a.moved_to));
  }
  insert_.run();
  ++written_.count;
  written_.bytes += a.file.size;
}

void FilePlanWriter::finish() {
  tx_.commit();
  plan_ = std::move(written_);
}

void for_each_action(Dump& dump, const FilePlan& plan, const std::function<void(const FileAction&)>& fn) {
  if (plan.empty()) return;
  sql::Stmt s = dump.stage().prepare("SELECT p.moved_to, p.new_run, f.member, f.size, f.hash_high, f.hash_low FROM " +
                                     plan.table + " p JOIN run_files f ON f.member = p.member ORDER BY p.rowid");
  FileAction a;
  while (s.step()) {
    a.moved_to = s.column_text(0);
    a.new_run = s.column_int(1) != 0;
    a.file = Dump::file_at(s, 2);
    fn(a);
  }
}

bool same_files(Dump& dump, const FilePlan& a, const FilePlan& b) {
  if (a.count != b.count) return false;
  if (a.empty()) return true;
  sql::Stmt s = dump.stage().prepare("SELECT count(*) FROM " + a.table + " a JOIN " + b.table +
                                     " b ON b.rowid = a.rowid WHERE b.member = a.member AND b.moved_to IS a.moved_to "
                                     "AND b.new_run = a.new_run");
  s.step();
  return s.column_int(0) == a.count;
}

}  // namespace mdb
