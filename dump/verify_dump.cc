#include "dump/verify_dump.h"

#include <map>
#include <memory>
#include <optional>

#include "formats/hash.h"
#include "formats/zip_sums.h"
#include "dump/dump_members.h"
#include "dump/dump_render.h"
#include "dump/dump_values.h"
#include "dump/recorded_files.h"
#include "datadir/schema.h"
#include "formats/capnp_dump.h"
#include "formats/dump_json.h"
#include "base/error.h"
#include "base/ordered_pool.h"

namespace mdb {

namespace {

using RowCounts = std::map<std::string, uint64_t>;  // "db.table" -> rows

class JsonSide : public DumpJsonVisitor {
 public:
  explicit JsonSide(std::vector<std::string>& problems) : problems_(problems) {}
  void begin_db(std::string_view db) override {
    if (!db_from_key(db))
      problems_.push_back("the JSON member has the key \"" + std::string(db) +
                          "\", which is neither \"mephisto\" nor a provider type");
  }
  void row(std::string_view db, std::string_view table, size_t index, const std::vector<std::string>& columns,
           Row& values) override {
    if (index == 0) check_columns(db, table, columns);
    std::optional<DbId> id = db_from_key(db);
    for (size_t i = 0; i < columns.size() && id; ++i)
      if (auto bad = normalize_dump_value(*id, columns[i], values[i]))
        problems_.push_back("JSON member: database `" + std::string(db) + "`, table `" + std::string(table) +
                            "`, row " + std::to_string(index) + ", column `" + columns[i] + "`: " + *bad);
    ++rows[std::string(db) + "." + std::string(table)];
  }
  void end_table(std::string_view db, std::string_view table, size_t) override {
    rows[std::string(db) + "." + std::string(table)];  // empty tables count too
  }
  void metadata(nlohmann::ordered_json meta) override {
    has_metadata = true;
    if (!meta.is_object()) problems_.push_back("dump_metadata in the JSON member is not an object");
  }
  void problem(std::string message) override { problems_.push_back("JSON member: " + message); }

  RowCounts rows;
  bool has_metadata = false;

 private:
  // The first row of each table stands for its columns: Mephisto rows of one table share them.
  void check_columns(std::string_view db_key, std::string_view table, const std::vector<std::string>& columns) {
    std::optional<DbId> db = db_from_key(db_key);
    if (!db || *db == DbId::Inhouse) return;  // no schema is known for inhouse
    const SchemaInfo* schema = &final_schema(*db);
    std::string where = "database `" + std::string(db_key) + "`, table `" + std::string(table) + "`";
    const TableInfo* t = schema->find(table);
    if (!t) {
      problems_.push_back(where + ": no such table in Mephisto's schema");
      return;
    }
    for (const std::string& c : columns)
      if (!t->has_column(c)) problems_.push_back(where + ": no column `" + c + "` in Mephisto's schema");
  }

  std::vector<std::string>& problems_;
};

// The half's file records go to a table in a private temporary database (recorded_files.h).
class CapnpSide : public capnp_dump::StreamVisitor {
 public:
  CapnpSide() : db_(open_private()), files(db_) { db_.exec("BEGIN"); }
  void header(const capnp_dump::Header&) override {}
  void file(const capnp_dump::FileRecord& f) override { files.add(f); }
  void row(std::string_view, std::string_view, size_t, const std::vector<std::string>&, Row&) override {}
  // After the stream, read or not.
  void end() { db_.exec("COMMIT"); }

 private:
  static sql::Db open_private() {
    sql::Db db = sql::Db::open("", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    db.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2048");
    return db;
  }
  sql::Db db_;

 public:
  RecordedFiles files;
};

void check_json(const zip::Reader& zip, const zip::Entry& member, JsonSide& side) {
  std::unique_ptr<zip::MemberReader> in = zip.open(member);
  read_dump_json([&](char* buf, size_t n) { return in->read(buf, n); }, side, zip.path().string() + ":" + member.name);
}

// Every run file is readable (CRC and size); with a Cap'n Proto half, each matches its record.
// The run files are read, inflated and hashed on worker threads (inflate was half of `verify -f`
// at L, on one core) and judged here in zip order (formats/zip_sums.h).
uint64_t check_files(const zip::Reader& zip, CapnpSide* capnp, std::vector<std::string>& problems) {
  uint64_t bytes = 0;
  auto judge = [&](const zip::Entry& e, const zip::MemberSum* sum) {
    if (!sum->error.empty()) {
      problems.push_back(sum->error);
      return;
    }
    bytes += sum->size;
    if (!capnp) return;
    std::optional<RecordedFiles::Match> recorded = capnp->files.match(e.name);
    if (!recorded) {
      problems.push_back(e.name + " is in the zip but not recorded in the Cap'n Proto header");
      return;
    }
    if (recorded->size != sum->size || !(recorded->hash == sum->hash))
      problems.push_back(e.name + " does not match the size and hash recorded for it (the file was changed)");
  };
  auto all = [](const zip::Entry&) { return true; };
  zip::judge_members(zip, is_run_file, all, judge);
  if (capnp)
    capnp->files.for_each_unmatched(
        [&](const std::string& path) { problems.push_back(path + " is recorded in the Cap'n Proto header but missing"); });
  return bytes;
}

}  // namespace

std::vector<std::string> verify_dump_zip(Context& ctx, const zip::Reader& zip) {
  std::vector<std::string> problems;
  DumpMembers members = find_dump_members(zip, zip.path());
  // The JSON member is checked on a worker while this thread compares the halves (each inflates
  // the JSON member on its own); its problems come first in the report, as they always did.
  std::vector<std::string> json_problems;
  JsonSide json(json_problems);
  WorkerPool beside(1, worker_threads() <= 1);
  std::future<void> json_checked = beside.submit([&] {
    try {
      check_json(zip, members.json, json);
      if (!json.has_metadata) json_problems.push_back("the JSON member has no dump_metadata");
    } catch (const Error& e) {
      json_problems.push_back(e.what());
    }
  });
  std::optional<CapnpSide> capnp;
  if (members.capnp) {
    capnp.emplace();
    try {
      HalfCheck check(zip, members.json, *members.capnp, *capnp, /*stop_at_mismatch=*/false);
      std::unique_ptr<zip::MemberReader> in = zip.open(*members.capnp);
      capnp_dump::read_stream([&](char* buf, size_t n) { return in->read(buf, n); }, check,
                              zip.path().string() + ":" + members.capnp->name);
      if (std::optional<std::string> why = check.verdict()) problems.push_back(*why);
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
    capnp->end();
  }
  json_checked.get();
  problems.insert(problems.begin(), json_problems.begin(), json_problems.end());
  uint64_t bytes = check_files(zip, capnp ? &*capnp : nullptr, problems);
  uint64_t rows = 0;
  for (const auto& [table, n] : json.rows) rows += n;
  ctx.console.info("Checked the dump " + zip.path().string() + ": " + std::to_string(json.rows.size()) +
                   " tables, " + std::to_string(rows) + " rows, " + std::to_string(members.run_files) +
                   " files (" + std::to_string(bytes) + " bytes)" +
                   (members.capnp ? ", JSON and Cap'n Proto halves compared." : "; no Cap'n Proto half (a dump of the original)."));
  ctx.console.set("zip", zip.path().string());
  ctx.console.set("tables", json.rows.size());
  ctx.console.set("rows", rows);
  ctx.console.set("files", members.run_files);
  ctx.console.set("capnp", members.capnp.has_value());
  return problems;
}

}  // namespace mdb
