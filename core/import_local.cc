#include "core/import_local.h"

#include <cstdio>

#include "core/import_engine.h"
#include "core/import_files.h"
#include "core/journal.h"
#include "core/migrate.h"
#include "formats/error.h"
#include "store/env.h"

namespace mdb::core {

namespace {

// A read-only URI for SQLite (percent-encoding what URIs reserve).
std::string file_uri(const stdfs::path& path) {
  std::string out = "file:";
  for (unsigned char c : stdfs::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#' || c < 0x21 || c >= 0x7F) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "?mode=ro";
}

void attach(sql::Db& db, const std::string& file, const std::string& schema) {
  sql::Stmt s = db.prepare("ATTACH DATABASE ?1 AS " + sql::quote_ident(schema));
  s.bind(1, file);
  s.run();
}

// Copies the database at `path` into the (empty, in-memory) schema `schema` of `db`.
void copy_into(sql::Db& db, const std::string& schema, const stdfs::path& path) {
  sql::Db src = sql::Db::open_readonly(path);
  sqlite3_backup* b = sqlite3_backup_init(db.get(), schema.c_str(), src.get(), "main");
  if (!b) db.fail("copying " + path.string());
  int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) src.fail("copying it for the import's checks");
}

bool up_to_date(const stdfs::path& path, DbId id) {
  return missing_migrations(sql::Db::open_readonly(path), id).empty();
}

// The schema `schema` (attached in memory, or an in-memory main) as the import will find it.
void fill_view(sql::Db& db, DbId id, const std::string& schema, const stdfs::path& path) {
  if (!fs::exists(path)) {
    create_schema(db, schema_kind_of(id), schema);
    return;
  }
  copy_into(db, schema, path);
  db.exec("PRAGMA foreign_keys = OFF");
  sql::Transaction txn(db);
  apply_migrations(db, id, schema);
  txn.commit();
}

}  // namespace

std::vector<DbId> provider_dbs_with_rows(Dump& dump) {
  std::vector<DbId> out;
  for (DbId db : dump.dbs()) {
    if (db == DbId::Mephisto || db == DbId::Inhouse) continue;
    for (const DumpTable& t : dump.tables())
      if (t.db == db && t.rows > 0) {
        out.push_back(db);
        break;
      }
  }
  return out;
}

sql::Db open_for_reading(const DataDir& dir, Dump& dump) {
  stdfs::path main_path = dir.db_path(DbId::Mephisto);
  sql::Db db;
  if (fs::exists(main_path) && up_to_date(main_path, DbId::Mephisto)) {
    // Read-only through the URI; the connection itself stays writable for the in-memory views.
    db = sql::Db::open(file_uri(main_path), SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI);
  } else {
    db = sql::Db::open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI);
    fill_view(db, DbId::Mephisto, "main", main_path);
  }
  for (DbId id : provider_dbs_with_rows(dump)) {
    stdfs::path path = dir.db_path(id);
    std::string schema = schema_name(id);
    if (fs::exists(path) && up_to_date(path, id)) {
      attach(db, file_uri(path), schema);
    } else {
      attach(db, ":memory:", schema);
      fill_view(db, id, schema, path);
    }
  }
  return db;
}

WriteConnection::WriteConnection(const DataDir& dir, Dump& dump, AtomicChange& change) {
  const stdfs::path& root = dir.root();
  std::vector<DbId> ids = {DbId::Mephisto};
  for (DbId id : provider_dbs_with_rows(dump)) ids.push_back(id);
  std::vector<DbId> created, to_migrate;
  for (DbId id : ids) {
    if (!fs::exists(dir.db_path(id))) created.push_back(id);
    else if (!up_to_date(dir.db_path(id), id)) to_migrate.push_back(id);
  }
  migrated = !to_migrate.empty();
  // Files the transaction creates are recorded first, so a failure removes them.
  for (DbId id : created) {
    stdfs::path rel = db_spec(id).file;
    make_dirs(root, rel.parent_path(), change);
    change.record_created(rel);
  }
  db = sql::Db::create(dir.db_path(DbId::Mephisto));
  // Migrations drop and rebuild tables, which foreign keys forbid: they stay off for this
  // transaction and are checked before the commit (check_foreign_keys).
  if (migrated) db.exec("PRAGMA foreign_keys = OFF");
  for (DbId id : ids)
    if (id != DbId::Mephisto) attach(db, dir.db_path(id).string(), schema_name(id));
  txn.emplace(db);
  for (DbId id : created) {
    create_schema(db, schema_kind_of(id), schema_name(id));
    if (id != DbId::Mephisto) notices.push_back("Created the " + std::string(db_spec(id).key) + " datastore " +
                                                std::string(db_spec(id).file) + ".");
  }
  for (DbId id : to_migrate)
    notices.push_back(migration_notice(std::string(db_spec(id).file), apply_migrations(db, id, schema_name(id))));
}

void WriteConnection::commit() {
  txn->commit();
  txn.reset();
}

void check_foreign_keys(sql::Db& db, Dump& dump) {
  std::vector<DbId> ids = {DbId::Mephisto};
  for (DbId id : provider_dbs_with_rows(dump)) ids.push_back(id);
  for (DbId id : ids) {
    sql::Stmt s = db.prepare("PRAGMA " + sql::quote_ident(schema_name(id)) + ".foreign_key_check");
    if (s.step())
      throw Error("Database `" + std::string(db_spec(id).key) + "`, table `" + s.column_text(0) + "`, row " +
                  s.column(1).to_string() + ": its reference to `" + s.column_text(2) +
                  "` has no target after the import. Nothing was imported.");
  }
}

}  // namespace mdb::core
