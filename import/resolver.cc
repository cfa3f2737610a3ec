#include "import/resolver.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "dump/dump_values.h"
#include "datadir/schema.h"
#include "formats/date.h"
#include "base/error.h"
#include "platform/env.h"

namespace mdb {

namespace {

struct MethodInfo {
  std::string_view name;
  Method method;
  bool needs_field;      // no default for row_field_name
  bool takes_field;
  bool takes_separator;  // required when taken
};

const std::vector<MethodInfo>& methods() {
  static const std::vector<MethodInfo> kMethods = {
      {"pick_row_from_db", Method::PickFromDb, false, false, false},
      {"pick_row_from_dump", Method::PickFromDump, false, false, false},
      {"pick_row_with_smaller_value", Method::PickSmaller, true, true, false},
      {"pick_row_with_larger_value", Method::PickLarger, true, true, false},
      {"pick_row_with_earlier_value", Method::PickEarlier, false, true, false},
      {"pick_row_with_later_value", Method::PickLater, false, true, false},
      {"concatenate_values", Method::Concatenate, true, true, true},
  };
  return kMethods;
}

std::string method_list() {
  std::string out;
  for (const MethodInfo& m : methods()) out += (out.empty() ? "" : ", ") + std::string(m.name);
  return out;
}

// Column names of a table in the final schema the original creates (empty if no such table).
std::vector<std::string> final_columns(DbId db, std::string_view table) {
  std::vector<std::string> out;
  if (const TableInfo* t = final_schema(schema_kind_of(db)).find(table))
    for (const ColumnInfo& c : t->columns) out.push_back(c.name);
  return out;
}

std::optional<double> as_number(const Value& v) {
  if (v.kind == StorageClass::Integer) return static_cast<double>(v.i);
  if (v.kind == StorageClass::Real) return v.r;
  if (v.kind != StorageClass::Text || v.s.empty()) return std::nullopt;
  double d = 0;
  auto [p, ec] = std::from_chars(v.s.data(), v.s.data() + v.s.size(), d);
  if (ec != std::errc() || p != v.s.data() + v.s.size()) return std::nullopt;
  return d;
}

template <typename T>
int three_way(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// A strategy from its JSON description; `where` names it in messages.
Strategy parse_strategy(const nlohmann::json& j, DbId db, const std::string& table, const std::string& where) {
  if (!j.is_object()) throw UsageError(where + " must be an object with \"method\" and \"kwargs\".");
  for (const auto& [key, value] : j.items())
    if (key != "method" && key != "kwargs")
      throw UsageError(where + " has an unknown field \"" + key + "\" (expected \"method\" and \"kwargs\").");
  if (!j.contains("method") || !j["method"].is_string())
    throw UsageError(where + " needs a \"method\": one of " + method_list() + ".");
  std::string name = j["method"].get<std::string>();
  const MethodInfo* info = nullptr;
  for (const MethodInfo& m : methods())
    if (m.name == name) info = &m;
  if (!info) throw UsageError(where + " names an unknown method \"" + name + "\"; known: " + method_list() + ".");
  Strategy s;
  s.method = info->method;
  if (info->takes_field && !info->needs_field) s.field = "creation_date";
  nlohmann::json kwargs = j.value("kwargs", nlohmann::json::object());
  if (!kwargs.is_object()) throw UsageError(where + ": \"kwargs\" must be an object.");
  for (const auto& [key, value] : kwargs.items()) {
    bool known = (key == "row_field_name" && info->takes_field) || (key == "separator" && info->takes_separator);
    if (!known) throw UsageError(where + ": the method " + name + " takes no argument \"" + key + "\".");
    if (!value.is_string()) throw UsageError(where + ": the argument \"" + key + "\" must be a string.");
    (key == "separator" ? s.separator : s.field) = value.get<std::string>();
  }
  if (info->needs_field && !kwargs.contains("row_field_name"))
    throw UsageError(where + ": the method " + name + " needs the argument \"row_field_name\".");
  if (info->takes_separator && !kwargs.contains("separator"))
    throw UsageError(where + ": the method " + name + " needs the argument \"separator\".");
  if (!s.field.empty() && !table.empty()) {
    std::vector<std::string> cols = final_columns(db, table);
    if (std::find(cols.begin(), cols.end(), s.field) == cols.end())
      throw UsageError(where + ": the table " + table + " has no column \"" + s.field + "\".");
  }
  return s;
}

}  // namespace

int compare_for_resolver(std::string_view column, const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return three_way(!a.is_null(), !b.is_null());
  if (is_date_column(column) && a.kind == StorageClass::Text && b.kind == StorageClass::Text) {
    auto da = parse_date(a.s), db = parse_date(b.s);
    if (da && db) return three_way(da->instant(), db->instant());
  }
  auto na = as_number(a), nb = as_number(b);
  if (na && nb) {
    if (a.kind == StorageClass::Integer && b.kind == StorageClass::Integer) return three_way(a.i, b.i);
    return three_way(*na, *nb);
  }
  if (na || nb) return na ? -1 : 1;  // numbers before text, as SQLite orders them
  return three_way(a.s, b.s);  // UTF-8 byte order is code point order
}

ConflictResolver ConflictResolver::builtin_default() {
  ConflictResolver r;
  r.name_ = "DefaultMergeConflictResolver";
  r.entries_.push_back({DbId::Mephisto, "granted_qualifications", {Method::PickSmaller, "value", "", std::nullopt}});
  r.entries_.push_back({DbId::Prolific, "workers", {Method::PickLarger, "is_blocked", "", std::nullopt}});
  return r;
}

ConflictResolver ConflictResolver::builtin_example() {
  const std::string y2k = "2000-01-01 00:00:00.000";
  ConflictResolver r;
  r.name_ = "ExampleMergeConflictResolver";
  r.default_ = {Method::PickFromDb, "", "", y2k};
  r.entries_.push_back({DbId::Mephisto, "tasks", {Method::Concatenate, "task_name", " + ", y2k}});
  return r;
}

ConflictResolver ConflictResolver::parse(std::string_view text, const std::string& file) {
  const std::string where = "The conflict resolver file " + file;
  nlohmann::json j;
  try {
    // The callback bounds nesting: a description needs 5 levels.
    j = nlohmann::json::parse(text, [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > 16) throw UsageError("nested too deeply");
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(where + " is not valid JSON: " + e.what() + ".");
  } catch (const UsageError& e) {
    throw UsageError(where + " is not a resolver description: " + e.what() + ".");
  }
  if (!j.is_object()) throw UsageError(where + " must hold a JSON object.");
  ConflictResolver r;
  r.name_ = file;
  for (const auto& [key, value] : j.items())
    if (key != "default_strategy" && key != "strategies")
      throw UsageError(where + " has an unknown field \"" + key + "\" (expected \"default_strategy\" and \"strategies\").");
  if (j.contains("default_strategy")) {
    const nlohmann::json& d = j["default_strategy"];
    if (!d.is_string()) throw UsageError(where + ": \"default_strategy\" must be a method name.");
    r.default_ = parse_strategy({{"method", d}}, DbId::Mephisto, "", where + ", default_strategy");
  }
  nlohmann::json strategies = j.value("strategies", nlohmann::json::object());
  if (!strategies.is_object()) throw UsageError(where + ": \"strategies\" must be an object of databases.");
  for (const auto& [db_key, tables] : strategies.items()) {
    std::optional<DbId> db = db_from_key(db_key);
    if (!db)
      throw UsageError(where + " names an unknown database \"" + db_key +
                       "\" (expected mephisto, mock, mturk, mturk_sandbox, prolific or inhouse).");
    if (!tables.is_object()) throw UsageError(where + ": the strategies of " + db_key + " must be an object of tables.");
    for (const auto& [table, strategy] : tables.items()) {
      const TableSpec* spec = find_table_spec(*db, table);
      if (!spec || spec->import_rank < 0)
        throw UsageError(where + " names an unknown table \"" + table + "\" of " + db_key + ".");
      r.entries_.push_back({*db, table, parse_strategy(strategy, *db, table, where + ", " + db_key + "." + table)});
    }
  }
  return r;
}

ConflictResolver ConflictResolver::from_option(const std::string& name_or_file) {
  if (name_or_file == "DefaultMergeConflictResolver") return builtin_default();
  if (name_or_file == "ExampleMergeConflictResolver") return builtin_example();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(name_or_file, ec))
    throw UsageError("Conflict resolver '" + name_or_file +
                     "' not found: -cr takes DefaultMergeConflictResolver, ExampleMergeConflictResolver or the path "
                     "of a resolver description file (.json).");
  std::string text;
  try {
    fs::File f = fs::File::open_read(name_or_file);
    if (f.size() > (1u << 20)) throw UsageError("The conflict resolver file " + name_or_file + " is larger than 1 MiB.");
    text = f.read_all();
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  return parse(text, name_or_file);
}

const Strategy& ConflictResolver::strategy(DbId db, std::string_view table) const {
  for (const Entry& e : entries_)
    if (e.db == db && e.table == table) return e.strategy;
  return default_;
}

Row ConflictResolver::resolve(DbId db, std::string_view table, const std::vector<std::string>& columns, int pk_index,
                              const Row& local, const Row& dump) const {
  const Strategy& s = strategy(db, table);
  int field = -1;
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == s.field) field = static_cast<int>(i);
  bool pick_dump = false;
  if (field >= 0) {
    const Value& l = local[field];
    const Value& d = dump[field];
    int cmp = compare_for_resolver(s.field, l, d);
    // The original's rules: a NULL local value loses, a NULL dump value loses; on a tie
    // smaller/larger keep the local row and earlier/later take the dump's.
    std::optional<bool> dump_wins;
    switch (s.method) {
      case Method::PickSmaller: dump_wins = cmp > 0; break;
      case Method::PickLarger: dump_wins = cmp < 0; break;
      case Method::PickEarlier: dump_wins = cmp >= 0; break;
      case Method::PickLater: dump_wins = cmp <= 0; break;
      default: break;
    }
    pick_dump = dump_wins && (l.is_null() || (!d.is_null() && *dump_wins));
  }
  if (s.method == Method::PickFromDump) pick_dump = true;
  Row merged = pick_dump ? dump : local;
  if (s.method == Method::Concatenate && field >= 0 && !local[field].is_null() && !dump[field].is_null() &&
      !local[field].to_string().empty() && !dump[field].to_string().empty())
    merged[field] = Value::text(local[field].to_string() + s.separator + dump[field].to_string());
  if (pk_index >= 0) merged[pk_index] = local[pk_index];
  for (size_t i = 0; i < columns.size(); ++i) {
    const Value& l = local[i];
    const Value& d = dump[i];
    if (columns[i] == "creation_date") {
      bool local_earlier = d.is_null() || (!l.is_null() && compare_for_resolver(columns[i], l, d) <= 0);
      merged[i] = s.set_creation_date ? Value::text(*s.set_creation_date) : (local_earlier ? l : d);
    } else if (columns[i] == "update_date") {
      merged[i] = compare_for_resolver(columns[i], l, d) >= 0 ? l : d;
    }
  }
  return merged;
}

}  // namespace mdb
