#include "import/imported_data.h"

#include <algorithm>

#include "formats/pyjson.h"

namespace mdb {

namespace {

// The tables whose rows imported_data records, in the original's order.
const std::vector<std::string_view> kImportedDataTables = {"projects", "requesters", "tasks", "qualifications",
                                                           "workers", "task_runs", "granted_qualifications"};

bool records_imported_data(DbId db, std::string_view table) {
  return db == DbId::Mephisto &&
         std::find(kImportedDataTables.begin(), kImportedDataTables.end(), table) != kImportedDataTables.end();
}

// A value rendered as the original's JSON renders it: Mephisto `*_id` values as strings.
void write_json_value(PyJsonWriter& w, std::string_view column, const Value& v) {
  switch (v.kind) {
    case StorageClass::Null: w.null(); break;
    case StorageClass::Integer:
      if (is_id_column(column)) w.string(std::to_string(v.i));
      else w.integer(v.i);
      break;
    case StorageClass::Real: w.real(v.r); break;
    default: w.string(v.s);
  }
}

std::string json_strings(const std::vector<std::string>& items) {
  std::string out;
  PyJsonWriter w(out, -1);
  w.begin_array();
  for (const std::string& s : items) w.string(s);
  w.end_array();
  return out;
}

// data_labels: the labels sorted by code point, then "_" for rows that conflicted with a local row.
std::string render_labels(std::vector<std::string> labels, bool conflicted) {
  labels.erase(std::remove(labels.begin(), labels.end(), "_"), labels.end());
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  if (conflicted) labels.push_back("_");
  return json_strings(labels);
}

std::vector<std::string> parse_labels(const std::string& json) {
  std::vector<std::string> out;
  try {
    nlohmann::json j = nlohmann::json::parse(json);
    if (j.is_array())
      for (const auto& e : j)
        if (e.is_string()) out.push_back(e.get<std::string>());
  } catch (const nlohmann::json::exception&) {
  }
  return out;
}

// Adds the dump's `labels` to the local imported_data row `existing` (id, data_labels), which keeps
// its own "_".
void add_labels(sql::Stmt& update, const Row& existing, const std::vector<std::string>& labels) {
  std::vector<std::string> merged = parse_labels(existing.at(1).to_string());
  bool local_conflict = std::find(merged.begin(), merged.end(), "_") != merged.end();
  merged.insert(merged.end(), labels.begin(), labels.end());
  std::string rendered = render_labels(merged, local_conflict);
  if (rendered == existing.at(1).to_string()) return;
  update.bind(1, rendered).bind(2, existing.at(0));
  update.run();
}

// What an imported_data value of `table`'s column `name` follows: the row's own key, or the row
// that column refers to; nullopt for other columns.
std::optional<ImportRef> followed_by(const ImportTable* t, const TableSpec& spec, const std::string& table,
                                     const std::string& name) {
  std::optional<ImportRef> target;
  if (name == spec.pk)
    target = ImportRef{DbId::Mephisto, table, name, -1, DbId::Mephisto, table, name, RefKind::ForeignKey, false, true};
  for (const ImportRef& r : t ? t->refs : std::vector<ImportRef>{})
    if (r.column == name) target = r;
  return target;
}

}  // namespace

ImportedDataWriter::ImportedDataWriter(Dump& dump, sql::Db& local, const ImportTables& tables, const KeyMap& keys,
                                       const ImportSettings& settings)
    : dump_(dump), db_(local), tables_(tables), keys_(keys), settings_(settings) {}

void ImportedDataWriter::record(const ImportTable& t, const Row& dump_row, const Value& final_key, bool conflicted) {
  if (!records_imported_data(t.dt->db, t.dt->name)) return;
  std::vector<std::string> names;
  std::vector<Value> values;
  if (!t.natural.empty()) {
    for (int c : t.natural) {
      names.push_back(t.dt->columns[c]);
      values.push_back(dump_row[c]);
    }
  } else {
    names.push_back(std::string(t.spec->pk));
    values.push_back(final_key);
  }
  std::string v;
  PyJsonWriter w(v, -1);
  w.begin_array();
  for (size_t i = 0; i < names.size(); ++i) write_json_value(w, names[i], values[i]);
  w.end_array();
  imported_.push_back({t.dt->name, json_strings(names), v, conflicted});
}

void ImportedDataWriter::write() {
  write_recorded();
  if (settings_.keep_import_metadata) merge_dump_imported_data();
}

void ImportedDataWriter::write_recorded() {
  std::vector<std::string> labels = settings_.labels;
  sql::Stmt ins = db_.prepare(
      "INSERT INTO main.imported_data (source_file_name, data_labels, table_name, unique_field_names, "
      "unique_field_values) VALUES (?1, ?2, ?3, ?4, ?5)");
  // Per table, new rows first, then the conflicted ones (the original's order).
  for (std::string_view table : kImportedDataTables)
    for (bool conflicted : {false, true})
      for (const Imported& i : imported_) {
        if (i.table != table || i.conflicted != conflicted) continue;
        ins.bind(1, dump_.file_name()).bind(2, render_labels(labels, conflicted)).bind(3, i.table);
        ins.bind(4, i.names).bind(5, i.values);
        ins.run();
      }
}

// An imported_data row's unique_field_values names rows of this dump by their keys and references:
// they follow those rows to their keys here. Returns the values unchanged when nothing moved.
std::string ImportedDataWriter::remap_values(const std::string& table, const std::string& names,
                                             const std::string& values) const {
  const TableSpec* spec = find_table_spec(DbId::Mephisto, table);
  nlohmann::json n, v;
  try {
    n = nlohmann::json::parse(names);
    v = nlohmann::json::parse(values);
  } catch (const nlohmann::json::exception&) {
    return values;
  }
  if (!spec || !n.is_array() || !v.is_array() || n.size() != v.size()) return values;
  const ImportTable* t = tables_.described(table);
  bool changed = false;
  std::string out;
  PyJsonWriter w(out, -1);
  w.begin_array();
  for (size_t i = 0; i < n.size(); ++i) {
    std::string name = n[i].is_string() ? n[i].get<std::string>() : "";
    Value value = v[i].is_number_integer() ? Value::integer(v[i].get<int64_t>())
                                           : Value::text(v[i].is_string() ? v[i].get<std::string>() : v[i].dump());
    if (std::optional<ImportRef> target = followed_by(t, *spec, table, name))
      if (std::optional<Value> mapped = keys_.map_ref(*target, value)) {
        value = *mapped;
        changed = true;
      }
    if (value.kind == StorageClass::Integer) w.integer(value.i);
    else w.string(value.s);
  }
  w.end_array();
  return changed ? out : values;
}

void ImportedDataWriter::merge_dump_imported_data() {
  DumpTable* dt = dump_.table(DbId::Mephisto, "imported_data");
  if (!dt || dt->rows == 0) return;
  int c_source = dt->column("source_file_name"), c_labels = dt->column("data_labels"), c_table = dt->column("table_name"),
      c_names = dt->column("unique_field_names"), c_values = dt->column("unique_field_values"),
      c_date = dt->column("creation_date");
  if (c_labels < 0 || c_table < 0 || c_names < 0 || c_values < 0) return;
  sql::Stmt rows = dump_.stage().prepare("SELECT * FROM " + dt->stage + " ORDER BY rowid");
  sql::Stmt find = db_.prepare(
      "SELECT id, data_labels FROM main.imported_data WHERE table_name = ?1 AND unique_field_names = ?2 AND "
      "unique_field_values = ?3 ORDER BY id DESC LIMIT 1");
  sql::Stmt update = db_.prepare("UPDATE main.imported_data SET data_labels = ?1 WHERE id = ?2");
  sql::Stmt insert = db_.prepare(
      "INSERT INTO main.imported_data (source_file_name, data_labels, table_name, unique_field_names, "
      "unique_field_values, creation_date) VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, CURRENT_TIMESTAMP))");
  while (rows.step()) {
    Row r = rows.row();
    std::string table = r[c_table].to_string(), names = r[c_names].to_string();
    std::string values = remap_values(table, names, r[c_values].to_string());
    // The dump's labels, without its "_" (which says its rows conflicted in another data dir).
    std::vector<std::string> labels = parse_labels(r[c_labels].to_string());
    find.bind(1, table).bind(2, names).bind(3, values);
    if (std::optional<Row> existing = fetch_one(find)) {
      add_labels(update, *existing, labels);
    } else {
      insert.bind(1, c_source >= 0 ? r[c_source] : Value::text(dump_.file_name()));
      insert.bind(2, render_labels(labels, false)).bind(3, table).bind(4, names).bind(5, values);
      insert.bind(6, c_date >= 0 ? r[c_date] : Value::null());
      insert.run();
    }
  }
}

}  // namespace mdb
