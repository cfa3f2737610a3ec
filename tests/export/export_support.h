#pragma once
// Plumbing shared by the export tests: fixture data dirs, running `mephisto db export`, reading a
// dump back (JSON, Cap'n Proto half, files), and the checks every dump must pass (closure).
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/capnp_dump.h"
#include "tests/support/testenv.h"

namespace mdb::test {

using Json = nlohmann::ordered_json;

// The s1 data dir before any -del: a copy of the original's backup taken by its full -del.
stdfs::path s1_backup();
// Unzips a backup zip of the original (a complete data dir) into `dir`/data; returns that path.
stdfs::path unpack(const stdfs::path& backup, const stdfs::path& dir);
// The s4 legacy data dir as db_state/<state> describes it (DB dumps and file tree).
stdfs::path rebuild_s4(const std::string& state, const stdfs::path& dir);
// A data dir from mephisto-sample.
stdfs::path sample(const stdfs::path& dir, int seed, const std::vector<std::string>& extra = {});

// `mephisto --data-dir DATA --outputs-dir OUT db export ARGS...`
RunResult export_dump(const stdfs::path& data, const stdfs::path& out, const std::vector<std::string>& args,
                      const std::string& stdin_text = "", const std::map<std::string, std::string>& env = {});
// The zips in OUT/export, sorted by name.
std::vector<stdfs::path> dump_zips(const stdfs::path& out);
// Every entry under `dir` (also hidden ones), relative, sorted.
std::vector<std::string> listing(const stdfs::path& dir);

struct Dump {
  std::string stem;
  std::string json_text;
  Json json;
  std::string capnp;                           // the Cap'n Proto member's bytes
  std::map<std::string, std::string> files;    // runs/... -> content
  std::vector<std::string> directories;        // runs/.../ entries
  std::map<std::string, uint32_t> modes;       // every member -> Unix mode
};
Dump read_dump(const stdfs::path& zip);

// The rows of one table of a dump, keyed by their primary key value as text ("" when none).
std::map<std::string, Json> rows_by_key(const Dump& d, const std::string& db, const std::string& table);

// Every reference of data-dir.md that starts in the dump and does not end in it, described
// ("mephisto.units.worker_id=5 -> workers.worker_id"). `data` supplies the schemas.
std::vector<std::string> closure_violations(const Dump& d, const stdfs::path& data);

// Everything a data dir holds that a state comparison cares about: every file under data/ and
// the logical content (.dump) of every DB. Our own .mephisto-db folder is left out.
std::map<std::string, std::string> state_of(const stdfs::path& data);

// The JSON text with the value of "timestamp" blanked.
std::string without_timestamp(const std::string& json);

}  // namespace mdb::test
