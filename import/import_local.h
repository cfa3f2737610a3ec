#pragma once
// The connections the import works on (see import_engine.h): `main` = the Mephisto DB, each
// provider datastore of the dump attached under its provider type.
#include <sys/stat.h>

#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "export/dangling.h"
#include "datadir/datadir.h"
#include "datadir/schema.h"
#include "import/import_dump.h"

namespace mdb {

class AtomicChange;

// One row of PRAGMA foreign_key_check: ordered by where it is (the parent follows from fkid).
struct FkViolation {
  std::string schema, table;
  int64_t rowid = 0, fkid = 0;
  std::string parent;
  bool operator<(const FkViolation& o) const {
    return std::tie(schema, table, rowid, fkid) < std::tie(o.schema, o.table, o.rowid, o.fkid);
  }
};

// Read-only view for validation and the dry run. DB files are opened read-only; a database that
// does not exist yet, or lacks the original's migrations, is an in-memory copy (empty, with the
// final schema, or migrated), so the checks see what the import will see. Creates and changes
// nothing in the data dir.
sql::Db open_for_reading(const DataDir& dir, Dump& dump);

// The import's transaction: opens database.db, attaches the dump's provider datastores (missing
// ones are created, recorded in `change`, and get the final schema inside the transaction), turns
// foreign keys off when a migration must run or when the dump keeps references that nothing
// satisfies (`dangling`), begins the transaction and applies the migrations. Rolled back unless
// commit() is called.
class WriteConnection {
 public:
  WriteConnection(const DataDir& dir, Dump& dump, AtomicChange& change, bool dangling);
  WriteConnection(const WriteConnection&) = delete;
  WriteConnection& operator=(const WriteConnection&) = delete;
  void commit();

  sql::Db db;
  std::vector<std::string> notices;  // migrations applied, datastores created
  bool foreign_keys_off = false;     // check them before committing (check_foreign_keys)
  // With foreign keys off: the violations the data dir already had.
  std::set<FkViolation> violations_before;

 private:
  std::optional<sql::Transaction> txn;
};

// Whether the local databases changed between two moments: before the import's checks read them,
// and under the import's write lock (the transaction begun, so nothing can change them after the
// answer). Unchanged: each database the import writes is the same file in the same state as before
// (fs::same_state: device, inode, size, modification and change time) and the bytes of its header
// that every commit changes are the same (bytes 24-39: the change counter, page count and freelist;
// what SQLite's own pager compares to know that another connection changed the file, and what
// `PRAGMA data_version` reports), both read through one descriptor. Nothing is kept open between
// the two, so it costs no memory while the snapshot and extraction run (a connection kept for
// data_version cost 1.3-2.4 MB at M). A WAL database (whose commits leave the header alone), a
// database missing at first, a replaced file or any error counts as a change.
class LocalDbWatch {
 public:
  // Before the checks open their view.
  LocalDbWatch(const DataDir& dir, Dump& dump);
  bool unchanged() const;

 private:
  struct Watched {
    stdfs::path path;
    struct stat st;
    std::string version;  // header bytes 24-39
  };
  bool known_ = false;  // false: no baseline, so every answer is "changed"
  std::vector<Watched> watched_;
};

// Fails (naming DB, table and row) when a foreign key of the attached databases is violated that
// was not violated before and is not one of `kept`.
void check_foreign_keys(WriteConnection& w, Dump& dump, const std::vector<DanglingReference>& kept);

// The provider databases of the dump that have rows to import.
std::vector<DbId> provider_dbs_with_rows(Dump& dump);

}  // namespace mdb
