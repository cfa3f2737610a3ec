#pragma once
// The original's schema migrations (data-dir.md "Schemas and migrations"). The original migrates
// every DB at the start of every command; we do it only in export, import and restore, inside the
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

#include "datadir/registry.h"
#include "platform/sqlite.h"

namespace mdb::core {

// The Mephisto DB migration that drops `unit_review` (after moving its rows into worker_review).
inline constexpr std::string_view kModifyQualifications = "20241002_modify_qualifications";

// Names of the original's migrations that the DB attached as `schema` lacks (no row with status
// 'completed'), in the order they apply. Empty when the DB is up to date. Reads only.
std::vector<std::string> missing_migrations(const sql::Db& db, DbId id, std::string_view schema = "main");

// Applies the missing migrations to the DB attached as `schema`, recording each in its
// `migrations` table, and returns their names. Runs inside the caller's transaction, which must
// have been begun with foreign keys off (`PRAGMA foreign_keys = OFF` before BEGIN: tables are
// dropped and rebuilt, as the original does); the caller checks foreign keys before committing.
std::vector<std::string> apply_migrations(sql::Db& db, DbId id, std::string_view schema = "main");

// The sentence a command prints after migrating: names the file and the migrations.
std::string migration_notice(const std::string& db_file, const std::vector<std::string>& names);

}  // namespace mdb::core
