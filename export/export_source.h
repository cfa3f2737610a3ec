#pragma once
// A data dir as one SQLite connection, for export and `export -del`: the Mephisto DB as `main`
// and every provider datastore that exists attached under its provider type, with each DB's
// schema (read from the DB itself) and every reference between them (mdb::references()).
// One connection means one read snapshot for a whole export, and one transaction over every DB
// for -del.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datadir/datadir.h"
#include "datadir/registry.h"
#include "datadir/schema.h"
#include "platform/sqlite.h"

namespace mdb {

class Source {
 public:
  // Opens the Mephisto DB and attaches the provider datastores (mock, mturk, mturk_sandbox,
  // prolific) that exist, checking each holds the tables Mephisto creates. Read-only unless
  // `writable`.
  Source(const DataDir& dir, bool writable);

  sql::Db& conn() { return conn_; }
  const DataDir& dir() const { return dir_; }
  bool attached(DbId db) const;
  // `"schema"."table"`, for SQL text.
  std::string qualified(DbId db, std::string_view table) const;
  // The DB's schema; for a datastore that does not exist, the final schema it would be created
  // with (so a full dump lists its tables, empty, as the original does).
  const SchemaInfo& schema(DbId db) const;
  // References of every attached DB (declared foreign keys plus the registry), only those whose
  // target table is attached too.
  const std::vector<Reference>& references() const { return references_; }
  // The DB's file relative to the data dir, for messages ("database.db", "prolific/prolific.db").
  std::string file_of(DbId db) const { return std::string(db_spec(db).file); }

 private:
  DataDir dir_;
  sql::Db conn_;
  std::vector<std::optional<SchemaInfo>> schemas_;  // by DbId; set for attached DBs
  std::vector<Reference> references_;
};

}  // namespace mdb
