#include "export/export_remap.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_set>

#include "datadir/registry.h"

namespace mdb {

namespace {

bool has_row_ids(DbId db) { return db == DbId::Mephisto || rules_of(db) == DbId::Prolific; }

std::string primary_key(const Source& src, DbId db, std::string_view table) {
  const TableInfo* t = src.schema(db).find(table);
  return t ? t->primary_key() : std::string();
}

}  // namespace

void write_python_json(PyJsonWriter& w, const nlohmann::ordered_json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      w.null();
      break;
    case nlohmann::json::value_t::boolean:
      w.boolean(v.get<bool>());
      break;
    case nlohmann::json::value_t::number_integer:
      w.integer(v.get<int64_t>());
      break;
    case nlohmann::json::value_t::number_unsigned:
      w.raw(std::to_string(v.get<uint64_t>()));
      break;
    case nlohmann::json::value_t::number_float:
      w.real(v.get<double>());
      break;
    case nlohmann::json::value_t::string:
      w.string(v.get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::array:
      w.begin_array();
      for (const auto& e : v) write_python_json(w, e);
      w.end_array();
      break;
    case nlohmann::json::value_t::object:
      w.begin_object();
      for (const auto& [k, e] : v.items()) {
        w.key(k);
        write_python_json(w, e);
      }
      w.end_object();
      break;
    default:
      w.null();
      break;
  }
}

Remap::Remap(Source& src, const Selection& sel) : src_(&src) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int64_t> fresh(kLegacyIdLimit, std::numeric_limits<int64_t>::max());
  for (const DumpDb& d : sel.layout()) {
    if (!d.db || !has_row_ids(*d.db) || !src.attached(*d.db)) continue;
    for (const std::string& table : d.tables) {
      const TableSpec* spec = find_table_spec(*d.db, table);
      std::string pk = primary_key(src, *d.db, table);
      if (!spec || pk.empty() || table == "imported_data" ||
          (spec->key_kind != KeyKind::IntegerId && spec->key_kind != KeyKind::ProviderRowId))
        continue;
      Table t{*d.db, table, {}};
      std::string q = src.qualified(*d.db, table), key = sql::quote_ident(pk);
      sql::Stmt legacy = src.conn().prepare("SELECT " + key + " FROM " + q + " WHERE rowid IN (" +
                                            sel.rowids_sql(*d.db, table) + ") AND " + key + " < ?1 ORDER BY " + key);
      legacy.bind(1, kLegacyIdLimit);
      sql::Stmt used = src.conn().prepare("SELECT EXISTS (SELECT 1 FROM " + q + " WHERE " + key + " = ?1)");
      std::unordered_set<int64_t> taken;
      while (legacy.step()) {
        int64_t id;
        do {
          id = fresh(rng);
          used.bind(1, id);
          bool local = used.step() && used.column_int(0) != 0;
          used.reset();
          if (!local && taken.insert(id).second) break;
        } while (true);
        t.ids.push_back({legacy.column_int(0), id});
      }
      tables_.push_back(std::move(t));
    }
  }
  for (const DumpDb& d : sel.layout())
    if (d.db && src.attached(*d.db))
      for (const std::string& table : d.tables) rules_.push_back({{*d.db, table}, rules_for(*d.db, table)});
}

const Remap::Table* Remap::find(DbId db, std::string_view table) const {
  for (const Table& t : tables_)
    if (t.db == db && t.name == table) return &t;
  return nullptr;
}

std::optional<int64_t> Remap::lookup(DbId db, std::string_view table, int64_t id) const {
  const Table* t = find(db, table);
  if (!t) return std::nullopt;
  auto it = std::lower_bound(t->ids.begin(), t->ids.end(), std::pair<int64_t, int64_t>(id, 0),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
  if (it == t->ids.end() || it->first != id) return std::nullopt;
  return it->second;
}

std::vector<Remap::ColumnRule> Remap::rules_for(DbId db, std::string_view table) const {
  std::vector<ColumnRule> out;
  if (const Table* own = find(db, table)) out.push_back({primary_key(*src_, db, table), own, false});
  for (const Reference& r : src_->references()) {
    if (r.db != db || r.table != table) continue;
    const Table* target = find(r.target_db, r.target_table);
    if (!target || r.target_column != primary_key(*src_, r.target_db, r.target_table)) continue;
    out.push_back({r.column, target, r.kind == RefKind::JsonIdList});
  }
  return out;
}

void Remap::map_value(const Table& t, Value& v) const {
  std::optional<int64_t> id = v.as_int();
  if (!id) return;
  std::optional<int64_t> to = lookup(t.db, t.name, *id);
  if (!to) return;
  if (v.kind == StorageClass::Integer)
    v.i = *to;
  else
    v.s = std::to_string(*to);  // text keeps its type
}

void Remap::map_json_list(const Table& t, Value& v) const {
  if (v.kind != StorageClass::Text) return;
  nlohmann::ordered_json list = nlohmann::ordered_json::parse(v.s, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) return;
  bool changed = false;
  for (auto& e : list) {
    std::optional<int64_t> id;
    if (e.is_number_integer())
      id = e.get<int64_t>();
    else if (e.is_string())
      id = parse_int64(e.get_ref<const std::string&>());
    std::optional<int64_t> to = id ? lookup(t.db, t.name, *id) : std::nullopt;
    if (!to) continue;
    if (e.is_string())
      e = std::to_string(*to);
    else
      e = *to;
    changed = true;
  }
  if (!changed) return;
  std::string out;
  PyJsonWriter w(out, -1);
  write_python_json(w, list);
  v.s = std::move(out);
}

void Remap::map_imported_values(const std::vector<std::string>& columns, Row& row) const {
  auto index = [&](std::string_view c) {
    auto it = std::find(columns.begin(), columns.end(), c);
    return it == columns.end() ? -1 : static_cast<int>(it - columns.begin());
  };
  int table_col = index("table_name"), names_col = index("unique_field_names"),
      values_col = index("unique_field_values");
  if (table_col < 0 || names_col < 0 || values_col < 0) return;
  const Value& table = row[static_cast<size_t>(table_col)];
  Value& values = row[static_cast<size_t>(values_col)];
  auto names = nlohmann::ordered_json::parse(row[static_cast<size_t>(names_col)].s, nullptr, false);
  auto list = nlohmann::ordered_json::parse(values.s, nullptr, false);
  if (values.kind != StorageClass::Text || !names.is_array() || !list.is_array() || names.size() != list.size()) return;
  bool changed = false;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!names[i].is_string()) continue;
    const std::string& name = names[i].get_ref<const std::string&>();
    // The id column names its table: the row's own table's key, else the table keyed by it.
    const Table* target = nullptr;
    if (table.kind == StorageClass::Text && primary_key(*src_, DbId::Mephisto, table.s) == name)
      target = find(DbId::Mephisto, table.s);
    for (const TableSpec& spec : table_specs())
      if (!target && spec.db == DbId::Mephisto && spec.pk == name) target = find(DbId::Mephisto, spec.name);
    if (!target) continue;
    Value v = list[i].is_string()           ? Value::text(list[i].get<std::string>())
              : list[i].is_number_integer() ? Value::integer(list[i].get<int64_t>())
                                            : Value::null();
    Value before = v;
    map_value(*target, v);
    if (v == before) continue;
    list[i] = v.kind == StorageClass::Integer ? nlohmann::ordered_json(v.i) : nlohmann::ordered_json(v.s);
    changed = true;
  }
  if (!changed) return;
  std::string out;
  PyJsonWriter w(out, -1);
  write_python_json(w, list);
  values.s = std::move(out);
}

void Remap::apply(DbId db, std::string_view table, const std::vector<std::string>& columns, Row& row) const {
  if (tables_.empty()) return;
  if (db == DbId::Mephisto && table == "imported_data") return map_imported_values(columns, row);
  auto rules = std::find_if(rules_.begin(), rules_.end(),
                            [&](const auto& e) { return e.first.first == db && e.first.second == table; });
  if (rules == rules_.end()) return;
  for (const ColumnRule& rule : rules->second) {
    auto it = std::find(columns.begin(), columns.end(), rule.column);
    if (it == columns.end()) continue;
    Value& v = row[static_cast<size_t>(it - columns.begin())];
    if (rule.json_list)
      map_json_list(*rule.target, v);
    else
      map_value(*rule.target, v);
  }
}

std::vector<std::string> Remap::rename_run_path(std::vector<std::string> c) const {
  auto rename = [&](std::string& part, std::string_view table, std::string_view prefix) {
    if (part.compare(0, prefix.size(), prefix) != 0) return;
    std::optional<int64_t> id = parse_int64(std::string_view(part).substr(prefix.size()));
    if (!id) return;
    if (std::optional<int64_t> to = lookup(DbId::Mephisto, table, *id))
      part = std::string(prefix) + std::to_string(*to);
  };
  if (c.size() > 0) rename(c[0], "task_runs", "");
  if (c.size() > 1 && c[1] == "onboarding") {
    if (c.size() > 2) rename(c[2], "onboarding_agents", "onboarding_");
  } else {
    if (c.size() > 1) rename(c[1], "assignments", "");
    if (c.size() > 2) rename(c[2], "agents", "");
  }
  return c;
}

void Remap::write_substitutions(PyJsonWriter& w, const std::vector<DumpDb>& layout) const {
  w.begin_object();
  auto write_table = [&](const Table* t) {
    w.begin_object();
    if (t)
      for (const auto& [from, to] : t->ids) {
        w.key(std::to_string(from));
        w.string(std::to_string(to));
      }
    w.end_object();
  };
  for (const DumpDb& d : layout) {
    if (!d.db) continue;
    if (*d.db == DbId::Mephisto) {
      w.key(d.key);
      w.begin_object();
      for (const std::string& table : d.tables) {
        if (table == "imported_data") continue;
        w.key(table);
        write_table(find(DbId::Mephisto, table));
      }
      w.end_object();
    } else if (has_row_ids(*d.db)) {
      std::vector<const Table*> with_ids;
      for (const Table& t : tables_)
        if (t.db == *d.db && !t.ids.empty()) with_ids.push_back(&t);
      if (with_ids.empty()) continue;
      std::sort(with_ids.begin(), with_ids.end(), [](auto* a, auto* b) { return a->name < b->name; });
      w.key(d.key);
      w.begin_object();
      for (const Table* t : with_ids) {
        w.key(t->name);
        write_table(t);
      }
      w.end_object();
    }
  }
  w.end_object();
}

}  // namespace mdb
