#pragma once
// A Mephisto data directory (data-dir.md): its databases, run files and our own
// `.mephisto-db/` folder.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "datadir/registry.h"
#include "datadir/schema.h"
#include "platform/sqlite.h"

namespace mdb {

namespace stdfs = std::filesystem;

class DataDir {
 public:
  explicit DataDir(stdfs::path root) : root_(std::move(root)) {}

  // Checks that `root` is a readable directory; throws a one-paragraph error naming the path
  // otherwise. Creates nothing. What its databases may be is check_databases' (classify.h).
  static DataDir open_existing(const stdfs::path& root);

  const stdfs::path& root() const { return root_; }
  stdfs::path db_path(DbId db) const { return root_ / db_spec(db).file; }
  bool has_db(DbId db) const;
  // root / run_dir_path(project_name, task_run_id).
  stdfs::path run_dir(const std::optional<std::string>& project_name, int64_t task_run_id) const;
  // Our folder (journal marker, locks); never exported, never restored over.
  stdfs::path meta_dir() const { return root_ / ".mephisto-db"; }

  // Provider types of the local `requesters`, in the order SQLite returns
  // `SELECT provider_type FROM requesters`, duplicates dropped (the original's query).
  std::vector<std::string> provider_types(const sql::Db& mephisto) const;

 private:
  stdfs::path root_;
};

// The one step from a project name to a directory (docs/PATHS.md). Why `project_name` (a
// projects.project_name as stored) cannot be the directory data/runs/<project_name>/, or "" when
// it can: it must be exactly one path component (path_component_problem: not empty, ".", "..",
// no '/', no NUL). Callers report it naming the row before anything is read or written.
std::string project_dir_problem(const Value& project_name);

// data/runs/<project_name>/<task_run_id> relative to the data dir; NO_PROJECT when the task has no
// project (nullopt). A name with a project_dir_problem throws mdb::Error: nothing outside
// data/runs/ is ever named from a database value.
stdfs::path run_dir_path(const std::optional<std::string>& project_name, int64_t task_run_id);

// Creates `path` (and its parent dir) as a fresh database with the final schema of `db`.
sql::Db create_database(const stdfs::path& path, DbId db);

}  // namespace mdb
