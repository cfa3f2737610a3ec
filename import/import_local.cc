#include "import/import_local.h"

#include <algorithm>
#include <cstdio>

#include "import/import_files.h"
#include "datadir/journal.h"
#include "datadir/migrate.h"
#include "base/error.h"
#include "platform/env.h"

namespace mdb {

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

// Copies the database at `path` into the (empty, in-memory) schema `schema` of `db`.
void copy_into(sql::Db& db, const std::string& schema, const stdfs::path& path) {
  sql::Db src = sql::Db::open_readonly(path);
  sqlite3_backup* b = sqlite3_backup_init(db.get(), schema.c_str(), src.get(), "main");
  if (!b) db.fail("copying " + path.string());
  int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) src.fail("copying it for the import's checks");
}

// Whether the DB at `path` lacks none of the original's migrations (opened as `main`).
bool up_to_date(const stdfs::path& path, DbId id) {
  if (id == DbId::Mephisto) return missing_migrations(sql::Db::open_readonly(path), id).empty();
  sql::Db db = sql::Db::open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI);
  attach(db, file_uri(path), id);  // where missing_migrations looks for it
  return missing_migrations(db, id).empty();
}

// The DB `id` (attached in memory, or an in-memory main) as the import will find it.
void fill_view(sql::Db& db, DbId id, const stdfs::path& path) {
  if (!fs::exists(path)) {
    create_schema(db, schema_kind_of(id), schema_name(id));
    return;
  }
  copy_into(db, schema_name(id), path);
  db.exec("PRAGMA foreign_keys = OFF");
  sql::Transaction txn(db);
  migrate(db, {id});
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
    fill_view(db, DbId::Mephisto, main_path);
  }
  for (DbId id : provider_dbs_with_rows(dump)) {
    stdfs::path path = dir.db_path(id);
    if (fs::exists(path) && up_to_date(path, id)) {
      attach(db, file_uri(path), id);
    } else {
      attach(db, ":memory:", id);
      fill_view(db, id, path);
    }
  }
  return db;
}

namespace {

std::vector<DbId> import_dbs(Dump& dump) {
  std::vector<DbId> ids = {DbId::Mephisto};
  for (DbId id : provider_dbs_with_rows(dump)) ids.push_back(id);
  return ids;
}

// The database's state (File::stat) and header bytes 24-39, read through one descriptor; nullopt for
// a WAL database (file format 2 in bytes 18-19, or a -wal file beside it), whose commits leave the
// header alone.
std::optional<std::pair<struct stat, std::string>> commit_state(const stdfs::path& path) {
  if (fs::exists(path.string() + "-wal")) return std::nullopt;
  fs::File f = fs::File::open_read(path);
  std::string header(100, '\0');
  if (f.pread(header.data(), header.size(), 0) != header.size()) return std::nullopt;
  if (header[18] != 1 || header[19] != 1) return std::nullopt;
  return std::pair{f.stat(), header.substr(24, 16)};
}

}  // namespace

LocalDbWatch::LocalDbWatch(const DataDir& dir, Dump& dump) {
  try {
    for (DbId id : import_dbs(dump)) {
      stdfs::path path = dir.db_path(id);
      auto state = commit_state(path);
      if (!state) return;
      watched_.push_back({path, state->first, state->second});
    }
    known_ = true;
  } catch (const Error&) {  // a database missing or unreadable: no baseline
  }
}

bool LocalDbWatch::unchanged() const {
  if (!known_) return false;
  try {
    for (const Watched& w : watched_) {
      auto state = commit_state(w.path);
      if (!state || !fs::same_state(state->first, w.st) || state->second != w.version) return false;
    }
    return true;
  } catch (const Error&) {
    return false;
  }
}

namespace {

// PRAGMA foreign_key_check of the attached databases.
std::set<FkViolation> foreign_key_violations(sql::Db& db, const std::vector<DbId>& ids) {
  std::set<FkViolation> out;
  for (DbId id : ids) {
    sql::Stmt s = db.prepare("PRAGMA " + sql::quote_ident(schema_name(id)) + ".foreign_key_check");
    while (s.step()) out.insert({schema_name(id), s.column_text(0), s.column_int(1), s.column_int(3), s.column_text(2)});
  }
  return out;
}

// Whether the violation is the reference of a row the import kept as it is: its column holds the
// missing value of one of `kept`.
bool is_kept(sql::Db& db, const FkViolation& v, const std::vector<DanglingReference>& kept) {
  sql::Stmt fk = db.prepare("SELECT \"from\" FROM pragma_foreign_key_list(?1, ?2) WHERE id = ?3");
  fk.bind(1, v.table).bind(2, v.schema).bind(3, v.fkid);
  if (!fk.step()) return false;
  std::string column = fk.column_text(0);
  sql::Stmt value = db.prepare("SELECT " + sql::quote_ident(column) + " FROM " + sql::quote_ident(v.schema) + "." +
                               sql::quote_ident(v.table) + " WHERE rowid = ?1");
  value.bind(1, v.rowid);
  if (!value.step()) return false;
  std::string held = value.column(0).to_string();
  std::string db_key = v.schema == "main" ? "mephisto" : v.schema;
  return std::any_of(kept.begin(), kept.end(), [&](const DanglingReference& k) {
    return k.db == db_key && k.table == v.table && k.column == column && k.missing.to_string() == held;
  });
}

}  // namespace

WriteConnection::WriteConnection(const DataDir& dir, Dump& dump, AtomicChange& change, bool dangling) {
  const stdfs::path& root = dir.root();
  std::vector<DbId> ids = import_dbs(dump);
  std::vector<DbId> created, to_migrate;
  for (DbId id : ids) {
    if (!fs::exists(dir.db_path(id))) created.push_back(id);
    else if (!up_to_date(dir.db_path(id), id)) to_migrate.push_back(id);
  }
  // Migrations drop and rebuild tables, and references kept as they are break foreign keys:
  // either way they stay off for this transaction and are checked before the commit.
  foreign_keys_off = !to_migrate.empty() || dangling;
  // Files the transaction creates are recorded first, so a failure removes them.
  for (DbId id : created) {
    stdfs::path rel = db_spec(id).file;
    make_dirs(root, rel.parent_path(), change);
    change.record_created(rel);
  }
  db = sql::Db::create(dir.db_path(DbId::Mephisto));
  // SQLite's default 2 MiB cache spilled the transaction's pages again and again: at L the import
  // made 460k preads, 181k pwrites and 109 fdatasyncs; 252k, 78k and 94 with 8 MiB. 16 MiB saved
  // a little more, but took the locked phase at M to 64.5 MB of RSS (8 MiB: 56 MB).
  db.exec("PRAGMA cache_size = -8192");
  if (foreign_keys_off) db.exec("PRAGMA foreign_keys = OFF");
  for (DbId id : ids)
    if (id != DbId::Mephisto) attach(db, dir.db_path(id).string(), id);
  txn.emplace(db);
  for (DbId id : created) {
    create_schema(db, schema_kind_of(id), schema_name(id));
    if (id != DbId::Mephisto) notices.push_back("Created the " + std::string(db_spec(id).key) + " datastore " +
                                                std::string(db_spec(id).file) + ".");
  }
  for (const Migrated& m : migrate(db, to_migrate)) notices.push_back(m.notice());
  if (foreign_keys_off) violations_before = foreign_key_violations(db, ids);
}

void WriteConnection::commit() {
  txn->commit();
  txn.reset();
}

void check_foreign_keys(WriteConnection& w, Dump& dump, const std::vector<DanglingReference>& kept) {
  for (const FkViolation& v : foreign_key_violations(w.db, import_dbs(dump))) {
    if (w.violations_before.count(v) || is_kept(w.db, v, kept)) continue;
    throw Error("Database `" + (v.schema == "main" ? std::string("mephisto") : v.schema) + "`, table `" + v.table +
                "`, row " + std::to_string(v.rowid) + ": its reference to `" + v.parent +
                "` has no target after the import.", ErrorKind::Conflict);
  }
}

}  // namespace mdb
