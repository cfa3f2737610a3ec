#include "import/import_engine.h"

#include <algorithm>

#include "datadir/datadir.h"
#include "dump/dump_values.h"
#include "import/import_local.h"
#include "formats/dump_json.h"
#include "base/error.h"
#include "base/interrupt.h"
#include "formats/pyjson.h"
#include "formats/safe_path.h"
#include "platform/env.h"

namespace mdb::core {

namespace {

// The tables whose rows imported_data records, in the original's order.
const std::vector<std::string_view> kImportedDataTables = {"projects", "requesters", "tasks", "qualifications",
                                                           "workers", "task_runs", "granted_qualifications"};

bool records_imported_data(DbId db, std::string_view table) {
  return db == DbId::Mephisto &&
         std::find(kImportedDataTables.begin(), kImportedDataTables.end(), table) != kImportedDataTables.end();
}

bool integer_keyed(const TableSpec* spec) {
  return spec && (spec->key_kind == KeyKind::IntegerId || spec->key_kind == KeyKind::ProviderRowId);
}

// A key as text for messages.
std::string show(const Value& v) { return v.kind == StorageClass::Text ? "\"" + v.s + "\"" : v.to_string(); }

std::string q(std::string_view ident) { return sql::quote_ident(ident); }

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

bool is_decimal(std::string_view s) {
  return !s.empty() && s.size() < 20 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// A reference from a column of a dump table (core::references() plus where its values point).
struct Importer::Ref {
  DbId db;
  std::string table, column;
  int index;  // dump column
  DbId target_db;
  std::string target_table, target_column;
  RefKind kind;
  bool deferred;        // the target table is imported at or after this one: set once it is
  bool integer_target;  // the target is an integer key: text values are its ids as text
};

struct Importer::Table {
  DumpTable* dt;
  const TableSpec* spec;
  const TableInfo* local;
  std::string qname;            // "schema"."table"
  int pk = -1;                  // dump column of the primary key
  int local_pk = -1;            // local column of the primary key
  std::vector<int> natural;     // dump columns of the natural key
  // Dump columns of the local table's other UNIQUE constraints: what the schema says can exist
  // only once also identifies the same object (a prolific study id, a unit's assignment slot).
  std::vector<std::vector<int>> uniques;
  std::vector<sql::Stmt> select_all_by_unique;
  std::vector<int> local_of;    // local column of each dump column
  std::vector<int> referenced;  // dump columns other rows refer to (the primary key among them)
  std::vector<Ref> refs;
  std::vector<std::string> local_cols;
  sql::Stmt select_all_by_pk, select_all_by_natural, select_identical, insert;
  std::map<std::string, sql::Stmt> updates;
};

size_t Importer::KeyHash::operator()(const Key& k) const {
  return std::visit([](const auto& v) { return std::hash<std::decay_t<decltype(v)>>()(v); }, k);
}

Importer::Importer(Dump& dump, sql::Db& local, const ImportSettings& settings, const stdfs::path& data_dir)
    : dump_(dump), db_(local), settings_(settings), data_dir_(data_dir), rng_(settings.id_seed) {}

Importer::~Importer() = default;

const SchemaInfo& Importer::local_schema(DbId db) {
  auto it = local_schemas_.find(db);
  if (it == local_schemas_.end()) it = local_schemas_.emplace(db, read_schema(db_, schema_name(db))).first;
  return it->second;
}

const TableInfo* Importer::local_table(DbId db, std::string_view name) { return local_schema(db).find(name); }

Importer::Table& Importer::table_info(DumpTable& dt) {
  std::string key = std::string(db_spec(dt.db).key) + "." + dt.name;
  auto it = tables_.find(key);
  if (it != tables_.end()) return *it->second;
  auto t = std::make_unique<Table>();
  t->dt = &dt;
  t->spec = find_table_spec(dt.db, dt.name);
  t->local = local_table(dt.db, dt.name);
  t->qname = q(schema_name(dt.db)) + "." + q(dt.name);
  if (t->spec && !t->spec->pk.empty()) t->pk = dt.column(t->spec->pk);
  if (t->local) {
    t->local_pk = t->spec ? t->local->column_index(t->spec->pk) : -1;
    for (const std::string& c : dt.columns) t->local_of.push_back(t->local->column_index(c));
  }
  if (t->spec)
    for (std::string_view c : t->spec->natural_key) t->natural.push_back(dt.column(c));
  if (std::find(t->natural.begin(), t->natural.end(), -1) != t->natural.end()) t->natural.clear();
  if (t->local) {
    std::string schema = q(schema_name(dt.db));
    sql::Stmt indexes = db_.prepare("SELECT name FROM pragma_index_list(?1, ?2) WHERE \"unique\" AND origin != 'pk'");
    indexes.bind(1, dt.name).bind(2, schema_name(dt.db));
    sql::Stmt info = db_.prepare("SELECT name FROM pragma_index_info(?1, ?2) ORDER BY seqno");
    while (indexes.step()) {
      std::vector<int> cols;
      info.bind(1, indexes.column_text(0)).bind(2, schema_name(dt.db));
      while (info.step()) cols.push_back(dt.column(info.column_text(0)));
      info.reset();
      bool usable = !cols.empty() && std::find(cols.begin(), cols.end(), -1) == cols.end() && cols != t->natural &&
                    !(cols.size() == 1 && cols[0] == t->pk);
      if (usable) t->uniques.push_back(cols);
    }
  }
  if (t->local) {
    int own_rank = t->spec ? t->spec->import_rank : -1;
    for (const Reference& r : references(dt.db, local_schema(dt.db))) {
      if (r.table != dt.name) continue;
      int index = dt.column(r.column);
      if (index < 0) continue;
      const TableSpec* target = find_table_spec(r.target_db, r.target_table);
      bool deferred = r.target_db == dt.db && target && target->import_rank >= own_rank;
      bool integer_target = target && target->pk == r.target_column && integer_keyed(target);
      t->refs.push_back({dt.db, dt.name, r.column, index, r.target_db, r.target_table, r.target_column, r.kind,
                         deferred, integer_target});
    }
    for (size_t c = 0; c < dt.columns.size(); ++c)
      if (static_cast<int>(c) == t->pk || is_referenced(dt.db, dt.name, dt.columns[c]))
        t->referenced.push_back(static_cast<int>(c));
  }
  return *tables_.emplace(key, std::move(t)).first->second;
}

std::vector<DumpTable*> Importer::ordered_tables() {
  std::vector<DbId> dbs = {DbId::Mephisto};
  for (DbId db : dump_.dbs())
    if (db != DbId::Mephisto && db != DbId::Inhouse) dbs.push_back(db);
  std::vector<DumpTable*> out;
  for (DbId db : dbs)
    for (const TableSpec* spec : import_order(db))
      if (DumpTable* dt = dump_.table(db, spec->name); dt && dt->rows > 0) out.push_back(dt);
  return out;
}

std::string Importer::row_name(const Table& t, const Row& row, int64_t index) const {
  std::string out = "Database `" + std::string(db_spec(t.dt->db).key) + "`, table `" + t.dt->name + "`, row ";
  if (t.pk >= 0) return out + t.dt->columns[t.pk] + " " + show(row[t.pk]);
  return out + std::to_string(index);
}

// ---- validation ----

void Importer::validate(Problems& problems) {
  const nlohmann::ordered_json& meta = dump_.metadata();
  if (!meta.is_object()) {
    problems.add("Dump file has to contain metadata under `dump_metadata` key.");
  } else {
    bool dump_qo = false;
    if (meta.contains("export_options") && meta["export_options"].is_object()) {
      const auto& opts = meta["export_options"];
      auto it = opts.find("-qo/--qualification-only");
      dump_qo = it != opts.end() && it->is_boolean() && it->get<bool>();
    }
    if (settings_.qualification_only && !dump_qo)
      problems.add("You cannot use `--qualification-only` option to import a regular dump file.");
    if (!settings_.qualification_only && dump_qo)
      problems.add("You cannot use regular import with a qualification-only dump file.");
  }
  check_tables(problems);
  if (!problems.empty()) return;  // later checks rely on the tables and columns being known
  check_duplicates(problems);
  check_not_null(problems);
  repair_randomized_references();
  check_references(problems);
  check_project_dirs(problems);
  check_files(problems);
}

void Importer::check_tables(Problems& problems) {
  for (DumpTable& dt : dump_.tables()) {
    if (dt.items == 0) continue;
    std::string where = "Your local `" + std::string(db_spec(dt.db).key) + "` database";
    const TableSpec* spec = find_table_spec(dt.db, dt.name);
    const TableInfo* local = dt.db == DbId::Inhouse ? nullptr : local_table(dt.db, dt.name);
    if (!local || !spec) {
      problems.add(where + " does not have table '" + dt.name + "'.");
      continue;
    }
    if (spec->import_rank < 0) continue;  // imported_data (with -k), migrations: not imported as rows
    for (const std::string& c : dt.columns)
      if (!local->has_column(c)) problems.add(where + " does not have column '" + c + "' in table '" + dt.name + "'.");
    if (!spec->pk.empty() && dt.column(spec->pk) < 0)
      problems.add("Database `" + std::string(db_spec(dt.db).key) + "`, table `" + dt.name + "`: the rows lack their key `" +
                   std::string(spec->pk) + "`.");
  }
}

void Importer::check_duplicates(Problems& problems) {
  for (DumpTable* dt : ordered_tables()) {
    Table& t = table_info(*dt);
    std::vector<std::vector<int>> keys;
    if (t.pk >= 0) keys.push_back({t.pk});
    if (!t.natural.empty()) keys.push_back(t.natural);
    for (const std::vector<int>& key : keys) {
      std::string cols, names;
      for (int c : key) {
        cols += (cols.empty() ? "c" : ", c") + std::to_string(c);
        names += (names.empty() ? "" : ", ") + dt->columns[c];
      }
      sql::Stmt s = dump_.stage().prepare("SELECT " + cols + ", count(*) FROM " + dt->stage + " GROUP BY " + cols +
                                          " HAVING count(*) > 1 LIMIT 10");
      while (s.step()) {
        std::string values;
        for (size_t i = 0; i < key.size(); ++i) values += (i ? ", " : "") + show(s.column(static_cast<int>(i)));
        problems.add("Database `" + std::string(db_spec(dt->db).key) + "`, table `" + dt->name + "`: " +
                     std::to_string(s.column_int(static_cast<int>(key.size()))) + " rows have the same " + names +
                     " (" + values + ").");
      }
    }
  }
}

// A NULL where the local schema says NOT NULL would fail the row's INSERT inside the transaction
// (as it fails the original's import): refused here instead, naming the rows.
void Importer::check_not_null(Problems& problems) {
  for (DumpTable* dt : ordered_tables()) {
    Table& t = table_info(*dt);
    if (!t.local) continue;
    for (const ColumnInfo& c : t.local->columns) {
      int col = dt->column(c.name);
      if (!c.notnull || c.pk > 0 || col < 0) continue;
      std::string key = t.pk >= 0 ? "c" + std::to_string(t.pk) : "rowid - 1";
      sql::Stmt s = dump_.stage().prepare("SELECT " + key + " FROM " + dt->stage + " WHERE c" + std::to_string(col) +
                                          " IS NULL ORDER BY rowid LIMIT 10");
      while (s.step()) {
        std::string row = t.pk >= 0 ? dt->columns[t.pk] + " " + show(s.column(0)) : std::to_string(s.column_int(0));
        problems.add("Database `" + std::string(db_spec(dt->db).key) + "`, table `" + dt->name + "`, row " + row +
                     ", column `" + c.name + "`: null, but the column is NOT NULL.");
      }
    }
  }
}

namespace {

// The elements of a JSON id list ("[1, \"2\"]"), or nullopt when the text is not one.
std::optional<std::vector<Value>> parse_id_list(const Value& v) {
  if (v.kind != StorageClass::Text) return std::nullopt;
  try {
    nlohmann::json j = nlohmann::json::parse(v.s);
    if (!j.is_array()) return std::nullopt;
    std::vector<Value> out;
    for (const auto& e : j) {
      if (e.is_number_integer()) out.push_back(Value::integer(e.get<int64_t>()));
      else if (e.is_string()) out.push_back(Value::text(e.get<std::string>()));
      else return std::nullopt;
    }
    return out;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::string render_id_list(const std::vector<Value>& ids) {
  std::string out;
  PyJsonWriter w(out, -1);
  w.begin_array();
  for (const Value& id : ids) {
    if (id.kind == StorageClass::Integer) w.integer(id.i);
    else w.string(id.s);
  }
  w.end_array();
  return out;
}

// A reference value as the target table's key: integer keys from id text.
std::optional<Value> as_key(const Value& v, bool integer_target) {
  if (!integer_target || v.kind == StorageClass::Integer) return v;
  if (v.kind == StorageClass::Text)
    if (auto i = parse_integer_text(v.s)) return Value::integer(*i);
  return std::nullopt;
}

// `key` put back in the storage class of `as` (a text column keeps holding ids as text).
Value like(const Value& as, const Value& key) { return as.kind == StorageClass::Text ? Value::text(key.to_string()) : key; }

using KeyChange = std::function<std::optional<Value>(const Value& key)>;

// Applies `change` to each id a reference value holds (one, or each of a JSON id list), taken as
// the target's key; returns the new value (storage class and list spelling kept), or nullopt.
std::optional<Value> map_ids(RefKind kind, bool integer_target, const Value& v, const KeyChange& change) {
  if (kind != RefKind::JsonIdList) {
    std::optional<Value> key = as_key(v, integer_target);
    std::optional<Value> changed = key ? change(*key) : std::nullopt;
    return changed ? std::optional<Value>(like(v, *changed)) : std::nullopt;
  }
  std::optional<std::vector<Value>> ids = parse_id_list(v);
  if (!ids) return std::nullopt;
  bool any = false;
  for (Value& id : *ids)
    if (std::optional<Value> key = as_key(id, true))
      if (std::optional<Value> changed = change(*key)) {
        id = like(id, *changed);
        any = true;
      }
  return any ? std::optional<Value>(Value::text(render_id_list(*ids))) : std::nullopt;
}

}  // namespace

// The original's -r also replaced ids that were not legacy (>= 1,000,000: already random, so
// already identities), e.g. every prolific id (defect 9). Such a row gets its id back, so a dump
// and its `-r` twin recognise each other's rows instead of clashing on their other unique columns.
void Importer::undo_needless_substitutions(const nlohmann::ordered_json& subs) {
  for (const auto& [db_key, tables] : subs.items()) {
    std::optional<DbId> db = db_from_key(db_key);
    if (!db || !tables.is_object()) continue;
    for (const auto& [table, pairs] : tables.items()) {
      DumpTable* dt = dump_.table(*db, table);
      const TableSpec* spec = find_table_spec(*db, table);
      if (!dt || !pairs.is_object() || !integer_keyed(spec) || dt->column(spec->pk) < 0) continue;
      int pk = dt->column(spec->pk);
      int64_t restored = 0;
      sql::Stmt update = dump_.stage().prepare("UPDATE " + dt->stage + " SET c" + std::to_string(pk) + " = ?1 WHERE c" +
                                               std::to_string(pk) + " = ?2");
      for (const auto& [old_text, now] : pairs.items()) {
        std::optional<int64_t> old = parse_integer_text(old_text);
        std::optional<int64_t> id = now.is_string() ? parse_integer_text(now.get<std::string>()) : std::nullopt;
        if (!old || !id || *old < kLegacyIdLimit || dump_.has_value(*dt, pk, Value::integer(*old))) continue;
        update.bind(1, *old).bind(2, *id);
        update.run();
        restored += sqlite3_changes64(dump_.stage().get());
        maps_[{*db, table, std::string(spec->pk)}][Key(*id)] = Key(*old);
      }
      if (restored > 0) restored_ids_.push_back({db_key + "." + table, restored});
    }
  }
  // References to those rows follow them back (through the same key maps as the import itself).
  if (maps_.empty()) return;
  for (DumpTable* dt : ordered_tables())
    for (const Ref& r : table_info(*dt).refs)
      if (maps_.count({r.target_db, r.target_table, r.target_column}))
        rewrite_staged(*dt, r.index, [&](const Value& v) { return map_ref(r, v); });
  maps_.clear();
}

void Importer::rewrite_staged(DumpTable& dt, int column, const std::function<std::optional<Value>(const Value&)>& f) {
  std::string c = "c" + std::to_string(column);
  sql::Stmt rows = dump_.stage().prepare("SELECT rowid, " + c + " FROM " + dt.stage + " WHERE " + c + " IS NOT NULL");
  std::vector<std::pair<int64_t, Value>> changes;
  while (rows.step())
    if (std::optional<Value> now = f(rows.column(1))) changes.push_back({rows.column_int(0), *now});
  sql::Stmt update = dump_.stage().prepare("UPDATE " + dt.stage + " SET " + c + " = ?1 WHERE rowid = ?2");
  for (const auto& [rowid, value] : changes) {
    update.bind(1, value).bind(2, rowid);
    update.run();
  }
}

void Importer::repair_randomized_references() {
  const nlohmann::ordered_json& meta = dump_.metadata();
  if (!meta.is_object() || !meta.contains("pk_substitutions") || !meta["pk_substitutions"].is_object()) return;
  const auto& subs = meta["pk_substitutions"];
  // The original's -r rewrote primary keys but not every reference to them: a reference still
  // holding an old key (absent from the dump's target table) gets the new one.
  auto substitute = [&](const Ref& r, const Value& key) -> std::optional<Value> {
    const std::string db_key(db_spec(r.target_db).key);
    if (!subs.contains(db_key) || !subs[db_key].is_object() || !subs[db_key].contains(r.target_table)) return std::nullopt;
    const auto& table_subs = subs[db_key][r.target_table];
    std::string old = key.to_string();
    if (!table_subs.is_object() || !table_subs.contains(old) || !table_subs[old].is_string()) return std::nullopt;
    DumpTable* target = dump_.table(r.target_db, r.target_table);
    if (target && target->column(r.target_column) >= 0 && dump_.has_value(*target, target->column(r.target_column), key))
      return std::nullopt;
    std::optional<int64_t> id = parse_integer_text(table_subs[old].get<std::string>());
    if (!id) return std::nullopt;
    return Value::integer(*id);
  };
  undo_needless_substitutions(subs);
  for (DumpTable* dt : ordered_tables())
    for (const Ref& r : table_info(*dt).refs)
      if (r.integer_target || r.kind == RefKind::JsonIdList)
        rewrite_staged(*dt, r.index, [&](const Value& v) {
          return map_ids(r.kind, true, v, [&](const Value& key) { return substitute(r, key); });
        });
  if (subs.contains("mephisto") && subs["mephisto"].contains("onboarding_agents") &&
      subs["mephisto"]["onboarding_agents"].is_object())
    for (const auto& [old, now] : subs["mephisto"]["onboarding_agents"].items())
      if (now.is_string()) onboarding_subs_[old] = now.get<std::string>();
}

bool Importer::local_has(DbId db, const std::string& table, const std::string& column, const Value& v) {
  std::string key = schema_name(db) + "." + table + "." + column;
  sql::Stmt& s = lookups_[key];
  if (!s.get())
    s = db_.prepare("SELECT 1 FROM " + q(schema_name(db)) + "." + q(table) + " WHERE " + q(column) + " = ?1 LIMIT 1");
  s.bind(1, v);
  bool found = s.step();
  s.reset();
  return found;
}

void Importer::check_references(Problems& problems) {
  for (DumpTable* dt : ordered_tables()) {
    Table& t = table_info(*dt);
    for (const Ref& r : t.refs) {
      DumpTable* target = dump_.table(r.target_db, r.target_table);
      int target_col = target ? target->column(r.target_column) : -1;
      const TableInfo* local_target = local_table(r.target_db, r.target_table);
      std::string cols = "c" + std::to_string(r.index) + (t.pk >= 0 ? ", c" + std::to_string(t.pk) : "");
      sql::Stmt rows = dump_.stage().prepare("SELECT rowid, " + cols + " FROM " + dt->stage + " WHERE c" +
                                             std::to_string(r.index) + " IS NOT NULL ORDER BY rowid");
      while (rows.step()) {
        Value v = rows.column(1);
        Row key_row(dt->columns.size());
        if (t.pk >= 0) key_row[t.pk] = rows.column(2);
        std::string where = row_name(t, key_row, rows.column_int(0) - 1) + ", column `" + r.column + "`: ";
        std::vector<Value> ids = {v};
        if (r.kind == RefKind::JsonIdList) {
          std::optional<std::vector<Value>> list = parse_id_list(v);
          if (!list) {
            problems.add(where + show(v) + " is not a JSON list of ids.");
            continue;
          }
          ids = *list;
        }
        for (const Value& id : ids) {
          std::optional<Value> key = as_key(id, r.integer_target || r.kind == RefKind::JsonIdList);
          if (!key) {
            problems.add(where + show(id) + " is not an id of " + r.target_table + ".");
            continue;
          }
          bool found = (target_col >= 0 && dump_.has_value(*target, target_col, *key)) ||
                       (local_target && local_has(r.target_db, r.target_table, r.target_column, *key));
          if (!found)  // imported as it is, with a warning (import.md "References that nothing satisfies")
            dangling_.push_back({std::string(db_spec(dt->db).key), dt->name,
                                 t.pk >= 0 ? dt->columns[t.pk] : std::string(),
                                 t.pk >= 0 ? rows.column(2) : Value::integer(rows.column_int(0) - 1), r.column,
                                 r.target_table, r.target_column, *key});
        }
      }
    }
  }
}

void Importer::check_project_dirs(Problems& problems) {
  DumpTable* projects = dump_.table(DbId::Mephisto, "projects");
  int name = projects ? projects->column("project_name") : -1;
  if (name < 0) return;
  Table& t = table_info(*projects);
  sql::Stmt rows = dump_.stage().prepare("SELECT rowid, " + (t.pk >= 0 ? "c" + std::to_string(t.pk) : "NULL") +
                                         ", c" + std::to_string(name) + " FROM " + projects->stage + " ORDER BY rowid");
  while (rows.step()) {
    Value v = rows.column(2);
    std::string problem = project_dir_problem(v);
    if (problem.empty()) continue;
    Row key_row(projects->columns.size());
    if (t.pk >= 0) key_row[t.pk] = rows.column(1);
    problems.add(row_name(t, key_row, rows.column_int(0) - 1) + ", column `project_name`: " + show(v) +
                 " cannot be the directory data/runs/<project_name>/ of its task runs' files: it " + problem +
                 " (docs/PATHS.md).");
  }
}

void Importer::check_files(Problems& problems) {
  DumpTable* runs = dump_.table(DbId::Mephisto, "task_runs");
  int run_col = runs ? runs->column("task_run_id") : -1;
  for (const DumpFile& f : dump_.files()) {
    stdfs::path p(f.path());
    std::vector<std::string> parts;
    for (const auto& part : p) parts.push_back(part.string());
    std::optional<int64_t> run = parts.size() >= 3 ? parse_integer_text(parts[1]) : std::nullopt;
    if (!run || run_col < 0 || !dump_.has_value(*runs, run_col, Value::integer(*run)))
      problems.add("The zip holds the file runs/" + std::string(f.path()) +
                   ", which is not in the run dir (runs/<project>/<task run>/) of a task run of the dump.");
  }
}

// ---- classification and writing ----

bool Importer::is_referenced(DbId db, const std::string& table, const std::string& column) {
  if (!referenced_) {
    referenced_.emplace();
    std::vector<DbId> dbs = provider_dbs_with_rows(dump_);
    dbs.insert(dbs.begin(), DbId::Mephisto);
    for (DbId id : dbs)
      for (const Reference& r : references(id, local_schema(id)))
        referenced_->insert({r.target_db, r.target_table, r.target_column});
  }
  return referenced_->count({db, table, column}) > 0;
}

Value Importer::map_key(DbId db, const std::string& table, const std::string& column, const Value& v) const {
  auto it = maps_.find({db, table, column});
  if (it == maps_.end()) return v;
  Key k = v.kind == StorageClass::Integer ? Key(v.i) : Key(v.s);
  auto m = it->second.find(k);
  if (m == it->second.end()) return v;
  return std::holds_alternative<int64_t>(m->second) ? Value::integer(std::get<int64_t>(m->second))
                                                    : Value::text(std::get<std::string>(m->second));
}

std::optional<Value> Importer::map_ref(const Ref& r, const Value& v) const {
  return map_ids(r.kind, r.integer_target, v, [&](const Value& key) -> std::optional<Value> {
    Value mapped = map_key(r.target_db, r.target_table, r.target_column, key);
    if (mapped == key) return std::nullopt;
    return mapped;
  });
}

int64_t Importer::fresh_id(Table& t) {
  std::uniform_int_distribution<int64_t> dist(kLegacyIdLimit, INT64_MAX);
  for (;;) {
    int64_t id = dist(rng_);
    Value v = Value::integer(id);
    if (issued_.count({t.qname, Key(id)}) || local_has(t.dt->db, t.dt->name, std::string(t.spec->pk), v) ||
        dump_.has_value(*t.dt, t.pk, v))
      continue;
    issued_.insert({t.qname, Key(id)});
    return id;
  }
}

void Importer::record_imported(Table& t, const Row& dump_row, const Value& final_key, bool conflicted) {
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

bool Importer::Incoming::is_deferred(size_t i) const {
  return std::any_of(deferred.begin(), deferred.end(), [&](const Ref* r) { return r->index == static_cast<int>(i); });
}

namespace {

// The first row a statement finds, if any.
std::optional<Row> fetch_one(sql::Stmt& s) {
  std::optional<Row> r;
  if (s.step()) r = s.row();
  s.reset();
  return r;
}

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

}  // namespace

void Importer::prepare(Table& t) {
  if (t.insert.get()) return;
  const DumpTable& dt = *t.dt;
  for (const ColumnInfo& c : t.local->columns) t.local_cols.push_back(c.name);
  std::string all_local, dump_cols, params;
  for (const std::string& c : t.local_cols) all_local += (all_local.empty() ? "" : ", ") + q(c);
  std::vector<int> every;
  for (size_t i = 0; i < dt.columns.size(); ++i) {
    dump_cols += (i ? ", " : "") + q(dt.columns[i]);
    params += (i ? ", ?" : "?") + std::to_string(i + 1);
    every.push_back(static_cast<int>(i));
  }
  std::string select = "SELECT " + all_local + " FROM " + t.qname + " WHERE ";
  t.insert = db_.prepare("INSERT INTO " + t.qname + " (" + dump_cols + ") VALUES (" + params + ")");
  if (t.pk >= 0 && t.local_pk >= 0) t.select_all_by_pk = db_.prepare(select + conditions(dt.columns, {t.pk}, "="));
  if (!t.natural.empty()) t.select_all_by_natural = db_.prepare(select + conditions(dt.columns, t.natural, "="));
  for (const std::vector<int>& unique : t.uniques)
    t.select_all_by_unique.push_back(db_.prepare(select + conditions(dt.columns, unique, "=")));
  if (t.pk < 0)
    t.select_identical = db_.prepare("SELECT 1 FROM " + t.qname + " WHERE " + conditions(dt.columns, every, "IS") +
                                     " LIMIT 1");
}

Importer::Incoming Importer::redirect(const Table& t, Row row) const {
  Incoming in;
  in.original = row;
  for (const Ref& r : t.refs) {
    if (row[r.index].is_null()) continue;
    if (r.deferred) {  // set once its target is imported (fixups_)
      in.deferred.push_back(&r);
      row[r.index] = Value::null();
    } else if (std::optional<Value> mapped = map_ref(r, row[r.index])) {
      row[r.index] = *mapped;
    }
  }
  in.row = std::move(row);
  return in;
}

// Same object, conflict, clash (import.md): the local row with the natural key; else the one with
// the same key, when the key is an identity or the rows are equal in every column (otherwise the
// key clashes); else the one with a value of another UNIQUE constraint.
std::optional<Row> Importer::find_same_object(Table& t, const Incoming& in, bool& clash) {
  const Row& row = in.row;
  clash = false;
  if (!t.natural.empty() && bind_columns(t.select_all_by_natural, row, t.natural))
    if (auto local = fetch_one(t.select_all_by_natural)) return local;
  if (t.select_all_by_pk.get() && bind_columns(t.select_all_by_pk, row, {t.pk})) {
    std::optional<Row> local = fetch_one(t.select_all_by_pk);
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
    if (!bind_columns(t.select_all_by_unique[u], row, unique)) continue;
    if (auto local = fetch_one(t.select_all_by_unique[u])) {
      clash = false;
      return local;
    }
  }
  return std::nullopt;
}

// A table without a key (mturk run_mappings): the same row is the same object.
bool Importer::already_present(Table& t, const Row& row) {
  for (size_t i = 0; i < row.size(); ++i) t.select_identical.bind(static_cast<int>(i) + 1, row[i]);
  return fetch_one(t.select_identical).has_value();
}

Row Importer::merge(Table& t, const Incoming& in, const Row& local, bool write, bool& changed) {
  Row incoming = local;  // columns the dump lacks, and deferred references, stay as they are here
  for (size_t i = 0; i < in.row.size(); ++i)
    if (!in.is_deferred(i)) incoming[t.local_of[i]] = in.row[i];
  Row merged = settings_.resolver->resolve(t.dt->db, t.dt->name, t.local_cols, t.local_pk, local, incoming);
  std::vector<size_t> columns;
  for (size_t i = 0; i < merged.size(); ++i)
    if (compare_for_resolver(t.local_cols[i], merged[i], local[i]) != 0 || merged[i].kind != local[i].kind)
      columns.push_back(i);
  changed = !columns.empty();
  if (!changed || !write) return merged;
  std::string set, signature;
  for (size_t k = 0; k < columns.size(); ++k) {
    set += (k ? ", " : "") + q(t.local_cols[columns[k]]) + " = ?" + std::to_string(k + 1);
    signature += std::to_string(columns[k]) + ",";
  }
  sql::Stmt& update = t.updates[signature];
  if (!update.get())
    update = db_.prepare("UPDATE " + t.qname + " SET " + set + " WHERE " + q(t.spec->pk) + " = ?" +
                         std::to_string(columns.size() + 1));
  for (size_t k = 0; k < columns.size(); ++k) update.bind(static_cast<int>(k) + 1, merged[columns[k]]);
  update.bind(static_cast<int>(columns.size()) + 1, local[t.local_pk]);
  run_or_explain(update, t, in, "cannot update the local row");
  return merged;
}

void Importer::run_or_explain(sql::Stmt& s, const Table& t, const Incoming& in, const char* what) {
  try {
    s.run();
  } catch (const Error& e) {
    s.reset();
    throw Error(row_name(t, in.original, in.index) + ": " + what + ": " + e.what());
  }
}

// Records where the row's referenced values ended up, so other rows follow it.
void Importer::follow(const Table& t, const Incoming& in, const Row& final_row, bool local_row) {
  for (int c : t.referenced) {
    const Value& from = in.original[c];
    const Value& to = local_row ? final_row[t.local_of[c]] : final_row[c];
    if (from.is_null() || from == to) continue;
    auto key = [](const Value& v) { return v.kind == StorageClass::Integer ? Key(v.i) : Key(v.to_string()); };
    maps_[{t.dt->db, t.dt->name, t.dt->columns[c]}][key(from)] = key(to);
  }
}

void Importer::run_table(Table& t, bool write, ImportOutcome& out) {
  prepare(t);
  DumpTable& dt = *t.dt;
  TableCounts counts{dt.db, dt.name};
  std::string stage_cols;
  for (size_t i = 0; i < dt.columns.size(); ++i) stage_cols += (i ? ", c" : "c") + std::to_string(i);
  sql::Stmt rows = dump_.stage().prepare("SELECT " + stage_cols + " FROM " + dt.stage + " ORDER BY rowid");
  for (int64_t index = 0; rows.step(); ++index) {
    interrupt::check();
    ++counts.rows;
    Incoming in = redirect(t, rows.row());
    in.index = index;
    bool clash = false;
    std::optional<Row> local = find_same_object(t, in, clash);
    if (!local && t.pk < 0 && already_present(t, in.row)) {
      ++counts.present;
      continue;
    }
    Value final_key = t.pk >= 0 ? in.row[t.pk] : Value::null();
    if (local) {
      bool changed = false;
      Row merged = merge(t, in, *local, write, changed);
      ++(changed ? counts.merged : counts.present);
      final_key = (*local)[t.local_pk];
      follow(t, in, merged, true);
      int name = dt.db == DbId::Mephisto && dt.name == "projects" ? dt.column("project_name") : -1;
      if (name >= 0 && !(merged[t.local_of[name]] == in.row[name]))
        project_names_[in.row[name].to_string()] = merged[t.local_of[name]].to_string();
    } else {
      if (clash) {
        final_key = in.row[t.pk] = Value::integer(fresh_id(t));
        ++counts.remapped;
      }
      ++counts.inserted;
      if (write) {
        for (size_t i = 0; i < in.row.size(); ++i) t.insert.bind(static_cast<int>(i) + 1, in.row[i]);
        run_or_explain(t.insert, t, in, "cannot insert it");
      }
      for (const Ref* r : in.deferred) fixups_.push_back({r, final_key, in.original[r->index]});
      follow(t, in, in.row, false);
    }
    record_imported(t, in.row, final_key, local.has_value());
    if (dt.db == DbId::Mephisto && dt.name == "task_runs" && in.original[t.pk].kind == StorageClass::Integer)
      runs_[in.original[t.pk].i] = {final_key.i, !local.has_value()};
  }
  out.tables.push_back(counts);
}

void Importer::write_imported_data() {
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
std::string Importer::remap_imported_values(const std::string& table, const std::string& names,
                                            const std::string& values) {
  const TableSpec* spec = find_table_spec(DbId::Mephisto, table);
  nlohmann::json n, v;
  try {
    n = nlohmann::json::parse(names);
    v = nlohmann::json::parse(values);
  } catch (const nlohmann::json::exception&) {
    return values;
  }
  if (!spec || !n.is_array() || !v.is_array() || n.size() != v.size()) return values;
  const Table* t = nullptr;
  for (const auto& [key, each] : tables_)
    if (each->dt->db == DbId::Mephisto && each->dt->name == table) t = each.get();
  bool changed = false;
  std::string out;
  PyJsonWriter w(out, -1);
  w.begin_array();
  for (size_t i = 0; i < n.size(); ++i) {
    std::string name = n[i].is_string() ? n[i].get<std::string>() : "";
    Value value = v[i].is_number_integer() ? Value::integer(v[i].get<int64_t>())
                                           : Value::text(v[i].is_string() ? v[i].get<std::string>() : v[i].dump());
    // The column's target: the row's own key, or the row that column refers to.
    Ref target{DbId::Mephisto, table, name, -1, DbId::Mephisto, table, name, RefKind::ForeignKey, false, true};
    bool follows = name == spec->pk;
    for (const Ref& r : t ? t->refs : std::vector<Ref>{})
      if (r.column == name) {
        target = r;
        follows = true;
      }
    if (follows)
      if (std::optional<Value> mapped = map_ref(target, value)) {
        value = *mapped;
        changed = true;
      }
    if (value.kind == StorageClass::Integer) w.integer(value.i);
    else w.string(value.s);
  }
  w.end_array();
  return changed ? out : values;
}

void Importer::merge_dump_imported_data() {
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
    std::string values = remap_imported_values(table, names, r[c_values].to_string());
    // The dump's labels, without its "_" (which says its rows conflicted in another data dir).
    std::vector<std::string> labels = parse_labels(r[c_labels].to_string());
    find.bind(1, table).bind(2, names).bind(3, values);
    std::optional<Row> existing = fetch_one(find);
    if (existing) {
      std::vector<std::string> merged = parse_labels(existing->at(1).to_string());
      bool local_conflict = std::find(merged.begin(), merged.end(), "_") != merged.end();
      merged.insert(merged.end(), labels.begin(), labels.end());
      std::string rendered = render_labels(merged, local_conflict);
      if (rendered == existing->at(1).to_string()) continue;
      update.bind(1, rendered).bind(2, existing->at(0));
      update.run();
    } else {
      insert.bind(1, c_source >= 0 ? r[c_source] : Value::text(dump_.file_name()));
      insert.bind(2, render_labels(labels, false)).bind(3, table).bind(4, names).bind(5, values);
      insert.bind(6, c_date >= 0 ? r[c_date] : Value::null());
      insert.run();
    }
  }
}

void Importer::plan_files(ImportOutcome& out) {
  std::set<stdfs::path> new_dirs;
  // A dir named by the key of a dump row follows that row (assignment, agent, onboarding agent).
  auto mapped_dir = [&](const std::string& table, const std::string& part) {
    std::string pk(find_table_spec(DbId::Mephisto, table)->pk);
    DumpTable* dt = dump_.table(DbId::Mephisto, table);
    if (!is_decimal(part) || !dt || dt->column(pk) < 0) return part;
    Value key = Value::integer(*parse_integer_text(part));
    if (!dump_.has_value(*dt, dt->column(pk), key)) return part;
    return map_key(DbId::Mephisto, table, pk, key).to_string();
  };
  out.files.reserve(dump_.files().size());
  for (const DumpFile& f : dump_.files()) {
    std::vector<std::string> parts;
    for (const auto& part : stdfs::path(f.path())) parts.push_back(part.string());
    if (parts.size() < 3) continue;
    std::optional<int64_t> run = parse_integer_text(parts[1]);
    auto it = run ? runs_.find(*run) : runs_.end();
    if (it == runs_.end()) continue;
    auto project = project_names_.find(parts[0]);
    if (project != project_names_.end()) parts[0] = project->second;
    parts[1] = std::to_string(it->second.first);
    bool dirs_follow = parts.size() > 3;  // the last part is the file itself
    if (dirs_follow && parts[2] == "onboarding" && parts.size() > 4 && parts[3].rfind("onboarding_", 0) == 0) {
      std::string id = parts[3].substr(11);
      if (auto sub = onboarding_subs_.find(id); sub != onboarding_subs_.end()) id = sub->second;
      parts[3] = "onboarding_" + mapped_dir("onboarding_agents", id);
    } else if (dirs_follow) {
      parts[2] = mapped_dir("assignments", parts[2]);
      if (parts.size() > 4) parts[3] = mapped_dir("agents", parts[3]);
    }
    stdfs::path run_dir = run_dir_path(parts[0], it->second.first);
    stdfs::path dest = run_dir;
    // Member names are checked (zip), ids are integers, but an original -r dump's substitutions are any text.
    for (size_t i = 2; i < parts.size(); ++i) {
      if (std::string problem = path_component_problem(parts[i]); !problem.empty())
        throw Error("The dump's file runs/" + std::string(f.path()) + " would go to a path whose component \"" +
                    parts[i] + "\", from the dump's dump_metadata, " + problem +
                    " (docs/PATHS.md). Nothing was imported.");
      dest /= parts[i];
    }
    bool new_run = it->second.second;
    if (!new_run && fs::exists(data_dir_ / dest)) continue;  // an existing run's files win
    if (new_run) new_dirs.insert(run_dir);
    std::string moved_to = dest.string();
    if (moved_to == "data/" + f.entry->name) moved_to.clear();
    out.files.push_back({&f, std::move(moved_to), new_run});
  }
  out.new_run_dirs.assign(new_dirs.begin(), new_dirs.end());
}

// References whose target was imported after their row (units.agent_id, tasks.parent_task_id):
// set now, through the target's key map.
void Importer::set_deferred_references() {
  std::map<const Ref*, sql::Stmt> updates;
  for (const Fixup& f : fixups_) {
    sql::Stmt& set = updates[f.ref];
    if (!set.get())
      set = db_.prepare("UPDATE " + q(schema_name(f.ref->db)) + "." + q(f.ref->table) + " SET " + q(f.ref->column) +
                        " = ?1 WHERE " + q(find_table_spec(f.ref->db, f.ref->table)->pk) + " = ?2");
    std::optional<Value> mapped = map_ref(*f.ref, f.value);
    set.bind(1, mapped ? *mapped : f.value).bind(2, f.key);
    set.run();
  }
}

ImportOutcome Importer::run(bool write) {
  ImportOutcome out;
  out.dangling = dangling_;
  out.restored_ids = restored_ids_;
  for (DumpTable* dt : ordered_tables()) run_table(table_info(*dt), write, out);
  if (write) set_deferred_references();
  plan_files(out);
  for (const TableCounts& c : out.tables) out.changes = out.changes || c.inserted > 0 || c.merged > 0;
  out.changes = out.changes || !out.files.empty();
  if (write && out.changes) {
    write_imported_data();
    if (settings_.keep_import_metadata) merge_dump_imported_data();
  }
  return out;
}

}  // namespace mdb::core
