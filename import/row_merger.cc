#include "import/row_merger.h"

#include <algorithm>
#include <cctype>

#include "base/error.h"
#include "base/interrupt.h"
#include "import/import_local.h"
#include "import/resolver.h"

namespace mdb {

namespace {

std::string q(std::string_view ident) { return sql::quote_ident(ident); }

// Binds `columns` of `row` to the statement's parameters 1, 2, ...; false when one is NULL.
bool bind_columns(sql::Stmt& s, const Row& row, const std::vector<int>& columns) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (row[columns[i]].is_null()) {
      s.reset();
      return false;
    }
    s.bind(static_cast<int>(i) + 1, row[columns[i]]);
  }
  return true;
}

std::string conditions(const std::vector<std::string>& columns, const std::vector<int>& which, const char* op) {
  std::string out;
  for (size_t i = 0; i < which.size(); ++i)
    out += (i ? " AND " : "") + q(columns[which[i]]) + " " + op + " ?" + std::to_string(i + 1);
  return out;
}

// The affinity SQLite gives a column of this declared type (its rules, in their order).
const char* affinity_of(std::string type) {
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::toupper(c); });
  auto has = [&](const char* part) { return type.find(part) != std::string::npos; };
  if (has("INT")) return "INTEGER";
  if (has("CHAR") || has("CLOB") || has("TEXT")) return "TEXT";
  if (type.empty() || has("BLOB")) return "BLOB";
  if (has("REAL") || has("FLOA") || has("DOUB")) return "REAL";
  return "NUMERIC";
}

// A column of `table` as the copy in temp declares it: the same affinity and collation, so values
// compare there exactly as in the table.
std::string column_like(sql::Db& db, DbId id, const std::string& table, const std::string& column) {
  const char* type = nullptr;
  const char* collation = nullptr;
  if (sqlite3_table_column_metadata(db.get(), schema_name(id).c_str(), table.c_str(), column.c_str(), &type,
                                    &collation, nullptr, nullptr, nullptr) != SQLITE_OK)
    throw Error("cannot read the column " + column + " of the table " + table + " in the local " + schema_name(id) +
                " database: " + sqlite3_errmsg(db.get()));
  return q(column) + " " + affinity_of(type ? type : "") + " COLLATE " + q(collation ? collation : "BINARY");
}

// The indexed copy of a keyless table (index_whole_rows), in the connection's temp schema.
constexpr const char* kWholeRowsName = "mdb_whole_rows";
const std::string kWholeRows = std::string("temp.") + kWholeRowsName;

}  // namespace

RowMerger::RowMerger(Dump& dump, sql::Db& local, ImportTables& tables, KeyMap& keys, const ImportSettings& settings,
                     ImportedDataWriter& imported)
    : dump_(dump), db_(local), tables_(tables), keys_(keys), settings_(settings), imported_(imported),
      rng_(settings.id_seed), spans_(local) {}

bool RowMerger::Incoming::is_deferred(size_t i) const {
  return std::any_of(deferred.begin(), deferred.end(), [&](const ImportRef* r) { return r->index == static_cast<int>(i); });
}

void RowMerger::prepare(const ImportTable& t, Statements& s) {
  const DumpTable& dt = *t.dt;
  for (const ColumnInfo& c : t.local->columns) s.local_cols.push_back(c.name);
  std::string all_local, dump_cols, params;
  for (const std::string& c : s.local_cols) all_local += (all_local.empty() ? "" : ", ") + q(c);
  std::vector<int> every;
  for (size_t i = 0; i < dt.columns.size(); ++i) {
    dump_cols += (i ? ", " : "") + q(dt.columns[i]);
    params += (i ? ", ?" : "?") + std::to_string(i + 1);
    every.push_back(static_cast<int>(i));
  }
  std::string select = "SELECT " + all_local + " FROM " + t.qname + " WHERE ";
  s.insert = db_.prepare("INSERT INTO " + t.qname + " (" + dump_cols + ") VALUES (" + params + ")");
  if (t.pk >= 0 && t.local_pk >= 0) s.select_all_by_pk = db_.prepare(select + conditions(dt.columns, {t.pk}, "="));
  if (!t.natural.empty()) s.select_all_by_natural = db_.prepare(select + conditions(dt.columns, t.natural, "="));
  for (const std::vector<int>& unique : t.uniques)
    s.select_all_by_unique.push_back(db_.prepare(select + conditions(dt.columns, unique, "=")));
  if (t.pk < 0) index_whole_rows(t, s, every);
}

// A table without a key is looked up by the whole row (already_present), which no index of the
// original's schema covers: each lookup scanned the table, the walk's time growing with the square
// of its rows (0.6 s a walk at L's 3630 run mappings). The lookups go to an indexed copy in the
// connection's temp schema instead, which the walk's inserts keep in step.
void RowMerger::index_whole_rows(const ImportTable& t, Statements& s, const std::vector<int>& every) {
  const DumpTable& dt = *t.dt;
  std::string columns, defined, params;
  for (size_t i = 0; i < dt.columns.size(); ++i) {
    columns += (i ? ", " : "") + q(dt.columns[i]);
    defined += (i ? ", " : "") + column_like(db_, dt.db, t.local->name, dt.columns[i]);
    params += (i ? ", ?" : "?") + std::to_string(i + 1);
  }
  db_.exec("DROP TABLE IF EXISTS " + kWholeRows);
  db_.exec("CREATE TABLE " + kWholeRows + " (" + defined + ")");
  db_.exec("INSERT INTO " + kWholeRows + " SELECT " + columns + " FROM " + t.qname);
  db_.exec("CREATE INDEX " + kWholeRows + "_all ON " + kWholeRowsName + " (" + columns + ")");
  s.select_identical =
      db_.prepare("SELECT 1 FROM " + kWholeRows + " WHERE " + conditions(dt.columns, every, "IS") + " LIMIT 1");
  s.insert_identical = db_.prepare("INSERT INTO " + kWholeRows + " VALUES (" + params + ")");
}

RowMerger::Incoming RowMerger::redirect(const ImportTable& t, Row row) const {
  Incoming in;
  in.original = row;
  for (const ImportRef& r : t.refs) {
    if (row[r.index].is_null()) continue;
    if (r.deferred) {  // set once its target is imported (fixups_)
      in.deferred.push_back(&r);
      row[r.index] = Value::null();
    } else if (std::optional<Value> mapped = keys_.map_ref(r, row[r.index])) {
      row[r.index] = *mapped;
    }
  }
  in.row = std::move(row);
  return in;
}

// Same object, conflict, clash (import.md): the local row with the natural key; else the one with
// the same key, when the key is an identity or the rows are equal in every column (otherwise the
// key clashes); else the one with a value of another UNIQUE constraint.
std::optional<Row> RowMerger::find_same_object(const ImportTable& t, Statements& s, const Incoming& in, bool& clash) {
  const Row& row = in.row;
  clash = false;
  if (!t.natural.empty() && bind_columns(s.select_all_by_natural, row, t.natural))
    if (auto local = fetch_one(s.select_all_by_natural)) return local;
  if (s.select_all_by_pk.get() && bind_columns(s.select_all_by_pk, row, {t.pk})) {
    std::optional<Row> local = fetch_one(s.select_all_by_pk);
    const Value& key = row[t.pk];
    bool identity = !integer_keyed(t.spec) || (key.kind == StorageClass::Integer && key.i >= kLegacyIdLimit);
    if (local && !identity) {
      // A deferred reference is compared as the dump has it: its target is not mapped yet.
      for (size_t i = 0; i < row.size() && !clash; ++i)
        clash = compare_for_resolver(t.dt->columns[i], (*local)[t.local_of[i]],
                                     in.is_deferred(i) ? in.original[i] : row[i]) != 0;
    }
    if (local && !clash) return local;
  }
  for (size_t u = 0; u < t.uniques.size(); ++u) {
    const std::vector<int>& unique = t.uniques[u];
    if (std::any_of(unique.begin(), unique.end(), [&](int c) { return in.is_deferred(c); })) continue;
    if (!bind_columns(s.select_all_by_unique[u], row, unique)) continue;
    if (auto local = fetch_one(s.select_all_by_unique[u])) {
      clash = false;
      return local;
    }
  }
  return std::nullopt;
}

// A table without a key (mturk run_mappings): the same row is the same object.
bool RowMerger::already_present(Statements& s, const Row& row) {
  for (size_t i = 0; i < row.size(); ++i) s.select_identical.bind(static_cast<int>(i) + 1, row[i]);
  return fetch_one(s.select_identical).has_value();
}

Row RowMerger::merge(const ImportTable& t, Statements& s, const Incoming& in, const Row& local, bool write,
                     bool& changed) {
  Row incoming = local;  // columns the dump lacks, and deferred references, stay as they are here
  for (size_t i = 0; i < in.row.size(); ++i)
    if (!in.is_deferred(i)) incoming[t.local_of[i]] = in.row[i];
  Row merged = settings_.resolver->resolve(t.dt->db, t.dt->name, s.local_cols, t.local_pk, local, incoming);
  std::vector<size_t> columns;
  for (size_t i = 0; i < merged.size(); ++i)
    if (compare_for_resolver(s.local_cols[i], merged[i], local[i]) != 0 || merged[i].kind != local[i].kind)
      columns.push_back(i);
  changed = !columns.empty();
  if (changed && write) update_local(t, s, in, local, merged, columns);
  return merged;
}

// Updates the changed `columns` of the local row to their merged values.
void RowMerger::update_local(const ImportTable& t, Statements& s, const Incoming& in, const Row& local,
                             const Row& merged, const std::vector<size_t>& columns) {
  std::string set, signature;
  for (size_t k = 0; k < columns.size(); ++k) {
    set += (k ? ", " : "") + q(s.local_cols[columns[k]]) + " = ?" + std::to_string(k + 1);
    signature += std::to_string(columns[k]) + ",";
  }
  sql::Stmt& update = s.updates[signature];
  if (!update.get())
    update = db_.prepare("UPDATE " + t.qname + " SET " + set + " WHERE " + q(t.spec->pk) + " = ?" +
                         std::to_string(columns.size() + 1));
  for (size_t k = 0; k < columns.size(); ++k) update.bind(static_cast<int>(k) + 1, merged[columns[k]]);
  update.bind(static_cast<int>(columns.size()) + 1, local[t.local_pk]);
  run_or_explain(update, t, in, "cannot update the local row");
}

void RowMerger::run_or_explain(sql::Stmt& s, const ImportTable& t, const Incoming& in, const char* what) {
  try {
    s.run();
  } catch (const Error& e) {
    s.reset();
    throw Error(tables_.row_name(t, in.original, in.index) + ": " + what + ": " + e.what(), e.kind());
  }
}

// Records where the row's referenced values ended up, so other rows follow it.
void RowMerger::follow(const ImportTable& t, const Incoming& in, const Row& final_row, bool local_row) {
  for (int c : t.referenced) {
    const Value& from = in.original[c];
    const Value& to = local_row ? final_row[t.local_of[c]] : final_row[c];
    if (from.is_null() || from == to) continue;
    keys_.set({t.dt->db, t.dt->name, t.dt->columns[c]}, from, to);
  }
}

int64_t RowMerger::fresh_id(const ImportTable& t) {
  std::uniform_int_distribution<int64_t> dist(kLegacyIdLimit, INT64_MAX);
  for (;;) {
    int64_t id = dist(rng_);
    Value v = Value::integer(id);
    if (issued_.count({t.qname, id}) || tables_.local_has(t.dt->db, t.dt->name, std::string(t.spec->pk), v) ||
        dump_.has_value(*t.dt, t.pk, v))
      continue;
    issued_.insert({t.qname, id});
    return id;
  }
}

Value RowMerger::take_local(const ImportTable& t, Statements& s, const Incoming& in, const Row& local, bool write,
                            TableCounts& counts) {
  const DumpTable& dt = *t.dt;
  bool changed = false;
  Row merged = merge(t, s, in, local, write, changed);
  ++(changed ? counts.merged : counts.present);
  follow(t, in, merged, true);
  int name = dt.db == DbId::Mephisto && dt.name == "projects" ? dt.column("project_name") : -1;
  if (name >= 0 && !(merged[t.local_of[name]] == in.row[name]))
    keys_.project_names[in.row[name].to_string()] = merged[t.local_of[name]].to_string();
  return local[t.local_pk];
}

Value RowMerger::insert(const ImportTable& t, Statements& s, Incoming& in, bool clash, bool write,
                        TableCounts& counts) {
  Value final_key = t.pk >= 0 ? in.row[t.pk] : Value::null();
  if (clash) {
    final_key = in.row[t.pk] = Value::integer(fresh_id(t));
    ++counts.remapped;
  }
  ++counts.inserted;
  if (write) {
    for (size_t i = 0; i < in.row.size(); ++i) s.insert.bind(static_cast<int>(i) + 1, in.row[i]);
    run_or_explain(s.insert, t, in, "cannot insert it");
    if (s.insert_identical.get()) {
      for (size_t i = 0; i < in.row.size(); ++i) s.insert_identical.bind(static_cast<int>(i) + 1, in.row[i]);
      s.insert_identical.run();
    }
  }
  for (const ImportRef* r : in.deferred) fixups_.push_back({r, final_key, in.original[r->index]});
  follow(t, in, in.row, false);
  return final_key;
}

TableCounts RowMerger::run_table(ImportTable& t, bool write) {
  Statements s;
  prepare(t, s);
  DumpTable& dt = *t.dt;
  TableCounts counts{dt.db, dt.name};
  std::string stage_cols;
  for (size_t i = 0; i < dt.columns.size(); ++i) stage_cols += (i ? ", c" : "c") + std::to_string(i);
  sql::Stmt rows = dump_.stage().prepare("SELECT " + stage_cols + " FROM " + dt.stage + " ORDER BY rowid");
  for (int64_t index = 0; rows.step(); ++index) {
    interrupt::check();
    spans_.tick();
    ++counts.rows;
    Incoming in = redirect(t, rows.row());
    in.index = index;
    bool clash = false;
    std::optional<Row> local = find_same_object(t, s, in, clash);
    if (!local && t.pk < 0 && already_present(s, in.row)) {
      ++counts.present;
      continue;
    }
    Value final_key = local ? take_local(t, s, in, *local, write, counts) : insert(t, s, in, clash, write, counts);
    imported_.record(t, in.row, final_key, local.has_value());
    if (dt.db == DbId::Mephisto && dt.name == "task_runs" && in.original[t.pk].kind == StorageClass::Integer)
      keys_.runs[in.original[t.pk].i] = {final_key.i, !local.has_value()};
  }
  return counts;
}

void RowMerger::set_deferred_references() {
  std::map<const ImportRef*, sql::Stmt> updates;
  for (const Fixup& f : fixups_) {
    sql::Stmt& set = updates[f.ref];
    if (!set.get())
      set = db_.prepare("UPDATE " + q(schema_name(f.ref->db)) + "." + q(f.ref->table) + " SET " + q(f.ref->column) +
                        " = ?1 WHERE " + q(find_table_spec(f.ref->db, f.ref->table)->pk) + " = ?2");
    std::optional<Value> mapped = keys_.map_ref(*f.ref, f.value);
    set.bind(1, mapped ? *mapped : f.value).bind(2, f.key);
    set.run();
  }
}

}  // namespace mdb
