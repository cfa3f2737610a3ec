#include "tests/export/export_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "dump/dump_values.h"
#include "export/export_source.h"
#include "datadir/registry.h"
#include "datadir/schema.h"
#include "formats/base64.h"
#include "formats/dump_json.h"
#include "formats/zip.h"
#include "platform/sqlite.h"

namespace mdb::test {

stdfs::path s1_backup() {
  return fixtures() / "s1_realistic_export" / "backups" / "2026_11_25_15_40_27_mephisto_backup.zip";
}

stdfs::path unpack(const stdfs::path& backup, const stdfs::path& dir) {
  stdfs::path data = dir / "data";
  unzip_to(backup, data);
  return data;
}

stdfs::path rebuild_dbs(const std::string& state, const stdfs::path& dir) {
  stdfs::path src = fixtures() / state, data = dir / "data";
  stdfs::create_directories(data);
  const std::vector<std::pair<std::string, std::string>> dbs = {{"database", "database.db"},
                                                                {"mock_mock", "mock/mock.db"},
                                                                {"mturk_mturk", "mturk/mturk.db"},
                                                                {"prolific_prolific", "prolific/prolific.db"}};
  for (const auto& [dump, file] : dbs) {
    if (!stdfs::exists(src / (dump + ".dump.sql"))) continue;
    stdfs::create_directories((data / file).parent_path());
    sql::Db db = sql::Db::create(data / file);
    db.exec(read(src / (dump + ".dump.sql")));
  }
  return data;
}

stdfs::path rebuild_s4(const std::string& state, const stdfs::path& dir) {
  stdfs::path src = fixtures() / "s4_legacy" / "db_state" / state;
  stdfs::path data = rebuild_dbs("s4_legacy/db_state/" + state, dir);
  std::ifstream tree(src / "file_tree.txt");
  for (std::string line; std::getline(tree, line);)
    if (line.rfind("./data/", 0) == 0 && line.size() > 5 && line.substr(line.size() - 5) == ".json")
      write(data / line.substr(2), "{\"path\": \"" + line.substr(2) + "\"}");
  return data;
}

stdfs::path sample(const stdfs::path& dir, int seed, const std::vector<std::string>& extra) {
  stdfs::path data = dir / "data";
  std::vector<std::string> args = {"--out", data.string(), "--seed", std::to_string(seed)};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = run(sample_binary(), args);
  if (r.exit_code != 0) throw std::runtime_error("mephisto-sample failed: " + r.err);
  return data;
}

RunResult export_dump(const stdfs::path& data, const stdfs::path& out, const std::vector<std::string>& args,
                      const std::string& stdin_text, const std::map<std::string, std::string>& env) {
  std::vector<std::string> all = {"--data-dir", data.string(), "--outputs-dir", out.string(), "db", "export"};
  all.insert(all.end(), args.begin(), args.end());
  return run_mephisto(all, stdin_text, env);
}

std::vector<stdfs::path> dump_zips(const stdfs::path& out) {
  std::vector<stdfs::path> zips;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(out / "export", ec))
    if (e.path().extension() == ".zip") zips.push_back(e.path());
  std::sort(zips.begin(), zips.end());
  return zips;
}

std::vector<std::string> original_log_lines(const std::string& log, const stdfs::path& zip) {
  std::vector<std::string> out;
  std::istringstream in(read(fixtures() / log));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("$ mephisto", 0) == 0 || line.rfind("[exit code", 0) == 0) continue;
    out.push_back(std::regex_replace(line, std::regex("/srv/mephisto/outputs/export/.*\\.zip"), zip.string()));
  }
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> listing(const stdfs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(dir, ec); !ec && it != stdfs::recursive_directory_iterator();
       it.increment(ec))
    out.push_back(stdfs::relative(it->path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

Dump read_dump(const stdfs::path& zip_path) {
  Dump d;
  zip::Reader r(zip_path);
  r.validate({});
  d.stem = zip_path.stem().string();
  for (const zip::Entry& e : r.entries()) {
    d.modes[e.name] = e.unix_mode;
    if (e.is_directory) {
      d.directories.push_back(e.name);
    } else if (e.name == d.stem + ".json") {
      d.json_text = r.read(e, 1 << 30);
    } else if (e.name == d.stem + ".capnp") {
      d.capnp = r.read(e, 1 << 30);
    } else {
      d.files[e.name] = r.read(e, 1 << 30);
    }
  }
  // Python's Infinity and NaN are no JSON to nlohmann: such a dump keeps only its text.
  d.json = Json::parse(d.json_text, nullptr, /*allow_exceptions=*/false);
  return d;
}

namespace {

// A value as text, the way references compare: ids as decimal digits whatever their JSON type.
std::string key_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

mdb::SchemaInfo schema_of(const stdfs::path& data, mdb::DbId db) {
  stdfs::path file = data / mdb::db_spec(db).file;
  if (!stdfs::exists(file)) return {};
  return mdb::read_schema(sql::Db::open_readonly(file));
}

}  // namespace

std::map<std::string, Json> rows_by_key(const Dump& d, const std::string& db, const std::string& table) {
  std::map<std::string, Json> out;
  if (!d.json.contains(db) || !d.json[db].contains(table)) return out;
  auto id = mdb::db_from_key(db);
  const mdb::TableSpec* spec = id ? mdb::find_table_spec(*id, table) : nullptr;
  std::string pk = spec ? std::string(spec->pk) : "";
  size_t i = 0;
  for (const Json& row : d.json[db][table]) {
    std::string key = !pk.empty() && row.contains(pk) ? key_text(row[pk]) : "#" + std::to_string(i);
    out[key] = row;
    ++i;
  }
  return out;
}

std::vector<std::string> closure_violations(const Dump& d, const stdfs::path& data) {
  std::vector<std::string> out;
  for (const auto& [key, tables] : d.json.items()) {
    auto db = mdb::db_from_key(key);
    if (!db || key == "dump_metadata" || !tables.is_object()) continue;
    for (const mdb::Reference& ref : mdb::references(*db, schema_of(data, *db))) {
      if (!tables.contains(ref.table)) continue;
      std::string target_key(mdb::db_spec(ref.target_db).key);
      std::set<std::string> targets;
      if (d.json.contains(target_key) && d.json[target_key].contains(ref.target_table))
        for (const Json& row : d.json[target_key][ref.target_table])
          if (row.contains(ref.target_column)) targets.insert(key_text(row[ref.target_column]));
      for (const Json& row : tables[ref.table]) {
        if (!row.contains(ref.column) || row[ref.column].is_null()) continue;
        std::vector<std::string> values;
        if (ref.kind == mdb::RefKind::JsonIdList) {
          Json list = Json::parse(row[ref.column].get<std::string>(), nullptr, false);
          if (list.is_array())
            for (const Json& e : list) values.push_back(key_text(e));
        } else {
          values.push_back(key_text(row[ref.column]));
        }
        for (const std::string& v : values)
          if (!targets.count(v))
            out.push_back(key + "." + ref.table + "." + ref.column + "=" + v + " -> " + ref.target_table + "." +
                          ref.target_column);
      }
    }
  }
  return out;
}

std::map<std::string, std::string> state_of(const stdfs::path& data) {
  std::map<std::string, std::string> out;
  for (const auto& [path, content] : tree(data)) {
    if (path.rfind(".mephisto-db", 0) == 0) continue;
    out[path] = path.size() > 3 && path.substr(path.size() - 3) == ".db" ? sqlite_dump(data / path) : content;
  }
  return out;
}

std::string without_timestamp(const std::string& json) {
  static const std::regex kStamp("\"timestamp\": \"[0-9_]*\"");
  return std::regex_replace(json, kStamp, "\"timestamp\": \"\"");
}


std::vector<std::string> dangling_references(const stdfs::path& data) {
  std::vector<std::string> out;
  mdb::Source src(mdb::DataDir(data), /*writable=*/false);
  for (const mdb::Reference& r : src.references()) {
    std::string col = sql::quote_ident(r.column), values;
    if (r.kind == mdb::RefKind::JsonIdList)
      values = "SELECT j.value AS v FROM " + src.qualified(r.db, r.table) + " AS s, json_each(s." + col + ") AS j";
    else
      values = "SELECT " + col + " AS v FROM " + src.qualified(r.db, r.table) + " WHERE " + col + " IS NOT NULL";
    sql::Stmt s = src.conn().prepare(
        "SELECT v FROM (" + values + ") WHERE v NOT IN (SELECT " + sql::quote_ident(r.target_column) + " FROM " +
        src.qualified(r.target_db, r.target_table) + " WHERE " + sql::quote_ident(r.target_column) + " IS NOT NULL)");
    while (s.step())
      out.push_back(std::string(mdb::db_spec(r.db).key) + "." + r.table + "." + r.column + "=" +
                    s.column(0).to_string() + " -> " + r.target_table + "." + r.target_column);
  }
  return out;
}

std::vector<std::string> foreign_key_violations(const stdfs::path& data) {
  std::vector<std::string> out;
  for (const mdb::DbSpec& spec : mdb::databases()) {
    stdfs::path file = data / spec.file;
    if (!stdfs::exists(file)) continue;
    sql::Db db = sql::Db::open_readonly(file);
    sql::Stmt s = db.prepare("PRAGMA foreign_key_check");
    while (s.step())
      out.push_back(std::string(spec.file) + ": " + s.column(0).to_string() + " row " + s.column(1).to_string());
  }
  return out;
}


namespace {

using TableRows = std::map<std::string, std::vector<std::pair<std::vector<std::string>, Row>>>;

void normalize(std::string_view db, const std::vector<std::string>& columns, Row& row, bool blobs_as_text) {
  auto id = mdb::db_from_key(db);
  for (size_t i = 0; i < row.size(); ++i) {
    if (blobs_as_text && row[i].kind == StorageClass::Blob) row[i] = Value::text(mdb::base64(row[i].s));
    if (id) mdb::normalize_dump_value(*id, columns[i], row[i]);
  }
}

struct JsonRows : DumpJsonVisitor {
  TableRows rows;
  std::vector<std::string> problems;
  void begin_table(std::string_view db, std::string_view table) override {
    rows[std::string(db) + "." + std::string(table)];
  }
  void row(std::string_view db, std::string_view table, size_t, const std::vector<std::string>& columns,
           Row& values) override {
    normalize(db, columns, values, false);
    rows[std::string(db) + "." + std::string(table)].push_back({columns, values});
  }
  void problem(std::string message) override { problems.push_back(message); }
};

struct CapnpRows : capnp_dump::StreamVisitor {
  TableRows rows;
  void header(const capnp_dump::Header&) override {}
  void begin_table(std::string_view db, std::string_view table, const std::vector<std::string>&) override {
    rows[std::string(db) + "." + std::string(table)];
  }
  void row(std::string_view db, std::string_view table, size_t, const std::vector<std::string>& columns,
           Row& values) override {
    normalize(db, columns, values, true);
    rows[std::string(db) + "." + std::string(table)].push_back({columns, values});
  }
};

}  // namespace

std::vector<std::string> halves_differences(const Dump& d) {
  std::vector<std::string> out;
  JsonRows json;
  read_dump_json(d.json_text, json, "json");
  for (const std::string& p : json.problems) out.push_back("JSON: " + p);
  CapnpRows capnp;
  size_t pos = 0;
  capnp_dump::read_stream(
      [&](char* buf, size_t n) {
        size_t k = std::min(n, d.capnp.size() - pos);
        std::memcpy(buf, d.capnp.data() + pos, k);
        pos += k;
        return k;
      },
      capnp, "capnp");
  for (const auto& [table, rows] : json.rows) {
    auto it = capnp.rows.find(table);
    if (it == capnp.rows.end()) {
      out.push_back(table + ": missing from the Cap'n Proto half");
      continue;
    }
    if (it->second.size() != rows.size()) out.push_back(table + ": row counts differ");
    for (size_t i = 0; i < rows.size() && i < it->second.size(); ++i)
      if (rows[i].first != it->second[i].first || !(rows[i].second == it->second[i].second))
        out.push_back(table + ": row " + std::to_string(i) + " differs");
  }
  for (const auto& [table, rows] : capnp.rows)
    if (!json.rows.count(table)) out.push_back(table + ": missing from the JSON half");
  return out;
}

Unmapper::Unmapper(const Json& subs) {
  for (const auto& [db, tables] : subs.items())
    for (const auto& [t, m] : tables.items())
      for (const auto& [old, fresh] : m.items()) back[fresh.get<std::string>()] = old;
}

Json Unmapper::rows(const Json& v) const {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (auto it = back.find(s); it != back.end()) return it->second;
    for (const auto& [fresh, old] : back)  // ids inside JSON text (qualification_ids, imported_data)
      for (size_t at; (at = s.find(fresh)) != std::string::npos;) s.replace(at, fresh.size(), old);
    return s;
  }
  if (v.is_number_integer())
    if (auto it = back.find(std::to_string(v.get<int64_t>())); it != back.end()) return std::stoll(it->second);
  if (v.is_object() || v.is_array()) {
    Json out = v;
    for (auto& [k, e] : out.items()) e = rows(e);
    return out;
  }
  return v;
}

std::map<std::string, std::string> Unmapper::files(const std::map<std::string, std::string>& files) const {
  std::map<std::string, std::string> out;
  for (const auto& [name, content] : files) {
    std::string n = name;
    for (const auto& [fresh, old] : back)
      for (size_t at; (at = n.find(fresh)) != std::string::npos;) n.replace(at, fresh.size(), old);
    out[n] = content;
  }
  return out;
}

}  // namespace mdb::test
