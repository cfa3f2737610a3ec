#pragma once
// A Mephisto data directory (data-dir.md): its databases, run files and our own
// `.mephisto-db/` folder.
#include <filesystem>
#include <string>
#include <vector>

#include "core/registry.h"
#include "core/schema.h"
#include "store/sqlite.h"

namespace mdb::core {

namespace stdfs = std::filesystem;

class DataDir {
 public:
  explicit DataDir(stdfs::path root) : root_(std::move(root)) {}

  // Checks that `root` is a readable directory holding a SQLite `database.db`; throws a
  // one-paragraph error naming the path otherwise. Creates nothing.
  static DataDir open_existing(const stdfs::path& root);

  const stdfs::path& root() const { return root_; }
  stdfs::path db_path(DbId db) const { return root_ / db_spec(db).file; }
  bool has_db(DbId db) const;
  stdfs::path runs_dir() const { return root_ / "data" / "runs"; }
  // data/runs/<project or NO_PROJECT>/<task_run_id>
  stdfs::path run_dir(const std::string& project_name, const std::string& task_run_id) const;
  // Our folder (journal marker, locks); never exported, never restored over.
  stdfs::path meta_dir() const { return root_ / ".mephisto-db"; }

  // Opens an existing DB; for provider datastores also checks every table of the final
  // schema is present (a table missing is an error naming the file and the table).
  sql::Db open_db(DbId db, bool readonly = false) const;

  // Provider types of the local `requesters`, in the order SQLite returns
  // `SELECT provider_type FROM requesters`, duplicates dropped (the original's query).
  std::vector<std::string> provider_types(const sql::Db& mephisto) const;

 private:
  stdfs::path root_;
};

// Checks that `schema` (read from `path`) has every table the final schema of `kind` has.
void check_tables_present(const SchemaInfo& schema, SchemaKind kind, const stdfs::path& path);

// Creates `path` (and its parent dir) as a fresh database with the final schema of `db`.
sql::Db create_database(const stdfs::path& path, DbId db);

}  // namespace mdb::core
