#include "import/import_tables.h"

#include <algorithm>

#include "import/import_local.h"

namespace mdb {

namespace {

std::string q(std::string_view ident) { return sql::quote_ident(ident); }

std::string table_key(DbId db, const std::string& name) { return std::string(db_spec(db).key) + "." + name; }

}  // namespace

bool integer_keyed(const TableSpec* spec) {
  return spec && (spec->key_kind == KeyKind::IntegerId || spec->key_kind == KeyKind::ProviderRowId);
}

std::string show_key(const Value& v) { return v.kind == StorageClass::Text ? "\"" + v.s + "\"" : v.to_string(); }

std::optional<Row> fetch_one(sql::Stmt& s) {
  std::optional<Row> r;
  if (s.step()) r = s.row();
  s.reset();
  return r;
}

ImportTables::ImportTables(Dump& dump, sql::Db& local) : dump_(dump), db_(local) {}

const SchemaInfo& ImportTables::local_schema(DbId db) {
  auto it = local_schemas_.find(db);
  if (it == local_schemas_.end()) it = local_schemas_.emplace(db, read_schema(db_, schema_name(db))).first;
  return it->second;
}

const TableInfo* ImportTables::local_table(DbId db, std::string_view name) { return local_schema(db).find(name); }

ImportTable& ImportTables::info(DumpTable& dt) {
  std::string key = table_key(dt.db, dt.name);
  auto it = tables_.find(key);
  if (it != tables_.end()) return *it->second;
  auto t = std::make_unique<ImportTable>();
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
    t->uniques = unique_columns(*t);
    t->refs = refs_of(*t);
    for (size_t c = 0; c < dt.columns.size(); ++c)
      if (static_cast<int>(c) == t->pk || is_referenced(dt.db, dt.name, dt.columns[c]))
        t->referenced.push_back(static_cast<int>(c));
  }
  return *tables_.emplace(key, std::move(t)).first->second;
}

// The dump columns of the local table's UNIQUE constraints other than its keys.
std::vector<std::vector<int>> ImportTables::unique_columns(const ImportTable& t) {
  const DumpTable& dt = *t.dt;
  std::vector<std::vector<int>> out;
  sql::Stmt indexes = db_.prepare("SELECT name FROM pragma_index_list(?1, ?2) WHERE \"unique\" AND origin != 'pk'");
  indexes.bind(1, dt.name).bind(2, schema_name(dt.db));
  sql::Stmt info = db_.prepare("SELECT name FROM pragma_index_info(?1, ?2) ORDER BY seqno");
  while (indexes.step()) {
    std::vector<int> cols;
    info.bind(1, indexes.column_text(0)).bind(2, schema_name(dt.db));
    while (info.step()) cols.push_back(dt.column(info.column_text(0)));
    info.reset();
    bool usable = !cols.empty() && std::find(cols.begin(), cols.end(), -1) == cols.end() && cols != t.natural &&
                  !(cols.size() == 1 && cols[0] == t.pk);
    if (usable) out.push_back(cols);
  }
  return out;
}

std::vector<ImportRef> ImportTables::refs_of(const ImportTable& t) {
  const DumpTable& dt = *t.dt;
  std::vector<ImportRef> out;
  int own_rank = t.spec ? t.spec->import_rank : -1;
  for (const Reference& r : references(dt.db, local_schema(dt.db))) {
    if (r.table != dt.name) continue;
    int index = dt.column(r.column);
    if (index < 0) continue;
    const TableSpec* target = find_table_spec(r.target_db, r.target_table);
    bool deferred = r.target_db == dt.db && target && target->import_rank >= own_rank;
    bool integer_target = target && target->pk == r.target_column && integer_keyed(target);
    out.push_back({dt.db, dt.name, r.column, index, r.target_db, r.target_table, r.target_column, r.kind, deferred,
                   integer_target});
  }
  return out;
}

const ImportTable* ImportTables::described(const std::string& name) const {
  auto it = tables_.find(table_key(DbId::Mephisto, name));
  return it == tables_.end() ? nullptr : it->second.get();
}

std::vector<DumpTable*> ImportTables::ordered() {
  std::vector<DbId> dbs = {DbId::Mephisto};
  for (DbId db : dump_.dbs())
    if (db != DbId::Mephisto && db != DbId::Inhouse) dbs.push_back(db);
  std::vector<DumpTable*> out;
  for (DbId db : dbs)
    for (const TableSpec* spec : import_order(db))
      if (DumpTable* dt = dump_.table(db, spec->name); dt && dt->rows > 0) out.push_back(dt);
  return out;
}

std::string ImportTables::row_name(const ImportTable& t, const Row& row, int64_t index) const {
  std::string out = "Database `" + std::string(db_spec(t.dt->db).key) + "`, table `" + t.dt->name + "`, row ";
  if (t.pk >= 0) return out + t.dt->columns[t.pk] + " " + show_key(row[t.pk]);
  return out + std::to_string(index);
}

bool ImportTables::local_has(DbId db, const std::string& table, const std::string& column, const Value& v) {
  std::string key = schema_name(db) + "." + table + "." + column;
  sql::Stmt& s = lookups_[key];
  if (!s.get())
    s = db_.prepare("SELECT 1 FROM " + q(schema_name(db)) + "." + q(table) + " WHERE " + q(column) + " = ?1 LIMIT 1");
  s.bind(1, v);
  bool found = s.step();
  s.reset();
  return found;
}

bool ImportTables::is_referenced(DbId db, const std::string& table, const std::string& column) {
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

}  // namespace mdb
