#include "datadir/migrate.h"

#include <algorithm>

#include "datadir/schema.h"
#include "datadir/schema_sql.h"
#include "base/error.h"

namespace mdb {

namespace {

constexpr std::string_view kDataPorter = "20240418_data_porter_feature";

// Where a rebuilt table's column takes its values from, when the old table has no column of that
// name: another old column (a rename), or an SQL expression (the original's fill value).
struct Source {
  std::string_view column;
  std::string_view from;
};

struct Rebuild {
  std::string_view table;
  std::vector<Source> sources;
};

constexpr std::string_view kLocalNow = "datetime('now', 'localtime')";

// The tables each migration rebuilds, in the original's order (which fixes sqlite_master order).
const std::vector<Rebuild>& rebuilds(DbId id) {
  static const std::vector<Rebuild> kMephisto = {
      {"projects", {}},          {"tasks", {}},  {"requesters", {}}, {"task_runs", {}},         {"assignments", {}},
      {"units", {}},             {"workers", {}}, {"agents", {}},     {"onboarding_agents", {}}, {"qualifications", {}},
      {"granted_qualifications", {{"update_date", "creation_date"}}},
  };
  static const std::vector<Rebuild> kProlific = {
      {"studies", {}},
      {"submissions", {}},
      {"run_mappings", {{"task_run_id", "run_id"}}},
      {"units", {{"task_run_id", "run_id"}, {"creation_date", kLocalNow}}},
      {"workers", {{"update_date", kLocalNow}, {"creation_date", kLocalNow}}},
      {"runs", {{"task_run_id", "run_id"}}},
      {"participant_groups", {}},
      {"qualifications", {}},
  };
  static const std::vector<Rebuild> kMturk = {{"hits", {}}, {"run_mappings", {}}, {"runs", {}}, {"qualifications", {}}};
  static const std::vector<Rebuild> kNone;
  switch (rules_of(id)) {
    case DbId::Mephisto: return kMephisto;
    case DbId::Prolific: return kProlific;
    case DbId::Mturk: return kMturk;
    default: return kNone;
  }
}

std::vector<std::string_view> migrations_of(DbId id) {
  switch (rules_of(id)) {
    case DbId::Mephisto: return {kDataPorter, kModifyQualifications};
    case DbId::Prolific:
    case DbId::Mturk: return {kDataPorter};
    default: return {};
  }
}

// The final schema's CREATE statement of `table` (schema_sql.h), or throws.
std::string_view final_create(DbId id, std::string_view table) {
  for (std::string_view stmt : final_schema_statements(schema_kind_of(id))) {
    std::string_view head = "CREATE TABLE ";
    if (stmt.substr(0, head.size()) != head) continue;
    std::string_view rest = stmt.substr(head.size());
    bool quoted = !rest.empty() && rest[0] == '"';
    std::string_view name = rest.substr(quoted ? 1 : 0, table.size());
    size_t after = table.size() + (quoted ? 2 : 0);
    if (name == table && rest.size() > after && rest.substr(after, 2) == " (" && (!quoted || rest[after - 1] == '"'))
      return stmt;
  }
  throw Error("internal: the final schema has no table " + std::string(table));
}

// The final definition of `table` created in `schema` under `name`. A table created under its own
// name keeps the final statement's spelling of it (quoted or not), so sqlite_master's text matches.
std::string create_as(DbId id, std::string_view table, std::string_view schema, std::string_view name) {
  std::string_view stmt = final_create(id, table);
  size_t body = stmt.find(" (");
  std::string_view head = "CREATE TABLE ";
  std::string spelled = name == table ? std::string(stmt.substr(head.size(), body - head.size())) : sql::quote_ident(name);
  return std::string(head) + sql::quote_ident(schema) + "." + spelled + std::string(stmt.substr(body));
}

std::vector<std::string> columns_of(const sql::Db& db, std::string_view schema, std::string_view table) {
  sql::Stmt s = db.prepare("SELECT name FROM pragma_table_info(?1, ?2)");
  s.bind(1, table).bind(2, schema);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.column_text(0));
  return out;
}

bool has_table(const sql::Db& db, std::string_view schema, std::string_view table) {
  return !columns_of(db, schema, table).empty();
}

bool contains(const std::vector<std::string>& v, std::string_view x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Rebuilds `table` with its final definition as the original does (new table, copy, drop, rename),
// filling each column from the same-named old column, else its Source, else NULL.
void rebuild(sql::Db& db, DbId id, std::string_view schema, const Rebuild& r) {
  std::vector<std::string> old_cols = columns_of(db, schema, r.table);
  if (old_cols.empty())
    throw Error(db.path().string() + " has no table " + std::string(r.table) + ", which the migration " +
                std::string(kDataPorter) + " needs; it is not a Mephisto database this tool can migrate.",
                ErrorKind::Damaged);
  std::string tmp = "_" + std::string(r.table);
  std::string q = sql::quote_ident(schema) + ".";
  db.exec(create_as(id, r.table, schema, tmp));
  std::string cols, exprs;
  for (const std::string& c : columns_of(db, schema, tmp)) {
    std::string expr = "NULL";
    if (contains(old_cols, c)) {
      expr = sql::quote_ident(c);
    } else {
      for (const Source& s : r.sources) {
        if (s.column != c) continue;
        if (contains(old_cols, s.from)) expr = sql::quote_ident(s.from);
        else if (s.from.find('(') != std::string_view::npos) expr = s.from;
      }
    }
    cols += (cols.empty() ? "" : ", ") + sql::quote_ident(c);
    exprs += (exprs.empty() ? "" : ", ") + expr;
  }
  db.exec("INSERT INTO " + q + sql::quote_ident(tmp) + " (" + cols + ") SELECT " + exprs + " FROM " + q +
          sql::quote_ident(r.table));
  db.exec("DROP TABLE " + q + sql::quote_ident(r.table));
  db.exec("ALTER TABLE " + q + sql::quote_ident(tmp) + " RENAME TO " + sql::quote_ident(r.table));
}

// The original's 20241002 migration: qualifications.description, and reviews move from
// unit_review (created_at before the data porter migration, creation_date after) to worker_review.
void modify_qualifications(sql::Db& db, std::string_view schema) {
  std::string q = sql::quote_ident(schema) + ".";
  if (!contains(columns_of(db, schema, "qualifications"), "description"))
    db.exec("ALTER TABLE " + q + "qualifications ADD COLUMN description CHAR(500)");
  if (!has_table(db, schema, "worker_review")) db.exec(create_as(DbId::Mephisto, "worker_review", schema, "worker_review"));
  std::vector<std::string> review_cols = columns_of(db, schema, "unit_review");
  if (!review_cols.empty()) {
    std::string cols, exprs;
    for (const std::string& c : columns_of(db, schema, "worker_review")) {
      std::string from = c == "creation_date" && !contains(review_cols, c) ? "created_at" : c;
      if (!contains(review_cols, from)) continue;
      cols += (cols.empty() ? "" : ", ") + sql::quote_ident(c);
      exprs += (exprs.empty() ? "" : ", ") + sql::quote_ident(from);
    }
    db.exec("INSERT INTO " + q + "worker_review (" + cols + ") SELECT " + exprs + " FROM " + q + "unit_review");
  }
  db.exec("DROP INDEX IF EXISTS " + q + "unit_review_by_unit_index");
  db.exec("DROP TABLE IF EXISTS " + q + "unit_review");
}

// What the original's start-up does before migrating: tables it creates if missing.
void create_bookkeeping_tables(sql::Db& db, DbId id, std::string_view schema) {
  std::vector<std::string_view> tables = {"migrations"};
  if (id == DbId::Mephisto) tables = {"imported_data", "migrations"};
  for (std::string_view t : tables)
    if (!has_table(db, schema, t)) db.exec(create_as(id, t, schema, t));
}

// The original creates its indexes after migrating (rebuilt tables lose theirs).
void create_indexes(sql::Db& db, DbId id, std::string_view schema) {
  std::string_view head = "CREATE INDEX ";
  for (std::string_view stmt : final_schema_statements(schema_kind_of(id))) {
    if (stmt.substr(0, head.size()) != head) continue;
    std::string_view rest = stmt.substr(head.size());
    db.exec("CREATE INDEX IF NOT EXISTS " + sql::quote_ident(schema) + "." + std::string(rest));
  }
}

}  // namespace

bool made_when_missing(std::string_view table) {
  return table == "migrations" || table == "imported_data" || table == "worker_review" || table == "unit_review";
}

std::vector<std::string> missing_migrations(const sql::Db& db, DbId id) {
  std::string schema = schema_name(id);
  std::vector<std::string> out;
  std::vector<std::string_view> all = migrations_of(id);
  if (all.empty()) return out;
  bool has_log = has_table(db, schema, "migrations");
  for (std::string_view name : all) {
    bool done = false;
    if (has_log) {
      sql::Stmt s = db.prepare("SELECT count(*) FROM " + sql::quote_ident(schema) +
                               ".migrations WHERE name = ?1 AND status = 'completed'");
      s.bind(1, name);
      done = s.step() && s.column_int(0) > 0;
    }
    if (!done) out.emplace_back(name);
  }
  return out;
}

namespace {

// Applies `names` (missing_migrations) to the DB `id`.
void apply(sql::Db& db, DbId id, const std::vector<std::string>& names) {
  std::string schema = schema_name(id);
  create_bookkeeping_tables(db, id, schema);
  sql::Stmt record = db.prepare("INSERT INTO " + sql::quote_ident(schema) +
                                ".migrations (name, status) VALUES (?1, 'completed')");
  for (const std::string& name : names) {
    if (name == kDataPorter) {
      for (const Rebuild& r : rebuilds(id)) rebuild(db, id, schema, r);
      if (rules_of(id) == DbId::Prolific) db.exec("DROP TABLE IF EXISTS " + sql::quote_ident(schema) + ".requesters");
    } else if (name == kModifyQualifications) {
      modify_qualifications(db, schema);
    }
    record.bind(1, name);
    record.run();
  }
  create_indexes(db, id, schema);
}

}  // namespace

std::vector<Migrated> migrate(sql::Db& db, const std::vector<DbId>& ids) {
  std::vector<Migrated> out;
  for (DbId id : ids) {
    std::vector<std::string> names = missing_migrations(db, id);
    if (names.empty()) continue;
    if (db.query_value("PRAGMA foreign_keys").i != 0)
      throw Error("internal: migrations must run in a transaction begun with foreign keys off");
    apply(db, id, names);
    out.push_back({id, std::move(names)});
  }
  return out;
}

std::string Migrated::notice() const {
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  return "Applied Mephisto's migration" + std::string(names.size() > 1 ? "s " : " ") + list + " to " +
         std::string(db_spec(db).file) + " (as Mephisto itself would before using it).";
}

DataDirMigration migrate_data_dir(const DataDir& dir) {
  std::vector<DbId> needed;  // DBs present that lack migrations
  {
    sql::Db probe = sql::Db::open_readonly(dir.db_path(DbId::Mephisto));
    for (const DbSpec& spec : databases()) {
      if (spec.id == DbId::Inhouse || !dir.has_db(spec.id)) continue;
      if (spec.id != DbId::Mephisto) attach(probe, dir.db_path(spec.id).string(), spec.id);
      if (!missing_migrations(probe, spec.id).empty()) needed.push_back(spec.id);
    }
  }
  if (needed.empty()) return {};
  sql::Db conn = sql::Db::open(dir.db_path(DbId::Mephisto));
  for (DbId db : needed)
    if (db != DbId::Mephisto) attach(conn, dir.db_path(db).string(), db);
  // Tables are rebuilt (dropped and recreated) as the original does: foreign keys off, and on
  // again only after the commit.
  conn.exec("PRAGMA foreign_keys = OFF");
  DataDirMigration result;
  {
    sql::Transaction txn(conn);
    for (const Migrated& m : migrate(conn, needed)) {
      result.notices.push_back(m.notice());
      if (m.db == DbId::Mephisto) result.mephisto = m.names;
    }
    txn.commit();
  }
  conn.exec("PRAGMA foreign_keys = ON");
  return result;
}

}  // namespace mdb
