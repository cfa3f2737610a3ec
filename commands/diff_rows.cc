#include "commands/diff_rows.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "base/interrupt.h"
#include "dump/dump_values.h"

namespace mdb {

namespace {

// SQLite's order of values under the BINARY collation: NULL, numbers, text, blobs.
int rank(const Value& v) {
  switch (v.kind) {
    case StorageClass::Null: return 0;
    case StorageClass::Integer:
    case StorageClass::Real: return 1;
    case StorageClass::Text: return 2;
    case StorageClass::Blob: return 3;
  }
  return 0;
}

long double number(const Value& v) {
  return v.kind == StorageClass::Integer ? static_cast<long double>(v.i) : static_cast<long double>(v.r);
}

// -1, 0, 1 as SQLite's ORDER BY ... COLLATE BINARY orders `a` and `b`.
int compare_values(const Value& a, const Value& b) {
  int ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra == 0) return 0;
  if (ra == 1) {
    if (a.kind == StorageClass::Integer && b.kind == StorageClass::Integer) return a.i < b.i ? -1 : a.i > b.i;
    long double x = number(a), y = number(b);
    return x < y ? -1 : x > y;
  }
  int c = std::memcmp(a.s.data(), b.s.data(), std::min(a.s.size(), b.s.size()));
  if (c != 0) return c < 0 ? -1 : 1;
  return a.s.size() < b.s.size() ? -1 : a.s.size() > b.s.size();
}

// Rows of one side of a table, key columns first, in key order; no rows when `ref` is null.
class Cursor {
 public:
  Cursor(sql::Db* db, const TableRef* ref, const std::vector<int>& cols, size_t keys) {
    if (!db || !ref || ref->from.empty()) return;
    std::string select, order;
    for (size_t i = 0; i < cols.size(); ++i) {
      const std::string& c = ref->sql_cols[static_cast<size_t>(cols[i])];
      select += (i ? ", " : "") + c;
      if (i < keys) order += (i ? ", " : "") + c + " COLLATE BINARY";
    }
    stmt_ = db->prepare("SELECT " + select + " FROM " + ref->from + " ORDER BY " + order);
    next();
  }
  bool has() const { return has_; }
  const Row& row() const { return row_; }
  void next() {
    interrupt::check();
    has_ = stmt_.get() && stmt_.step();
    if (has_) row_ = stmt_.row();
  }

 private:
  sql::Stmt stmt_;
  bool has_ = false;
  Row row_;
};

int compare_keys(const Row& a, const Row& b, size_t keys) {
  for (size_t i = 0; i < keys; ++i)
    if (int c = compare_values(a[i], b[i])) return c;
  return 0;
}

// Equal by value: as stored, or once both are in the form import gives values
// (dump/dump_values.h: integer ids, dates as instants), so a dump's row equals the database's.
bool same_row(DbId db, const std::vector<std::string>& names, const Row& a, const Row& b) {
  if (a == b) return true;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    Value x = a[i], y = b[i];
    normalize_dump_value(db, names[i], x);
    normalize_dump_value(db, names[i], y);
    if (!(x == y)) return false;
  }
  return true;
}

int index_of(const std::vector<std::string>& names, const std::string& name) {
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

// The columns both sides have (one side's when the other lacks the table), the primary key
// first when both have it; `keys` is how many lead the order (the whole row without one).
struct Columns {
  std::vector<std::string> names;
  size_t keys = 0;
};

Columns common_columns(DbId db, const std::string& table, const TableRef* a, const TableRef* b) {
  Columns c;
  const TableRef* first = a ? a : b;
  for (const std::string& n : first->names)
    if (!a || !b || index_of(b->names, n) >= 0) c.names.push_back(n);
  const TableSpec* spec = find_table_spec(db, table);
  int pk = spec && !spec->pk.empty() ? index_of(c.names, std::string(spec->pk)) : -1;
  if (pk < 0) {
    c.keys = c.names.size();
    return c;
  }
  std::rotate(c.names.begin(), c.names.begin() + pk, c.names.begin() + pk + 1);
  c.keys = 1;
  return c;
}

std::vector<int> positions(const TableRef* ref, const std::vector<std::string>& names) {
  std::vector<int> out;
  if (!ref) return out;
  for (const std::string& n : names) out.push_back(index_of(ref->names, n));
  return out;
}

}  // namespace

DbTables sqlite_tables(const std::string& path) {
  DbTables t;
  t.own = std::make_unique<sql::Db>(sql::Db::open_readonly(path));
  t.db = t.own.get();
  sql::Stmt names = t.db->prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
  while (names.step()) {
    std::string name = names.column_text(0);
    TableRef ref;
    ref.from = sql::quote_ident(name);
    sql::Stmt cols = t.db->prepare("SELECT name FROM pragma_table_info(?1)");
    cols.bind(1, std::string_view(name));
    while (cols.step()) {
      ref.names.push_back(cols.column_text(0));
      ref.sql_cols.push_back(sql::quote_ident(ref.names.back()));
    }
    t.tables.emplace(name, std::move(ref));
  }
  return t;
}

RunDiff& RowDiffer::run(const Value& id) {
  std::string text = id.to_string();
  auto key = std::make_pair(id.as_int().value_or(std::numeric_limits<int64_t>::max()), text);
  RunDiff& r = runs_[key];
  r.task_run_id = text;
  return r;
}

std::vector<TableDiff> RowDiffer::compare(DbId db, const DbTables* a, const DbTables* b) {
  std::map<std::string, std::pair<const TableRef*, const TableRef*>> tables;
  if (a)
    for (const auto& [name, ref] : a->tables) tables[name].first = &ref;
  if (b)
    for (const auto& [name, ref] : b->tables) tables[name].second = &ref;
  std::vector<TableDiff> out;
  for (const auto& [name, refs] : tables) {
    if ((a && a->only_these_tables && !refs.first) || (b && b->only_these_tables && !refs.second)) continue;
    TableDiff d = compare_table(db, name, refs.first, refs.second, a ? a->db : nullptr, b ? b->db : nullptr);
    if (d.added || d.removed || d.changed) out.push_back(d);
  }
  return out;
}

TableDiff RowDiffer::compare_table(DbId db, const std::string& table, const TableRef* a, const TableRef* b,
                                   sql::Db* adb, sql::Db* bdb) {
  TableDiff d;
  d.table = table;
  Columns cols = common_columns(db, table, a, b);
  if (cols.names.empty()) return d;
  Cursor x(adb, a, positions(a, cols.names), cols.keys), y(bdb, b, positions(b, cols.names), cols.keys);
  bool mephisto = db == DbId::Mephisto;
  int unit_run = mephisto && table == "units" ? index_of(cols.names, "task_run_id") : -1;
  bool runs = mephisto && table == "task_runs" && cols.keys == 1 && cols.names[0] == "task_run_id";
  auto note = [&](const Row& row, const char* change) {
    if (runs) run(row[0]).change = change;
    if (unit_run < 0) return;
    RunDiff& r = run(row[static_cast<size_t>(unit_run)]);
    ++(change[0] == 'a' ? r.units_added : change[0] == 'r' ? r.units_removed : r.units_changed);
  };
  while (x.has() || y.has()) {
    int c = !x.has() ? 1 : !y.has() ? -1 : compare_keys(x.row(), y.row(), cols.keys);
    if (c < 0) {
      ++d.removed;
      note(x.row(), "removed");
      x.next();
    } else if (c > 0) {
      ++d.added;
      note(y.row(), "added");
      y.next();
    } else {
      if (!same_row(db, cols.names, x.row(), y.row())) {
        ++d.changed;
        note(y.row(), "changed");
      }
      x.next();
      y.next();
    }
  }
  return d;
}

namespace {

// One column of the row of `table` whose `key` column holds `v`, in `t`; nullopt when none.
std::optional<Value> lookup(const DbTables* t, const std::string& table, const std::string& key, const Value& v,
                            const std::string& want) {
  if (!t) return std::nullopt;
  auto it = t->tables.find(table);
  if (it == t->tables.end() || it->second.from.empty()) return std::nullopt;
  const TableRef& ref = it->second;
  int k = index_of(ref.names, key), w = index_of(ref.names, want);
  if (k < 0 || w < 0) return std::nullopt;
  sql::Stmt s = t->db->prepare("SELECT " + ref.sql_cols[static_cast<size_t>(w)] + " FROM " + ref.from + " WHERE " +
                               ref.sql_cols[static_cast<size_t>(k)] + " = ?1 LIMIT 1");
  s.bind(1, v);
  if (!s.step()) return std::nullopt;
  return s.column(0);
}

std::string task_name(const DbTables* t, const Value& run_id) {
  std::optional<Value> task = lookup(t, "task_runs", "task_run_id", run_id, "task_id");
  if (!task) return "";
  std::optional<Value> name = lookup(t, "tasks", "task_id", *task, "task_name");
  return name ? name->to_string() : "";
}

}  // namespace

std::vector<RunDiff> RowDiffer::task_runs(const DbTables* a, const DbTables* b) {
  std::vector<RunDiff> out;
  for (auto& [key, r] : runs_) {
    Value id = key.first == std::numeric_limits<int64_t>::max() ? Value::text(key.second) : Value::integer(key.first);
    r.task_name = task_name(b, id);
    if (r.task_name.empty()) r.task_name = task_name(a, id);
    out.push_back(r);
  }
  return out;
}

}  // namespace mdb
