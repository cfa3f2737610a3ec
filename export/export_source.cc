#include "export/export_source.h"

#include "datadir/migrate.h"
#include "base/error.h"

namespace mdb::core {

namespace {

bool is_attachable_provider(DbId db) { return db != DbId::Mephisto && db != DbId::Inhouse; }

void attach(sql::Db& conn, const DataDir& dir, DbId db) {
  sql::Stmt s = conn.prepare("ATTACH DATABASE ?1 AS " + sql::quote_ident(db_spec(db).key));
  s.bind(1, dir.db_path(db).string());
  s.run();
}

}  // namespace

Source::Source(const DataDir& dir, bool writable)
    : dir_(dir), schemas_(databases().size()), final_schemas_(databases().size()) {
  conn_ = writable ? sql::Db::open(dir.db_path(DbId::Mephisto)) : sql::Db::open_readonly(dir.db_path(DbId::Mephisto));
  schemas_[static_cast<size_t>(DbId::Mephisto)] = read_schema(conn_);
  for (const DbSpec& spec : databases()) {
    if (!is_attachable_provider(spec.id) || !dir.has_db(spec.id)) continue;
    // A separate handle checks the file (a SQLite DB holding Mephisto's tables) and reads its schema.
    schemas_[static_cast<size_t>(spec.id)] = read_schema(dir.open_db(spec.id, /*readonly=*/true));
    attach(conn_, dir, spec.id);
  }
  for (const DbSpec& spec : databases()) {
    if (!attached(spec.id)) continue;
    for (Reference& r : core::references(spec.id, schema(spec.id)))
      if (attached(r.target_db) && schema(r.target_db).find(r.target_table)) references_.push_back(std::move(r));
  }
}

bool Source::attached(DbId db) const { return schemas_[static_cast<size_t>(db)].has_value(); }

std::string Source::schema_name(DbId db) const { return db == DbId::Mephisto ? "main" : std::string(db_spec(db).key); }

std::string Source::qualified(DbId db, std::string_view table) const {
  return sql::quote_ident(schema_name(db)) + "." + sql::quote_ident(table);
}

const SchemaInfo& Source::schema(DbId db) const {
  const auto& s = schemas_[static_cast<size_t>(db)];
  return s ? *s : final_schema(db);
}

const SchemaInfo& Source::final_schema(DbId db) const {
  auto& f = final_schemas_[static_cast<size_t>(db)];
  if (!f) {
    f = SchemaInfo{};
    if (db != DbId::Inhouse) {
      sql::Db mem = sql::Db::open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY);
      create_schema(mem, schema_kind_of(db));
      f = read_schema(mem);
    }
  }
  return *f;
}

DataDirMigration migrate_data_dir(const DataDir& dir) {
  std::vector<std::pair<DbId, bool>> needed;  // DBs present, and whether each lacks migrations
  {
    sql::Db probe = sql::Db::open_readonly(dir.db_path(DbId::Mephisto));
    bool any = false;
    for (const DbSpec& spec : databases()) {
      if (spec.id != DbId::Mephisto && (!is_attachable_provider(spec.id) || !dir.has_db(spec.id))) continue;
      if (spec.id != DbId::Mephisto) attach(probe, dir, spec.id);
      bool missing = !missing_migrations(probe, spec.id, spec.id == DbId::Mephisto ? "main" : spec.key).empty();
      needed.push_back({spec.id, missing});
      any = any || missing;
    }
    if (!any) return {};
  }
  sql::Db conn = sql::Db::open(dir.db_path(DbId::Mephisto));
  for (const auto& [db, missing] : needed)
    if (db != DbId::Mephisto && missing) attach(conn, dir, db);
  // Tables are rebuilt (dropped and recreated) as the original does: foreign keys off, and on
  // again only after the commit.
  conn.exec("PRAGMA foreign_keys = OFF");
  DataDirMigration result;
  {
    sql::Transaction txn(conn);
    for (const auto& [db, missing] : needed) {
      if (!missing) continue;
      std::vector<std::string> names = apply_migrations(conn, db, db == DbId::Mephisto ? "main" : db_spec(db).key);
      result.notices.push_back(migration_notice(std::string(db_spec(db).file), names));
      if (db == DbId::Mephisto) result.mephisto = names;
    }
    txn.commit();
  }
  conn.exec("PRAGMA foreign_keys = ON");
  return result;
}

}  // namespace mdb::core
