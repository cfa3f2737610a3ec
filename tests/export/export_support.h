#pragma once
// Plumbing shared by the export tests: fixture data dirs, running `mephisto db export`, reading a
// dump back (JSON, Cap'n Proto half, files), and the checks every dump must pass (closure).
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/capnp_dump.h"
#include "tests/support/testenv.h"

namespace mdb::test {

using Json = nlohmann::ordered_json;

// The s1 data dir before any -del: a copy of the original's backup taken by its full -del.
stdfs::path s1_backup();
// Unzips a backup zip of the original (a complete data dir) into `dir`/data; returns that path.
stdfs::path unpack(const stdfs::path& backup, const stdfs::path& dir);
// The databases of a fixture state (`<scenario>/db_state/<state>`, from its .dump.sql files) in
// `dir`/data, without run files; returns that path.
stdfs::path rebuild_dbs(const std::string& state, const stdfs::path& dir);
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
  Json json;  // discarded when the text holds Python's Infinity or NaN
  std::string capnp;                         // the Cap'n Proto member's bytes
  std::map<std::string, std::string> files;  // runs/... -> content
  std::vector<std::string> directories;      // runs/.../ entries
  std::map<std::string, uint32_t> modes;     // every member -> Unix mode
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

// The lines of one of the original's logs (path relative to fixtures()), without the command
// line and the exit code, with the dump path replaced by `zip`: the options block first, then
// the progress and result lines.
std::vector<std::string> original_log_lines(const std::string& log, const stdfs::path& zip = {});
// The lines of `text`.
std::vector<std::string> lines(const std::string& text);

// The JSON text with the value of "timestamp" blanked.
std::string without_timestamp(const std::string& json);

}  // namespace mdb::test

namespace mdb::test {

// References of every DB of a data dir (declared and registry) whose value finds no target row:
// "prolific.units.unit_id=5 -> units.unit_id". Empty for a consistent data dir.
std::vector<std::string> dangling_references(const stdfs::path& data);

// `PRAGMA foreign_key_check` rows of every DB of a data dir.
std::vector<std::string> foreign_key_violations(const stdfs::path& data);

}  // namespace mdb::test

namespace mdb::test {

// The differences between the JSON and the Cap'n Proto halves of a dump after the spec's
// normalisation (Mephisto `_id` strings as integers, dates as instants, blobs as base64 text).
std::vector<std::string> halves_differences(const Dump& d);

// -r: a randomized dump mapped back through its pk_substitutions (new id -> old id, in values,
// inside JSON text and in file paths), to compare with a plain export of the same data.
struct Unmapper {
  explicit Unmapper(const Json& pk_substitutions);
  Json rows(const Json& v) const;
  std::map<std::string, std::string> files(const std::map<std::string, std::string>& files) const;
  std::map<std::string, std::string> back;  // new -> old
};

}  // namespace mdb::test
