#pragma once
// The one place that decides about a damaged, busy or missing database: classify() says what
// state a database file is in, and one table says what each command does about each state
// (docs/ARCHITECTURE.md "Damaged and busy databases").
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "datadir/datadir.h"
#include "datadir/registry.h"
#include "platform/console.h"

namespace mdb {

enum class DbState : uint8_t {
  Ok,
  Missing,        // no such file
  NotSqlite,      // SQLite cannot read it (garbage, truncated, encrypted, unreadable)
  Busy,           // another process holds a lock the command would have to wait for
  MissingTables,  // a SQLite file without a table Mephisto creates in it (and no migration would)
  HotJournal,     // a writer stopped inside a transaction, and this command could not roll it back
};

struct DbHealth {
  DbState state = DbState::Ok;
  std::string detail;  // NotSqlite: SQLite's words; MissingTables: the tables, comma separated
};

// How a command uses the databases, which is what "busy" means for it.
enum class DbAccess : uint8_t {
  None,   // never opens them (store-only commands): Busy only when reading is blocked, without waiting
  Read,   // reads in one transaction: Busy when another process holds a lock that stops readers
  Write,  // writes: Busy when another process holds a write lock too
};

// The state of the database `path` (the DB `id` of a data dir), changing nothing: a lock held by
// another process counts only once it is still held after a short wait (kBusyWaitMs).
DbHealth classify(const std::filesystem::path& path, DbId id, DbAccess access);

inline constexpr int kBusyWaitMs = 2000;

enum class DbCommand : uint8_t { Export, ExportDelete, Import, Backup, Restore, Snapshots, Verify, Prune, Diff };
enum class Verdict : uint8_t { Proceed, Warn, Refuse };

// One command's row of the policy table.
struct DbPolicy {
  DbCommand command;
  std::string_view name;  // as typed after `mephisto db`
  DbAccess access;
  Verdict missing;  // database.db absent (a provider datastore absent is always fine)
  Verdict not_sqlite, busy, missing_tables, hot_journal;
  std::string_view advice;  // said after a damaged database (NotSqlite, MissingTables)
};

const DbPolicy& policy(DbCommand command);

// Classifies every database of `dir` and applies `command`'s policy: throws mdb::Error naming the
// first file it refuses, warns on the console about each file it warns about.
void check_databases(Console& console, const DataDir& dir, DbCommand command);

// What to say about a database another process holds (also when ExclusiveDbLocks cannot lock it).
std::string database_in_use(const std::filesystem::path& path);

}  // namespace mdb
