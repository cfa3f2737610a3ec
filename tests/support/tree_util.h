#pragma once
// Helpers for the store tests: a full description of a directory tree (kind, mode, mtime,
// content or link target; databases by their logical content), and hand-made data dirs.
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/testenv.h"

namespace mdb::test {

struct Node {
  char kind = 'f';  // f file, d directory, l symlink
  uint32_t mode = 0;
  int64_t mtime_ns = 0;
  std::string content;  // file bytes, link target, or `sqlite3 .dump` for databases
  bool operator==(const Node&) const = default;
};

// Every entry under `root` except `.mephisto-db/`. Files named *.db are compared by
// `.dump`; with `with_dir_mtimes` false, directory mtimes are ignored.
std::map<std::string, Node> describe(const stdfs::path& root, bool with_dir_mtimes = true);
// A readable diff of two descriptions (empty when equal).
std::string diff(const std::map<std::string, Node>& a, const std::map<std::string, Node>& b);

// A small data dir: database.db (final schema, a few rows), mock/mock.db, run files with
// Unicode and apostrophe names, an empty dir, a symlink, an executable file.
void make_data_dir(const stdfs::path& root);
// Sets a file's mtime (nanoseconds), not following symlinks.
void set_mtime(const stdfs::path& p, int64_t ns);
// Runs `sql` on a database with the sqlite3 shell.
void sqlite_exec(const stdfs::path& db, const std::string& sql);

// `cp -a`: a copy with modes, mtimes and symlinks.
void copy_tree(const stdfs::path& from, const stdfs::path& to);

// A scratch dir holding the paths of a data dir and a store (neither created).
struct DataAndStore {
  TempDir tmp;
  stdfs::path data = tmp / "data", store = tmp / "store";
};

// `backup --json` of `data` into `store`: the new snapshot's name (a test failure otherwise).
std::string backup_snapshot(const stdfs::path& data, const stdfs::path& store);

// `n` pseudo-random (incompressible) bytes, the same for the same seed.
std::string random_bytes(size_t n, uint64_t seed);

// Flips a byte of `needle` where a pack of `store` holds it (incompressible data is stored
// raw); a test failure when no pack does.
void flip_in_packs(const stdfs::path& store, const std::string& needle);

// `mephisto --data-dir D --store S db ARGS...` with "yes" on stdin.
RunResult mdb(const stdfs::path& data, const stdfs::path& store, std::vector<std::string> args,
              const std::map<std::string, std::string>& env = {});

// Every --json object a test saw, validated against docs/json-schema.json when the test ends
// (tools/check_json_schema, python3-jsonschema); a rejected object fails the test.
class SchemaCheck {
 public:
  void add(const RunResult& r);
  // add(r), then the test fails unless `r` exited with `exit_code` and printed one JSON object,
  // which is returned (an empty object when it is not JSON).
  nlohmann::json parse(const RunResult& r, int exit_code = 0);
  ~SchemaCheck();

 private:
  TempDir tmp_;
  stdfs::path dir_ = tmp_.path();
  std::vector<std::string> outputs_;
};

}  // namespace mdb::test
