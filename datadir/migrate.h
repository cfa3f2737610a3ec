#pragma once
// The original's schema migrations (data-dir.md "Schemas and migrations"). The original migrates
// every DB at the start of every command; we do it only in export and import, inside the
// command's own atomic step, and say so.
//
// Migrations known (by the name the original records in each DB's `migrations` table):
//   Mephisto DB: 20240418_data_porter_feature (tables rebuilt without AUTOINCREMENT, new date
//                defaults, agents' missing foreign keys, granted_qualifications.update_date),
//                20241002_modify_qualifications (qualifications.description; unit_review rows move
//                into worker_review, created_at -> creation_date; unit_review dropped)
//   prolific, mturk, mturk_sandbox: 20240418_data_porter_feature (prolific run_id -> task_run_id,
//                creation/update dates added; mturk new date defaults)
//   mock, inhouse: none (the original never migrates them).
// Each rebuilt table gets exactly the final schema's definition (schema_sql.h), so a migrated DB
// has the same schema text and table order as one the original migrated.
#include <string>
#include <string_view>
#include <vector>

#include "datadir/datadir.h"
#include "datadir/registry.h"
#include "platform/sqlite.h"

namespace mdb {

// The Mephisto DB migration that drops `unit_review` (after moving its rows into worker_review).
inline constexpr std::string_view kModifyQualifications = "20241002_modify_qualifications";

// Whether `table` is one a DB may lack without being damaged: migrate() creates it (migrations,
// imported_data, worker_review), or the original's start-up does (unit_review).
bool made_when_missing(std::string_view table);

// Names of the original's migrations that the DB `id` (on `db` as schema_name(id)) lacks (no row
// with status 'completed'), in the order they apply. Empty when the DB is up to date. Reads only.
std::vector<std::string> missing_migrations(const sql::Db& db, DbId id);

// What migrate() applied to one DB.
struct Migrated {
  DbId db;
  std::vector<std::string> names;
  // The sentence a command prints after migrating: names the file and the migrations.
  std::string notice() const;
};

// The one migration driver. Applies the missing migrations of each DB of `ids` on `db` (the
// Mephisto DB as main, datastores attached under schema_name), recording each in the DB's
// `migrations` table; returns what it applied, in `ids` order, DBs already up to date left out.
// Runs inside the caller's transaction, which must have been begun with foreign keys off
// (`PRAGMA foreign_keys = OFF` before BEGIN: tables are dropped and rebuilt, as the original
// does); the caller checks foreign keys before committing.
std::vector<Migrated> migrate(sql::Db& db, const std::vector<DbId>& ids);

struct DataDirMigration {
  std::vector<std::string> notices;   // one sentence per migrated file, to print
  std::vector<std::string> mephisto;  // the migrations applied to database.db
};

// migrate() over every DB of the data dir that lacks migrations, in one SQLite transaction of
// its own over all of them (atomic across the files). Changes nothing when every DB is up to
// date.
DataDirMigration migrate_data_dir(const DataDir& dir);

}  // namespace mdb
