#include "export/export_source.h"

#include "base/error.h"

namespace mdb {

namespace {

bool is_attachable_provider(DbId db) { return db != DbId::Mephisto && db != DbId::Inhouse; }

}  // namespace

Source::Source(const DataDir& dir, bool writable) : dir_(dir), schemas_(databases().size()) {
  conn_ = writable ? sql::Db::open(dir.db_path(DbId::Mephisto)) : sql::Db::open_readonly(dir.db_path(DbId::Mephisto));
  schemas_[static_cast<size_t>(DbId::Mephisto)] = read_schema(conn_);
  for (const DbSpec& spec : databases()) {
    if (!is_attachable_provider(spec.id) || !dir.has_db(spec.id)) continue;
    // A separate handle reads its schema (check_databases has classified the file).
    schemas_[static_cast<size_t>(spec.id)] = read_schema(sql::Db::open_readonly(dir.db_path(spec.id)));
    attach(conn_, dir.db_path(spec.id).string(), spec.id);
  }
  for (const DbSpec& spec : databases()) {
    if (!attached(spec.id)) continue;
    for (Reference& r : mdb::references(spec.id, schema(spec.id)))
      if (attached(r.target_db) && schema(r.target_db).find(r.target_table)) references_.push_back(std::move(r));
  }
}

bool Source::attached(DbId db) const { return schemas_[static_cast<size_t>(db)].has_value(); }

std::string Source::qualified(DbId db, std::string_view table) const {
  return sql::quote_ident(schema_name(db)) + "." + sql::quote_ident(table);
}

const SchemaInfo& Source::schema(DbId db) const {
  const auto& s = schemas_[static_cast<size_t>(db)];
  return s ? *s : final_schema(db);
}

}  // namespace mdb
