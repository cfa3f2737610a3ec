#include "import/import_dump.h"

#include "dump/dump_members.h"

#include <algorithm>
#include <map>
#include <set>

#include "dump/dump_render.h"
#include "dump/dump_values.h"
#include "formats/dump_json.h"
#include "base/error.h"
#include "base/read_ahead.h"

namespace mdb {

namespace {

constexpr size_t kMaxListedProblems = 50;

// The older data porter's table name and column names, as the original's migration renames them.
std::string local_table(DbId db, std::string_view table) {
  return db == DbId::Mephisto && table == "unit_review" ? "worker_review" : std::string(table);
}
std::string local_column(DbId db, std::string_view table, std::string_view column) {
  return db == DbId::Mephisto && table == "unit_review" && column == "created_at" ? "creation_date"
                                                                                 : std::string(column);
}

}  // namespace

void Problems::throw_if_any(const std::string& dump_name) const {
  if (list_.empty()) return;
  std::string msg = "The dump " + dump_name + " cannot be imported:";
  for (size_t i = 0; i < list_.size() && i < kMaxListedProblems; ++i) msg += "\n  - " + list_[i];
  if (list_.size() > kMaxListedProblems)
    msg += "\n  - ... and " + std::to_string(list_.size() - kMaxListedProblems) + " more problems";
  throw Error(msg, ErrorKind::Conflict);
}

int DumpTable::column(std::string_view c) const {
  auto it = std::find(columns.begin(), columns.end(), c);
  return it == columns.end() ? -1 : static_cast<int>(it - columns.begin());
}

std::string default_label(const std::string& file_name) { return file_name.substr(0, file_name.find('.')); }

// Receives rows from either half of the dump and writes them into the staging database.
class Dump::Loader : public DumpJsonVisitor, public capnp_dump::StreamVisitor {
 public:
  // `member`: the zip member the rows come from, named in value problems.
  // `recorded`: where the Cap'n Proto half's file records go (none for the JSON member).
  Loader(Dump& dump, Problems& problems, std::string member, RecordedFiles* recorded = nullptr)
      : dump_(dump), problems_(problems), member_(std::move(member)), recorded_(recorded) {}

  // Cap'n Proto half (a HalfCheck in front proves it equal to the JSON member).
  void header(const capnp_dump::Header& h) override {
    try {
      dump_.metadata_ = nlohmann::ordered_json::parse(h.dump_metadata);
    } catch (const nlohmann::json::exception&) {
      throw Error("its dump_metadata is not JSON", ErrorKind::Damaged);
    }
  }
  void empty_database(std::string_view db) override { known_db(db); }
  void file(const capnp_dump::FileRecord& f) override { recorded_->add(f); }
  void row(std::string_view db, std::string_view table, size_t index, const std::vector<std::string>& columns,
           Row& values) override {
    add_row(db, table, index, columns, values);
  }

  void end_table(std::string_view db, std::string_view table) override { count(db, table, 0); }

  // JSON half (its row() is the same as above).
  void end_table(std::string_view db, std::string_view table, size_t items) override { count(db, table, items); }
  void metadata(nlohmann::ordered_json meta) override { dump_.metadata_ = std::move(meta); }
  void begin_db(std::string_view db) override { known_db(db); }
  void problem(std::string message) override { problems_.add(std::move(message)); }

 private:
  std::optional<DbId> known_db(std::string_view key) {
    std::optional<DbId> db = db_from_key(key);
    if (!db) {
      if (std::find(unknown_.begin(), unknown_.end(), key) == unknown_.end()) {
        unknown_.emplace_back(key);
        problems_.add("The dump holds a database `" + std::string(key) +
                      "`, which is neither mephisto nor a provider type (mock, mturk, mturk_sandbox, prolific, "
                      "inhouse).");
      }
      return std::nullopt;
    }
    if (std::find(dump_.dbs_.begin(), dump_.dbs_.end(), *db) == dump_.dbs_.end()) dump_.dbs_.push_back(*db);
    return db;
  }

  // A table's item count (for the Cap'n Proto half, where every item is a row: its staged rows).
  void count(std::string_view db_key, std::string_view dump_table, size_t items) {
    std::optional<DbId> db = db_from_key(db_key);
    if (!db) return;
    std::string name = local_table(*db, dump_table);
    DumpTable* t = dump_.table(*db, name);
    if (!t && items == 0) return;
    if (!t) {  // a table whose every row had a problem: no staging table
      dump_.tables_.push_back({*db, name, {}, "", 0, 0});
      t = &dump_.tables_.back();
    }
    t->items = items == 0 ? t->rows : t->items + static_cast<int64_t>(items);
  }

  struct Target {
    DumpTable* table;
    std::vector<int> slots;  // staging column of each field of the row
    sql::Stmt insert;
  };

  void add_row(std::string_view db_key, std::string_view table_name, size_t index,
               const std::vector<std::string>& columns, Row& values) {
    std::optional<DbId> db = known_db(db_key);
    if (!db) return;
    Target& t = target(*db, table_name, columns);
    DumpTable& table = *t.table;
    bool ok = true;
    for (size_t i = 0; i < values.size(); ++i) {
      if (auto bad = normalize_dump_value(*db, table.columns[t.slots[i]], values[i])) {
        problems_.add(member_ + ": " + row_name(db_key, table_name, index, columns, values) + ", column `" + columns[i] +
                      "`: " + *bad + ".");
        ok = false;
      }
    }
    if (!ok) return;
    for (size_t i = 0; i < table.columns.size(); ++i) t.insert.bind_null(static_cast<int>(i) + 1);
    for (size_t i = 0; i < values.size(); ++i) t.insert.bind(t.slots[i] + 1, values[i]);
    t.insert.run();
    ++table.rows;
  }

  // "Database `x`, table `t`, row 3 (task_id 42)": the row's key when the row has it.
  static std::string row_name(std::string_view db, std::string_view table, size_t index,
                              const std::vector<std::string>& columns, const Row& values) {
    std::string out = "Database `" + std::string(db) + "`, table `" + std::string(table) + "`, row " +
                      std::to_string(index);
    std::optional<DbId> id = db_from_key(db);
    const TableSpec* spec = id ? find_table_spec(*id, table) : nullptr;
    if (spec && !spec->pk.empty())
      for (size_t i = 0; i < columns.size(); ++i)
        if (columns[i] == spec->pk) out += " (" + columns[i] + " " + describe_json_value(values[i]) + ")";
    return out;
  }

  Target& target(DbId db, std::string_view dump_table, const std::vector<std::string>& columns) {
    std::string name = local_table(db, dump_table);
    std::string key = std::string(db_spec(db).key) + "." + std::string(dump_table);
    Target& t = targets_[key];
    if (!t.table) {
      t.table = dump_.table(db, name);
      if (!t.table) {
        dump_.tables_.push_back({db, name, {}, "", 0, 0});
        t.table = &dump_.tables_.back();
      }
      if (t.table->stage.empty()) {  // its first good row: make its staging table
        t.table->stage = "t" + std::to_string(++stages_);
        std::string cols;
        for (const std::string& c : columns) {
          cols += (cols.empty() ? "c" : ", c") + std::to_string(t.table->columns.size());
          t.table->columns.push_back(local_column(db, dump_table, c));
        }
        dump_.stage_.exec("CREATE TABLE " + t.table->stage + " (" + cols + ")");
      }
      t.slots.clear();
    }
    if (t.slots.size() == columns.size() && last_columns_[key] == columns) return t;
    DumpTable& table = *t.table;
    t.slots.clear();
    bool grew = false;
    for (const std::string& c : columns) {
      std::string local = local_column(db, dump_table, c);
      int slot = table.column(local);
      if (slot < 0) {
        dump_.stage_.exec("ALTER TABLE " + table.stage + " ADD COLUMN c" + std::to_string(table.columns.size()));
        table.columns.push_back(local);
        slot = static_cast<int>(table.columns.size()) - 1;
        grew = true;
      }
      t.slots.push_back(slot);
    }
    if (grew || !t.insert.get()) {
      std::string cols, params;
      for (size_t i = 0; i < table.columns.size(); ++i) {
        cols += (i ? ", c" : "c") + std::to_string(i);
        params += (i ? ", ?" : "?") + std::to_string(i + 1);
      }
      // Every Target of this table must see the new columns: drop their statements.
      for (auto& [k, other] : targets_)
        if (other.table == t.table && &other != &t) other.insert = sql::Stmt();
      t.insert = dump_.stage_.prepare("INSERT INTO " + table.stage + " (" + cols + ") VALUES (" + params + ")");
    }
    last_columns_[key] = columns;
    return t;
  }

  Dump& dump_;
  Problems& problems_;
  std::string member_;
  RecordedFiles* recorded_;
  std::map<std::string, Target> targets_;
  std::map<std::string, std::vector<std::string>> last_columns_;
  std::vector<std::string> unknown_;
  int stages_ = 0;
};

Dump::Dump(const stdfs::path& zip_path, const stdfs::path& data_dir, Console& console, Problems& problems)
    : file_name_(zip_path.filename().string()) {
  zip_ = std::make_unique<zip::Reader>(zip_path);
  zip::Limits limits;
  limits.extract_to = data_dir;
  zip_->validate(limits);
  DumpMembers members = find_dump_members(*zip_, zip_path);
  json_ = members.json;
  capnp_ = members.capnp;
  read_rows(console, problems);
}

Dump::~Dump() = default;

void Dump::reset_stage() {
  lookups_.clear();
  stage_ = sql::Db::open("", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  stage_.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -4096");
  tables_.clear();
  dbs_.clear();
  metadata_ = nullptr;
}

void Dump::read_rows(Console& console, Problems& problems) {
  if (capnp_) {
    capnp_rejected_ = read_capnp(problems);
    if (!capnp_rejected_) return;
    console.warn("Warning: " + file_name_ + ": " + *capnp_rejected_ + "; importing the rows from the JSON.");
  }
  reset_stage();
  Loader loader(*this, problems, json_.name);
  stage_.exec("BEGIN");
  std::unique_ptr<zip::MemberReader> in = zip_->open(json_);
  ReadAhead ahead([&](char* buf, size_t n) { return in->read(buf, n); });  // inflated beside the parse
  read_dump_json([&](char* buf, size_t n) { return ahead.read(buf, n); }, loader, file_name_ + ": " + json_.name);
  stage_.exec("COMMIT");
  stage_files(nullptr, problems);
}

std::optional<std::string> Dump::read_capnp(Problems& problems) {
  reset_stage();
  Problems capnp_problems;
  RecordedFiles recorded(stage_);
  Loader loader(*this, capnp_problems, capnp_->name, &recorded);
  try {
    HalfCheckBeside check(*zip_, json_, *capnp_);
    stage_.exec("BEGIN");
    std::exception_ptr unreadable;  // reported only when the check, which reads the same bytes, finds nothing first
    try {
      std::unique_ptr<zip::MemberReader> in = zip_->open(*capnp_);
      ReadAhead ahead([&](char* buf, size_t n) { return in->read(buf, n); });  // inflated beside the parse
      capnp_dump::read_stream([&](char* buf, size_t n) { return ahead.read(buf, n); }, check.until_mismatch(loader),
                              capnp_->name);
    } catch (const HalfMismatch&) {
    } catch (const Error&) {
      unreadable = std::current_exception();
    }
    if (std::optional<std::string> why = check.verdict()) return why;
    if (unreadable) std::rethrow_exception(unreadable);
    stage_.exec("COMMIT");
  } catch (const Error& e) {
    return "the Cap'n Proto half " + capnp_->name + " cannot be read (" + e.what() + ")";
  }
  for (const std::string& p : capnp_problems.list()) problems.add(p);
  stage_files(&recorded, problems);
  from_capnp_ = true;
  return std::nullopt;
}

void Dump::stage_files(RecordedFiles* recorded, Problems& problems) {
  stage_.exec("CREATE TABLE run_files (member INTEGER PRIMARY KEY, size INTEGER NOT NULL, hash_high INTEGER, "
              "hash_low INTEGER)");
  sql::Transaction tx(stage_, "BEGIN");
  sql::Stmt insert = stage_.prepare("INSERT INTO run_files (" + std::string(kFileColumns) + ") VALUES (?1, ?2, ?3, ?4)");
  for (const zip::Entry& e : zip_->entries()) {
    if (!is_run_file(e)) continue;
    insert.bind(1, static_cast<int64_t>(e.index)).bind(2, static_cast<int64_t>(e.size));
    if (std::optional<RecordedFiles::Match> m = recorded ? recorded->match(e.name) : std::nullopt) {
      insert.bind(3, static_cast<int64_t>(m->hash.high)).bind(4, static_cast<int64_t>(m->hash.low));
    } else if (recorded) {
      problems.add("The zip's file " + e.name + " is not among the files its Cap'n Proto half records.");
    }
    insert.run();
  }
  if (recorded)
    recorded->for_each_unmatched([&](const std::string& path) {
      problems.add("The zip lacks the file " + path + " that its Cap'n Proto half records.");
    });
  tx.commit();
}

void Dump::for_each_file(const std::function<void(const DumpFile&)>& fn) {
  sql::Stmt s = stage_.prepare("SELECT " + std::string(kFileColumns) + " FROM run_files ORDER BY member");
  while (s.step()) fn(file_at(s, 0));
}

DumpFile Dump::file_at(const sql::Stmt& row, int first) {
  DumpFile f{static_cast<uint64_t>(row.column_int(first)), static_cast<uint64_t>(row.column_int(first + 1)),
             std::nullopt};
  if (sqlite3_column_type(row.get(), first + 2) != SQLITE_NULL)
    f.hash = store::Hash128{static_cast<uint64_t>(row.column_int(first + 2)),
                            static_cast<uint64_t>(row.column_int(first + 3))};
  return f;
}

void Dump::release_memory() {
  sqlite3_db_release_memory(stage_.get());
}

DumpTable* Dump::table(DbId db, std::string_view name) {
  for (DumpTable& t : tables_)
    if (t.db == db && t.name == name) return &t;
  return nullptr;
}

void Dump::index_column(const DumpTable& table, int column) {
  std::string col = "c" + std::to_string(column);
  stage_.exec("CREATE INDEX IF NOT EXISTS " + table.stage + "_" + col + " ON " + table.stage + " (" + col + ")");
}

bool Dump::has_value(const DumpTable& table, int column, const Value& v) {
  std::string col = "c" + std::to_string(column);
  sql::Stmt& s = lookups_[table.stage + "." + col];
  if (!s.get()) {
    index_column(table, column);
    s = stage_.prepare("SELECT 1 FROM " + table.stage + " WHERE " + col + " = ?1 LIMIT 1");
  }
  s.bind(1, v);
  bool found = s.step();
  s.reset();
  return found;
}

}  // namespace mdb
