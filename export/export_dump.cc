#include "export/export_dump.h"

#include "formats/hash.h"
#include "dump/dump_render.h"
#include "formats/dump_json.h"
#include "base/error.h"
#include "base/interrupt.h"
#include "formats/pyjson.h"
#include "platform/env.h"

namespace mdb {

namespace {

constexpr size_t kFlushBytes = size_t{1} << 20;

// The JSON file: rendered into a buffer, written and hashed in large pieces.
class JsonFile {
 public:
  explicit JsonFile(const std::filesystem::path& path) : file_(fs::File::create(path, /*exclusive=*/true)) {}
  std::string& buffer() { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= kFlushBytes) flush();
  }
  void flush() {
    file_.write_all(buf_);
    hash_.update(buf_);
    size_ += buf_.size();
    buf_.clear();
  }
  void close() {
    flush();
    file_.close();
  }
  uint64_t size() const { return size_; }
  store::Hash128 hash() const { return hash_.digest(); }

 private:
  fs::File file_;
  std::string buf_;
  store::Xxh128Stream hash_;
  uint64_t size_ = 0;
};

void write_list(PyJsonWriter& w, const std::vector<std::string>& items) {
  w.begin_array();
  for (const std::string& s : items) w.string(s);
  w.end_array();
}

// dump_metadata, in the original's key order.
void write_metadata(PyJsonWriter& w, const DumpMetadata& meta, const std::vector<DumpDb>& layout) {
  w.begin_object();
  w.key("migrations");
  w.begin_object();
  for (const auto& [key, name] : meta.migrations) {
    w.key(key);
    name ? w.string(*name) : w.null();
  }
  w.end_object();
  w.key("export_options");
  w.begin_object();
  for (const OptionSetting& o : export_option_settings(*meta.options)) {
    w.key(o.names);
    struct {
      PyJsonWriter& w;
      void operator()(int v) const { w.integer(v); }
      void operator()(bool v) const { w.boolean(v); }
      void operator()(const std::optional<std::string>& v) const { v ? w.string(*v) : w.null(); }
      void operator()(const std::vector<std::string>& v) const { write_list(w, v); }
    } visit{w};
    std::visit(visit, o.value);
  }
  w.end_object();
  w.key("timestamp");
  w.string(meta.timestamp);
  w.key("pk_substitutions");
  if (meta.remap) {
    meta.remap->write_substitutions(w, layout);
  } else {
    w.begin_object();
    w.end_object();
  }
  w.end_object();
}

struct RowContext {
  const Source& src;
  DbId db;
  const std::string& table;
  const std::vector<std::string>& columns;
  int key_column;  // index of the primary key, -1 when the table has none
  uint64_t index;  // row number within the table
};

[[noreturn]] void bad_date(const RowContext& c, const Row& row, size_t column) {
  std::string key = c.key_column >= 0 ? c.columns[static_cast<size_t>(c.key_column)] + " = " +
                                            row[static_cast<size_t>(c.key_column)].to_string()
                                      : "#" + std::to_string(c.index + 1);
  throw not_a_date(c.src.file_of(c.db), c.table, key, c.columns[column], row[column]);
}

void write_value(PyJsonWriter& w, const RowContext& c, const Row& row, size_t column) {
  if (!write_dump_value(w, c.db == DbId::Mephisto, c.columns[column], row[column])) bad_date(c, row, column);
}

}  // namespace

Error not_a_date(const std::string& file, const std::string& table, const std::string& row, const std::string& column,
                 const Value& v) {
  return Error("Cannot export: " + file + ", table " + table + ", row " + row + ", column " + column + " holds " +
               describe_json_value(v) + ", which is not a date. Fix or remove the value.", ErrorKind::Damaged);
}

std::vector<OptionSetting> export_option_settings(const ExportOptions& o) {
  return {{"-i/--export-indent", o.indent},
          {"-tn/--export-tasks-by-names", o.task_names},
          {"-ti/--export-tasks-by-ids", o.task_ids},
          {"-tri/--export-task-runs-by-ids", o.task_run_ids},
          {"-trs/--export-task-runs-since-date", o.since_date},
          {"-l/--labels", o.labels},
          {"-del/--delete-exported-data", o.delete_exported},
          {"-r/--randomize-legacy-ids", o.randomize_legacy_ids},
          {"-qo/--qualification-only", o.qualification_only},
          {"-qn/--qualification-names", o.qualification_names},
          {"-v/--verbosity", o.verbosity}};
}

std::vector<std::pair<std::string, std::optional<std::string>>> read_migrations(Source& src) {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  std::vector<std::string> keys = {"mephisto"};
  for (std::string& t : src.dir().provider_types(src.conn())) keys.push_back(std::move(t));
  for (const std::string& key : keys) {
    std::optional<std::string> name;
    std::optional<DbId> db = db_from_key(key);
    if (db && src.attached(*db) && src.schema(*db).find("migrations")) {
      Value v = src.conn().query_value("SELECT name FROM " + src.qualified(*db, "migrations") +
                                       " ORDER BY creation_date DESC LIMIT 1");
      if (!v.is_null()) name = v.to_string();
    }
    out.push_back({key, name});
  }
  return out;
}

uint64_t count_dump_rows(Source& src, const Selection& sel) {
  uint64_t n = 0;
  for (const DumpDb& d : sel.layout())
    for (const std::string& table : d.tables)
      if (!sel.rows_sql(*d.db, table).empty())  // the table exists: count the selected rowids, not the rows
        n += static_cast<uint64_t>(
            src.conn().query_value("SELECT count(*) FROM (" + sel.rowids_sql(*d.db, table) + ")").i);
  return n;
}

DumpRows write_dump_rows(Source& src, const Selection& sel, const DumpMetadata& meta, int indent,
                         const std::filesystem::path& json_path, const std::filesystem::path& rows_path,
                         Console::Progress* progress) {
  DumpRows result;
  JsonFile json(json_path);
  fs::File rows_file = fs::File::create(rows_path, /*exclusive=*/true);
  capnp_dump::StreamWriter capnp([&](std::string_view bytes) { rows_file.write_all(bytes); });
  PyJsonWriter w(json.buffer(), indent);

  w.begin_object();
  for (const DumpDb& d : sel.layout()) {
    w.key(d.key);
    w.begin_object();
    if (d.tables.empty()) capnp.empty_database(d.key);
    for (const std::string& table : d.tables) {
      w.key(table);
      w.begin_array();
      std::string query = sel.rows_sql(*d.db, table);
      std::vector<std::string> columns;
      if (query.empty()) {  // a table the DB lacks (see DumpDb): empty, with its final columns
        for (const ColumnInfo& c : final_schema(*d.db).find(table)->columns) columns.push_back(c.name);
        capnp.begin_table(d.key, table, columns);
      } else {
        sql::Stmt s = src.conn().prepare(query);
        for (int i = 0; i < s.column_count(); ++i) columns.push_back(s.column_name(i));
        capnp.begin_table(d.key, table, columns);
        const TableInfo* info = src.schema(*d.db).find(table);
        std::string pk = info ? info->primary_key() : std::string();
        int key_column = -1;
        for (size_t i = 0; i < columns.size(); ++i)
          if (columns[i] == pk) key_column = static_cast<int>(i);
        RowContext ctx{src, *d.db, table, columns, key_column, 0};
        while (s.step()) {
          interrupt::check();
          Row row = s.row();
          if (meta.remap) meta.remap->apply(*d.db, table, columns, row);
          w.begin_object();
          for (size_t i = 0; i < columns.size(); ++i) {
            w.key(columns[i]);
            write_value(w, ctx, row, i);
          }
          w.end_object();
          capnp.row(row);
          ++ctx.index;
          ++result.rows;
          if (progress) progress->add(1);
          json.maybe_flush();
        }
      }
      capnp.end_table();
      w.end_array();
    }
    w.end_object();
  }
  w.key("dump_metadata");
  write_metadata(w, meta, sel.layout());
  w.end_object();
  json.close();
  capnp.finish();
  rows_file.close();

  PyJsonWriter compact(result.metadata_json, -1);
  write_metadata(compact, meta, sel.layout());
  result.json_size = json.size();
  result.json_hash = json.hash();
  return result;
}

}  // namespace mdb
