#include "tests/export/export_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>

#include "core/registry.h"
#include "core/schema.h"
#include "formats/zip.h"
#include "store/sqlite.h"

namespace mdb::test {

stdfs::path s1_backup() {
  return fixtures() / "s1_realistic_export" / "backups" / "2026_11_25_15_40_27_mephisto_backup.zip";
}

stdfs::path unpack(const stdfs::path& backup, const stdfs::path& dir) {
  stdfs::path data = dir / "data";
  unzip_to(backup, data);
  return data;
}

stdfs::path rebuild_s4(const std::string& state, const stdfs::path& dir) {
  stdfs::path src = fixtures() / "s4_legacy" / "db_state" / state, data = dir / "data";
  stdfs::create_directories(data);
  const std::vector<std::pair<std::string, std::string>> dbs = {
      {"database", "database.db"}, {"mock_mock", "mock/mock.db"}, {"prolific_prolific", "prolific/prolific.db"}};
  for (const auto& [dump, file] : dbs) {
    if (!stdfs::exists(src / (dump + ".dump.sql"))) continue;
    stdfs::create_directories((data / file).parent_path());
    sql::Db db = sql::Db::create(data / file);
    db.exec(read(src / (dump + ".dump.sql")));
  }
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
  d.json = Json::parse(d.json_text);
  return d;
}

namespace {

// A value as text, the way references compare: ids as decimal digits whatever their JSON type.
std::string key_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

core::SchemaInfo schema_of(const stdfs::path& data, core::DbId db) {
  stdfs::path file = data / core::db_spec(db).file;
  if (!stdfs::exists(file)) return {};
  return core::read_schema(sql::Db::open_readonly(file));
}

}  // namespace

std::map<std::string, Json> rows_by_key(const Dump& d, const std::string& db, const std::string& table) {
  std::map<std::string, Json> out;
  if (!d.json.contains(db) || !d.json[db].contains(table)) return out;
  auto id = core::db_from_key(db);
  const core::TableSpec* spec = id ? core::find_table_spec(*id, table) : nullptr;
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
    auto db = core::db_from_key(key);
    if (!db || key == "dump_metadata" || !tables.is_object()) continue;
    for (const core::Reference& ref : core::references(*db, schema_of(data, *db))) {
      if (!tables.contains(ref.table)) continue;
      std::string target_key(core::db_spec(ref.target_db).key);
      std::set<std::string> targets;
      if (d.json.contains(target_key) && d.json[target_key].contains(ref.target_table))
        for (const Json& row : d.json[target_key][ref.target_table])
          if (row.contains(ref.target_column)) targets.insert(key_text(row[ref.target_column]));
      for (const Json& row : tables[ref.table]) {
        if (!row.contains(ref.column) || row[ref.column].is_null()) continue;
        std::vector<std::string> values;
        if (ref.kind == core::RefKind::JsonIdList) {
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

}  // namespace mdb::test
