#pragma once
// The connections the import works on (see import_engine.h): `main` = the Mephisto DB, each
// provider datastore of the dump attached under its provider type.
#include <optional>
#include <string>
#include <vector>

#include "core/datadir.h"
#include "core/import_dump.h"

namespace mdb::core {

class AtomicChange;

// Read-only view for validation and the dry run. DB files are opened read-only; a database that
// does not exist yet, or lacks the original's migrations, is an in-memory copy (empty, with the
// final schema, or migrated), so the checks see what the import will see. Creates and changes
// nothing in the data dir.
sql::Db open_for_reading(const DataDir& dir, Dump& dump);

// The import's transaction: opens database.db, attaches the dump's provider datastores (missing
// ones are created, recorded in `change`, and get the final schema inside the transaction), turns
// foreign keys off when a migration must run, begins the transaction and applies the migrations.
// Rolled back unless commit() is called.
class WriteConnection {
 public:
  WriteConnection(const DataDir& dir, Dump& dump, AtomicChange& change);
  WriteConnection(const WriteConnection&) = delete;
  WriteConnection& operator=(const WriteConnection&) = delete;
  void commit();

  sql::Db db;
  std::vector<std::string> notices;  // migrations applied, datastores created
  bool migrated = false;             // foreign keys are off: check them before committing

 private:
  std::optional<sql::Transaction> txn;
};

// Fails (naming DB, table and row) when any foreign key of the attached databases is violated.
void check_foreign_keys(sql::Db& db, Dump& dump);

// The provider databases of the dump that have rows to import.
std::vector<DbId> provider_dbs_with_rows(Dump& dump);

}  // namespace mdb::core
