#include "tests/import/import_util.h"

#include <algorithm>

#include "platform/console.h"
#include "dump/dump_values.h"
#include "import/import_dump.h"
#include "formats/pyjson.h"
#include "platform/sqlite.h"

namespace mdb::test {

namespace {

std::string render(mdb::DbId db, const std::string& column, Value v) {
  (void)mdb::normalize_dump_value(db, column, v);  // a value that does not normalize stays as it is
  switch (v.kind) {
    case StorageClass::Null: return "null";
    case StorageClass::Integer: return std::to_string(v.i);
    case StorageClass::Real: return "r" + python_float_repr(v.r);
    case StorageClass::Text: return "'" + v.s + "'";
    case StorageClass::Blob: return "x'" + v.s + "'";
  }
  return "";
}

void add_db_rows(Rows& out, mdb::DbId id, const stdfs::path& path) {
  sql::Db db = sql::Db::open_readonly(path);
  sql::Stmt tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  std::vector<std::string> names;
  while (tables.step()) names.push_back(tables.column_text(0));
  for (const std::string& t : names) {
    std::vector<std::string>& rows = out[std::string(mdb::db_spec(id).key) + "." + t];
    sql::Stmt s = db.prepare("SELECT * FROM " + sql::quote_ident(t));
    while (s.step()) {
      std::string row;
      for (int i = 0; i < s.column_count(); ++i)
        row += (i ? "|" : "") + s.column_name(i) + "=" + render(id, s.column_name(i), s.column(i));
      rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end());
  }
}

}  // namespace

Rows datadir_rows(const stdfs::path& data_dir) {
  Rows out;
  for (const mdb::DbSpec& spec : mdb::databases())
    if (stdfs::exists(data_dir / spec.file)) add_db_rows(out, spec.id, data_dir / spec.file);
  return out;
}

Rows state_rows(const stdfs::path& state_dir) {
  Rows out;
  TempDir tmp;
  for (const mdb::DbSpec& spec : mdb::databases()) {
    std::string name = spec.id == mdb::DbId::Mephisto ? "database" : std::string(spec.key) + "_" +
                       stdfs::path(spec.file).stem().string();
    stdfs::path dump = state_dir / (name + ".dump.sql");
    if (!stdfs::exists(dump)) continue;
    stdfs::path db_path = tmp / (name + ".db");
    {
      sql::Db db = sql::Db::create(db_path);
      db.exec("PRAGMA foreign_keys = OFF");
      db.exec(read(dump));
    }
    add_db_rows(out, spec.id, db_path);
  }
  return out;
}

Rows dump_rows(const stdfs::path& zip) {
  mdb::Console console(true, true);
  mdb::Problems problems;
  TempDir tmp;
  mdb::Dump dump(zip, tmp.path(), console, problems);
  Rows out;
  for (mdb::DumpTable& t : dump.tables()) {
    std::vector<std::string>& rows = out[std::string(mdb::db_spec(t.db).key) + "." + t.name];
    std::string cols;
    for (size_t i = 0; i < t.columns.size(); ++i) cols += (i ? ", c" : "c") + std::to_string(i);
    sql::Stmt s = dump.stage().prepare("SELECT " + cols + " FROM " + t.stage);
    while (s.step()) {
      std::string row;
      for (size_t i = 0; i < t.columns.size(); ++i)
        row += (i ? "|" : "") + t.columns[i] + "=" + render(t.db, t.columns[i], s.column(static_cast<int>(i)));
      rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end());
  }
  return out;
}

std::string diff_rows(const Rows& expected, const Rows& actual) {
  std::string out;
  for (const auto& [table, rows] : expected) {
    auto it = actual.find(table);
    std::vector<std::string> have = it == actual.end() ? std::vector<std::string>{} : it->second;
    std::vector<std::string> missing, extra;
    std::set_difference(rows.begin(), rows.end(), have.begin(), have.end(), std::back_inserter(missing));
    std::set_difference(have.begin(), have.end(), rows.begin(), rows.end(), std::back_inserter(extra));
    for (const std::string& r : missing) out += table + " expected: " + r + "\n";
    for (const std::string& r : extra) out += table + " unexpected: " + r + "\n";
  }
  return out;
}

RunResult import(const stdfs::path& data, const stdfs::path& zip, std::vector<std::string> args,
                 const std::map<std::string, std::string>& env) {
  std::vector<std::string> all = {"--data-dir", data.string(), "--outputs-dir", (data.parent_path() / "outputs").string(),
                                  "db", "import", "-f", zip.string()};
  all.insert(all.end(), args.begin(), args.end());
  return run_mephisto(all, "yes\n", env);
}

std::vector<stdfs::path> fixture_dumps() {
  std::vector<stdfs::path> out;
  for (const auto& e : stdfs::recursive_directory_iterator(fixtures()))
    if (e.path().extension() == ".zip" && e.path().parent_path().filename() == "dumps") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

bool is_qualification_only(const stdfs::path& zip) {
  std::string manifest = read(zip.parent_path() / "MANIFEST.txt");
  size_t at = manifest.find(zip.filename().string());
  return at != std::string::npos &&
         manifest.substr(at, manifest.find('\n', at) - at).find("\"-qo/--qualification-only\": true") !=
             std::string::npos;
}

void unpack_backup(const stdfs::path& zip, const stdfs::path& data) { unzip_to(zip, data); }

}  // namespace mdb::test

#include <nlohmann/json.hpp>

#include "datadir/schema.h"

namespace mdb::test {

std::vector<std::string> dangling_references(const stdfs::path& data_dir) {
  std::vector<std::string> out;
  sql::Db db = sql::Db::open_readonly(data_dir / "database.db");
  for (const mdb::DbSpec& spec : mdb::databases()) {
    if (spec.id == mdb::DbId::Mephisto || !stdfs::exists(data_dir / spec.file)) continue;
    sql::Stmt attach = db.prepare("ATTACH DATABASE ?1 AS " + sql::quote_ident(spec.key));
    attach.bind(1, (data_dir / spec.file).string());
    attach.run();
  }
  for (const mdb::DbSpec& spec : mdb::databases()) {
    if (!stdfs::exists(data_dir / spec.file) || spec.id == mdb::DbId::Inhouse) continue;
    std::string schema = spec.id == mdb::DbId::Mephisto ? "main" : std::string(spec.key);
    sql::Stmt fk = db.prepare("PRAGMA " + sql::quote_ident(schema) + ".foreign_key_check");
    while (fk.step()) out.push_back(schema + ": foreign_key_check: " + fk.column_text(0) + " rowid " + fk.column(1).to_string());
    for (const mdb::Reference& r : mdb::references(spec.id, mdb::read_schema(db, schema))) {
      std::string target_schema = r.target_db == mdb::DbId::Mephisto ? "main" : std::string(mdb::db_spec(r.target_db).key);
      sql::Stmt rows = db.prepare("SELECT " + sql::quote_ident(r.column) + " FROM " + sql::quote_ident(schema) + "." +
                                  sql::quote_ident(r.table) + " WHERE " + sql::quote_ident(r.column) + " IS NOT NULL");
      sql::Stmt find = db.prepare("SELECT 1 FROM " + sql::quote_ident(target_schema) + "." +
                                  sql::quote_ident(r.target_table) + " WHERE " + sql::quote_ident(r.target_column) +
                                  " = ?1");
      while (rows.step()) {
        std::vector<Value> values = {rows.column(0)};
        if (r.kind == mdb::RefKind::JsonIdList) {
          values.clear();
          for (const auto& e : nlohmann::json::parse(rows.column_text(0)))
            values.push_back(e.is_string() ? Value::text(e.get<std::string>()) : Value::integer(e.get<int64_t>()));
        }
        for (Value v : values) {
          bool integer_target = r.target_db == mdb::DbId::Mephisto && r.kind != mdb::RefKind::WorkerName;
          if (integer_target && v.kind == StorageClass::Text) v = Value::integer(std::stoll(v.s));
          find.bind(1, v);
          if (!find.step())
            out.push_back(schema + "." + r.table + "." + r.column + " = " + v.to_string() + " -> " + r.target_table +
                          "." + r.target_column);
          find.reset();
        }
      }
    }
  }
  return out;
}

}  // namespace mdb::test

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace mdb::test {

void check_property(int cases, const std::function<void()>& property) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  rc::detail::TestMetadata metadata;
  metadata.id = std::string(info->test_suite_name()) + "/" + info->name();
  metadata.description = info->name();
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = cases;
  auto result = rc::detail::checkTestable(property, metadata, params);
  if (!result.template is<rc::detail::SuccessResult>()) {
    std::ostringstream report;
    rc::detail::printResultMessage(result, report);
    ADD_FAILURE() << report.str();
  }
}

void make_sample(const stdfs::path& dir, int seed, std::vector<std::string> args) {
  std::vector<std::string> all = {"--out", dir.string(), "--seed", std::to_string(seed)};
  all.insert(all.end(), args.begin(), args.end());
  RunResult r = run(sample_binary(), all);
  if (r.exit_code != 0) throw std::runtime_error("mephisto-sample failed: " + r.err);
}

stdfs::path export_dump(const stdfs::path& data, const stdfs::path& outputs, std::vector<std::string> args) {
  std::vector<std::string> all = {"--data-dir", data.string(), "--outputs-dir", outputs.string(), "--json", "db",
                                  "export"};
  all.insert(all.end(), args.begin(), args.end());
  RunResult r = run_mephisto(all);
  if (r.exit_code != 0) throw std::runtime_error("export failed: " + r.err);
  return nlohmann::json::parse(r.out)["file"].get<std::string>();
}

std::map<std::string, std::string> run_files(const stdfs::path& data) {
  std::map<std::string, std::string> out;
  if (!stdfs::exists(data / "data")) return out;
  for (const auto& [rel, content] : tree(data / "data"))
    if (rel.back() != '/') out[rel] = content;
  return out;
}

Rows without_bookkeeping(Rows rows) {
  for (auto it = rows.begin(); it != rows.end();)
    it = it->first == "mephisto.imported_data" || it->first.find(".migrations") != std::string::npos ? rows.erase(it)
                                                                                                     : std::next(it);
  return rows;
}

std::string query(const stdfs::path& db, const std::string& sql) {
  sql::Db d = sql::Db::open_readonly(db);
  sql::Stmt s = d.prepare(sql);
  std::string out;
  while (s.step()) {
    for (int i = 0; i < s.column_count(); ++i) out += (i ? "|" : "") + s.column(i).to_string();
    out += "\n";
  }
  return out;
}

}  // namespace mdb::test
