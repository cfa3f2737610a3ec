#include "export/export_delete.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>

#include "export/export_files.h"
#include "datadir/journal.h"
#include "base/error.h"
#include "base/interrupt.h"
#include "platform/env.h"
#include "platform/temp_dir.h"

namespace mdb {

namespace {

namespace stdfs = std::filesystem;

constexpr DbId M = DbId::Mephisto;

std::string qi(std::string_view s) { return sql::quote_ident(s); }

// The rows to delete, as rowid sets in TEMP tables (like the selection's).
class Doomed {
 public:
  Doomed(Source& src, const Selection& sel) : src_(src), sel_(sel) {
    for (const DumpDb& d : sel.layout())
      if (d.db && src.attached(*d.db))
        for (const std::string& t : d.tables) {
          if (!src.schema(*d.db).find(t)) continue;  // listed empty, not in the file
          tables_.push_back({*d.db, t});
          src.conn().exec("CREATE TEMP TABLE IF NOT EXISTS " + qi(name(*d.db, t)) + " (rid INTEGER PRIMARY KEY)");
        }
  }

  bool exported(DbId db, std::string_view table) const {
    return std::find(tables_.begin(), tables_.end(), std::pair<DbId, std::string>(db, std::string(table))) !=
           tables_.end();
  }
  std::string set(DbId db, std::string_view table) const { return "temp." + qi(name(db, table)); }
  // "(SELECT column FROM table WHERE doomed)"
  std::string values_of(DbId db, std::string_view table, std::string_view column) const {
    return "(SELECT " + qi(column) + " FROM " + src_.qualified(db, table) + " WHERE rowid IN (SELECT rid FROM " +
           set(db, table) + "))";
  }
  // Dooms the exported rows of `table` matching `where`.
  void add(DbId db, std::string_view table, const std::string& where) {
    if (!exported(db, table)) return;
    src_.conn().exec("INSERT OR IGNORE INTO " + set(db, table) + " (rid) SELECT rowid FROM " +
                     src_.qualified(db, table) + " WHERE rowid IN (" + sel_.rowids_sql(db, table) + ") AND (" + where +
                     ")");
  }
  const std::vector<std::pair<DbId, std::string>>& tables() const { return tables_; }

 private:
  std::string name(DbId db, std::string_view table) const {
    return "del:" + schema_name(db) + "." + std::string(table);
  }
  Source& src_;
  const Selection& sel_;
  std::vector<std::pair<DbId, std::string>> tables_;
};

void doom_partial(Source& src, Doomed& d, const std::vector<int64_t>& runs, bool delete_tasks) {
  src.conn().exec("CREATE TEMP TABLE IF NOT EXISTS del_runs (id INTEGER PRIMARY KEY)");
  sql::Stmt ins = src.conn().prepare("INSERT OR IGNORE INTO temp.del_runs (id) VALUES (?1)");
  for (int64_t id : runs) {
    ins.bind(1, id);
    ins.run();
  }
  const std::string in_runs = " IN (SELECT id FROM temp.del_runs)";
  for (std::string_view t : {"task_runs", "assignments", "units", "agents", "onboarding_agents"})
    d.add(M, t, "task_run_id" + in_runs);
  if (delete_tasks)
    d.add(M, "tasks", "task_id IN (SELECT task_id FROM main.task_runs WHERE task_run_id" + in_runs + ")");
  std::string units = d.values_of(M, "units", "unit_id");
  d.add(M, "worker_review",
        "unit_id IN " + units + " OR (unit_id IS NULL AND task_id IN " + d.values_of(M, "tasks", "task_id") + ")");
  for (const DbSpec& spec : databases()) {
    DbId p = spec.id;
    if (p == M || !src.attached(p)) continue;
    switch (rules_of(p)) {
      case DbId::Prolific:
        for (std::string_view t : {"studies", "run_mappings", "runs", "qualifications"})
          d.add(p, t, "task_run_id" + in_runs);
        d.add(p, "units", "task_run_id" + in_runs + " OR unit_id IN " + units);
        d.add(p, "submissions", "prolific_study_id IN " + d.values_of(p, "studies", "prolific_study_id"));
        break;
      case DbId::Mock:
        d.add(p, "units", "unit_id IN " + units);
        break;
      case DbId::Mturk:
        d.add(p, "runs", "run_id" + in_runs);
        d.add(p, "run_mappings", "run_id" + in_runs);
        d.add(p, "hits", "hit_id IN " + d.values_of(p, "run_mappings", "hit_id") + " OR unit_id IN " + units);
        break;
      default:
        break;
    }
  }
}

struct Dangling {
  const Reference* ref;
  std::string value;
};

// A remaining row whose reference would point at a deleted row, if any.
std::optional<Dangling> find_dangling(Source& src, const Doomed& d) {
  for (const Reference& r : src.references()) {
    if (!d.exported(r.target_db, r.target_table)) continue;
    std::string source = src.qualified(r.db, r.table), target = src.qualified(r.target_db, r.target_table);
    std::string remaining =
        d.exported(r.db, r.table) ? " AND s.rowid NOT IN (SELECT rid FROM " + d.set(r.db, r.table) + ")" : "";
    std::string values = r.kind == RefKind::JsonIdList
                             ? "SELECT j.value AS v FROM " + source + " AS s, json_each(CASE WHEN json_valid(s." +
                                   qi(r.column) + ") THEN s." + qi(r.column) + " ELSE '[]' END) AS j WHERE 1" +
                                   remaining
                             : "SELECT s." + qi(r.column) + " AS v FROM " + source + " AS s WHERE s." + qi(r.column) +
                                   " IS NOT NULL" + remaining;
    std::string tc = qi(r.target_column), doomed = "SELECT rid FROM " + d.set(r.target_db, r.target_table);
    sql::Stmt s =
        src.conn().prepare("SELECT v FROM (" + values + ") WHERE v IN (SELECT " + tc + " FROM " + target +
                           " WHERE rowid IN (" + doomed + ")) AND v NOT IN (SELECT " + tc + " FROM " + target +
                           " WHERE rowid NOT IN (" + doomed + ") AND " + tc + " IS NOT NULL) LIMIT 1");
    if (s.step()) return Dangling{&r, s.column(0).to_string()};
  }
  return std::nullopt;
}

// Moves run directories out of data/ into our trash (on their filesystem: see meta_dir_for),
// each recorded in the change's undo log, which moves it back unless the change commits.
class RunDirMover {
 public:
  RunDirMover(const DataDir& dir, AtomicChange& change)
      : dir_(dir), change_(change), mounts_(fs::mount_points_inside(dir.root())) {}
  void move(const stdfs::path& run_dir) {
    if (!fs::exists(run_dir)) return;
    for (const stdfs::path& m : mounts_)
      if (m == run_dir || m.string().rfind(run_dir.string() + "/", 0) == 0)
        throw Error("Cannot delete the run directory " + run_dir.string() + ": " + m.string() +
                    " is a mount point, and mephisto-db never deletes what lies on another filesystem or a bind "
                    "mount.");
    const stdfs::path& trash = trash_for(meta_dir_for(dir_, run_dir, mounts_));
    stdfs::path to = trash / std::to_string(moved_);
    fs::rename(run_dir, to);
    change_.record_moved(run_dir, to);
    ++moved_;
  }
  size_t count() const { return moved_; }
  void discard(Console& console) {
    for (const auto& [meta, trash] : trash_) {
      empty_trash(console, trash->path());
      trash->release();  // emptied, or what is left waits for the next command's sweep
      if (meta != dir_.meta_dir()) fs::discard_empty_dir(meta);  // a mount's folder: gone once empty
    }
  }

 private:
  const stdfs::path& trash_for(const stdfs::path& meta) {
    fs::OwnedTempDir*& trash = trash_[meta];
    if (!trash) {
      fs::mkdirs(meta);
      trash = &change_.hold_trash(make_trash(meta));
    }
    return trash->path();
  }

  const DataDir& dir_;
  AtomicChange& change_;
  std::vector<stdfs::path> mounts_;
  std::map<stdfs::path, fs::OwnedTempDir*> trash_;  // our folder -> our trash in it (held by the change)
  size_t moved_ = 0;
};

std::string task_name(Source& src, const std::string& id) {
  sql::Stmt s = src.conn().prepare("SELECT task_name FROM main.tasks WHERE task_id = ?1");
  s.bind(1, id);
  return s.step() ? s.column_text(0) : id;
}

}  // namespace

DeleteResult delete_exported(Source& src, const Selection& sel, const std::vector<int64_t>& runs, bool delete_tasks,
                             sql::Transaction& txn, AtomicChange& change, Console& console) {
  interrupt::check();  // the dump is saved; nothing is deleted yet
  DeleteResult result;
  Doomed doomed(src, sel);
  if (sel.kind() == DumpKind::Full) {
    for (const auto& [db, table] : doomed.tables()) doomed.add(db, table, "1");
  } else {
    doom_partial(src, doomed, runs, delete_tasks);
  }

  // No reference may dangle. A task still referenced (e.g. named as parent by a remaining task)
  // stays, with its task-level reviews; anything else is an error before anything is deleted.
  while (auto d = find_dangling(src, doomed)) {
    const Reference& r = *d->ref;
    if (r.target_db == M && r.target_table == "tasks" && sel.kind() == DumpKind::Partial) {
      sql::Stmt keep = src.conn().prepare("DELETE FROM " + doomed.set(M, "tasks") +
                                          " WHERE rid IN (SELECT rowid FROM main.tasks WHERE task_id = ?1)");
      keep.bind(1, d->value);
      keep.run();
      sql::Stmt reviews =
          src.conn().prepare("DELETE FROM " + doomed.set(M, "worker_review") +
                             " WHERE rid IN (SELECT rowid FROM main.worker_review WHERE unit_id IS NULL "
                             "AND task_id = ?1)");
      reviews.bind(1, d->value);
      reviews.run();
      result.notes.push_back("Task " + task_name(src, d->value) + " (" + d->value + ") was kept: " +
                             (r.table == "tasks" && r.column == "parent_task_id"
                                  ? std::string("another task names it as its parent")
                                  : "it is still referenced by " + r.table + "." + r.column) +
                             ".");
      continue;
    }
    throw Error("Cannot delete the exported data: a row of " + src.file_of(r.db) + " table " + r.table +
                " that is not exported refers to " + r.target_table + " " + r.target_column + " = " + d->value +
                " (column " + r.column + "), which would be deleted.", ErrorKind::Conflict);
  }

  std::vector<RunDir> run_dirs = run_dirs_of(src, "SELECT rid FROM " + doomed.set(M, "task_runs"));
  src.conn().exec("PRAGMA defer_foreign_keys = ON");
  for (const auto& [db, table] : doomed.tables()) {
    src.conn().exec("DELETE FROM " + src.qualified(db, table) + " WHERE rowid IN (SELECT rid FROM " +
                    doomed.set(db, table) + ")");
    result.rows += static_cast<uint64_t>(sqlite3_changes64(src.conn().get()));
  }
  for (const DbSpec& spec : databases()) {
    if (!src.attached(spec.id)) continue;
    Value broken =
        src.conn().query_value("SELECT count(*) FROM " + qi(schema_name(spec.id)) + ".pragma_foreign_key_check");
    if (broken.i != 0)
      throw Error("Cannot delete the exported data: " + src.file_of(spec.id) + " would break " + broken.to_string() +
                  " foreign keys.", ErrorKind::Conflict);
  }

  // Every statement ran: now the run directories go, then the transaction commits. The last
  // point where a signal stops the deletion: from here it runs to the end.
  interrupt::check();
  RunDirMover mover(src.dir(), change);
  for (const RunDir& run : run_dirs) mover.move(src.dir().run_dir(run.project, run.id));
  txn.commit();
  change.commit();
  result.run_dirs = mover.count();
  mover.discard(console);
  return result;
}

}  // namespace mdb
