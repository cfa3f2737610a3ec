#include "datadir/datadir.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "base/error.h"
#include "formats/safe_path.h"
#include "platform/env.h"

namespace mdb {

DataDir DataDir::open_existing(const stdfs::path& root) {
  std::error_code ec;
  auto st = stdfs::status(root, ec);
  if (ec || !stdfs::exists(st))
    throw Error("The data directory " + root.string() + " does not exist. Check --data-dir, MEPHISTO_DATA_DIR or "
                "core.main_data_directory in ~/.mephisto/config.yml.", ErrorKind::NotFound);
  if (!stdfs::is_directory(st)) throw Error("The data directory " + root.string() + " is not a directory.");
  if (::access(root.c_str(), R_OK | X_OK) != 0)
    throw Error("The data directory " + root.string() + " is not readable: " + std::strerror(errno) +
                ".", ErrorKind::Io);
  return DataDir(root);
}

bool DataDir::has_db(DbId db) const { return fs::exists(db_path(db)); }

std::string project_dir_problem(const Value& project_name) {
  if (project_name.is_null()) return "is NULL";
  return path_component_problem(project_name.to_string());
}

stdfs::path run_dir_path(const std::optional<std::string>& project_name, int64_t task_run_id) {
  std::string dir = project_name.value_or("NO_PROJECT");
  if (std::string problem = path_component_problem(dir); !problem.empty())
    throw Error("The project name \"" + dir + "\" cannot be a directory under data/runs/: it " + problem +
                " (see docs/PATHS.md).");
  return stdfs::path("data") / "runs" / dir / std::to_string(task_run_id);
}

stdfs::path DataDir::run_dir(const std::optional<std::string>& project_name, int64_t task_run_id) const {
  return root_ / run_dir_path(project_name, task_run_id);
}

std::vector<std::string> DataDir::provider_types(const sql::Db& mephisto) const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  sql::Stmt s = mephisto.prepare("SELECT provider_type FROM requesters");
  while (s.step()) {
    std::string p = s.column_text(0);
    if (seen.insert(p).second) out.push_back(p);
  }
  return out;
}

sql::Db create_database(const stdfs::path& path, DbId db) {
  fs::mkdirs(path.parent_path());
  sql::Db handle = sql::Db::create(path);
  sql::Transaction txn(handle);
  create_schema(handle, schema_kind_of(db));
  txn.commit();
  return handle;
}

}  // namespace mdb
