#pragma once
// Helpers for the import tests: running imports, and the rows of data dirs, fixture DB states and
// dumps in one comparable form (dates as instants, ids as integers: mdb::normalize_dump_value).
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tests/support/testenv.h"

namespace mdb::test {

// "db.table" -> the table's rows, each rendered "col=value|..." in column order, sorted.
using Rows = std::map<std::string, std::vector<std::string>>;

// Every table of every database of a data dir (database.db and the provider datastores).
Rows datadir_rows(const stdfs::path& data_dir);
// The same for a fixture `db_state/<label>/` (its *.dump.sql files).
Rows state_rows(const stdfs::path& state_dir);
// The rows of a dump zip, named by the local tables they go to.
Rows dump_rows(const stdfs::path& zip);
// Rows without the bookkeeping of the import itself: imported_data, and the migrations rows each
// created database gets (dated when it was created).
Rows without_bookkeeping(Rows rows);
// The run files of a data dir (path under data/ -> content).
std::map<std::string, std::string> run_files(const stdfs::path& data);
// A readable list of the differences (empty when equal), for the tables of `expected`.
std::string diff_rows(const Rows& expected, const Rows& actual);

// `mephisto --data-dir DATA --outputs-dir DATA/../outputs db import -f ZIP ARGS...`, answering yes.
RunResult import(const stdfs::path& data, const stdfs::path& zip, std::vector<std::string> args = {},
                 const std::map<std::string, std::string>& env = {});

// The rows of `sql` on the database `db`: columns joined by '|', a line per row.
std::string query(const stdfs::path& db, const std::string& sql);

// Every fixture dump zip (not the tampered ones), sorted.
std::vector<stdfs::path> fixture_dumps();
bool is_qualification_only(const stdfs::path& zip);

// Unzips a fixture backup (a whole data dir) into `data`.
void unpack_backup(const stdfs::path& zip, const stdfs::path& data);

}  // namespace mdb::test

namespace mdb::test {
// References of a data dir that do not resolve (declared, reference-like, provider, JSON id lists),
// one line each; empty when every reference reaches its row. Also runs PRAGMA foreign_key_check.
std::vector<std::string> dangling_references(const stdfs::path& data_dir);
}  // namespace mdb::test

namespace mdb::test {
// Runs a rapidcheck property `cases` times (each case builds data dirs, so fewer than the default
// 100), failing the current GoogleTest test with rapidcheck's report when it does not hold.
void check_property(int cases, const std::function<void()>& property);

// `mephisto-sample --out DIR --seed N ARGS...`; a small data dir by default.
void make_sample(const stdfs::path& dir, int seed, std::vector<std::string> args = {"--task-runs", "3",
                                                                                   "--units-per-run", "3"});
// `mephisto db export ARGS...` of `data` into `outputs`; returns the dump's path.
stdfs::path export_dump(const stdfs::path& data, const stdfs::path& outputs, std::vector<std::string> args = {});
}  // namespace mdb::test
