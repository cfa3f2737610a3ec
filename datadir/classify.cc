#include "datadir/classify.h"

#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "base/interrupt.h"
#include "datadir/migrate.h"
#include "datadir/schema.h"
#include "platform/env.h"
#include "platform/sqlite.h"

namespace mdb {

namespace {

// The policy table (docs/ARCHITECTURE.md "Damaged and busy databases"). Commands that write
// refuse every damaged or busy database before they change anything; restore goes ahead over a
// damaged one (that is how it is repaired; the snapshot it saves first keeps the file as it
// is); the store-only commands never need the databases and only warn about damage.
constexpr std::string_view kRepair =
    "Repair that file, or bring back a snapshot that holds a good copy (`mephisto db snapshots` lists them, "
    "`mephisto db restore -f NAME` restores one).";
constexpr std::string_view kKeepGoodCopy =
    "Keep a snapshot that holds a good copy of it: `mephisto db restore -f NAME` brings it back.";

using V = Verdict;
using A = DbAccess;
const DbPolicy kPolicies[] = {
    // command               name           access    missing     not_sqlite busy       missing_tables hot_journal
    {DbCommand::Export,       "export",      A::Read,  V::Refuse,  V::Refuse, V::Refuse, V::Refuse, V::Refuse, kRepair},
    {DbCommand::ExportDelete, "export -del", A::Write, V::Refuse,  V::Refuse, V::Refuse, V::Refuse, V::Refuse, kRepair},
    {DbCommand::Import,       "import",      A::Write, V::Proceed, V::Refuse, V::Refuse, V::Refuse, V::Refuse, kRepair},
    {DbCommand::Backup,       "backup",      A::Read,  V::Refuse,  V::Refuse, V::Refuse, V::Refuse, V::Refuse,
     "A backup of this data directory would not restore a working one. Repair or replace that file (a copy with "
     "`cp` keeps it as it is), then back up again."},
    {DbCommand::Restore,      "restore",     A::Write, V::Proceed, V::Warn,   V::Refuse, V::Warn,   V::Refuse,
     "The restore goes ahead; the snapshot it saves of the current data first keeps that file as it is."},
    {DbCommand::Snapshots,    "snapshots",   A::None,  V::Proceed, V::Warn,   V::Proceed, V::Warn, V::Warn,
     kKeepGoodCopy},
    {DbCommand::Verify,       "verify",      A::None,  V::Proceed, V::Warn,   V::Proceed, V::Warn, V::Warn,
     kKeepGoodCopy},
    {DbCommand::Prune,        "prune",       A::None,  V::Proceed, V::Warn,   V::Proceed, V::Warn, V::Warn,
     kKeepGoodCopy},
    {DbCommand::Diff,         "diff",        A::Read,  V::Refuse,  V::Warn,   V::Refuse, V::Warn,   V::Refuse,
     "diff lists that file as changed without comparing its rows."},
};

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

bool is_busy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

DbHealth not_sqlite(int rc) { return {DbState::NotSqlite, sqlite3_errstr(rc)}; }

// Names of the tables in the DB (reading them proves the file is SQLite), or the failure.
int read_table_names(sqlite3* db, std::vector<std::string>& names) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &s, nullptr);
  while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
    rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// The tables of the final schema `names` lacks. A DB may lack the tables a migration creates
// (migrations, imported_data, worker_review) and unit_review, which the original's start-up makes.
std::string missing_tables(DbId id, const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& table : final_table_names(id)) {
    if (made_when_missing(table)) continue;
    if (std::find(names.begin(), names.end(), table) != names.end()) continue;
    out += (out.empty() ? "" : ", ") + table;
  }
  return out;
}

std::string describe(const DataDir& dir, const std::filesystem::path& path, const DbHealth& h) {
  switch (h.state) {
    case DbState::Missing:
      return "The data directory " + dir.root().string() + " has no Mephisto database (database.db).";
    case DbState::HotJournal:
      return "The database " + path.string() + " has a hot journal (" + path.string() +
             "-journal): a program writing it stopped inside a transaction. The next program that opens it and "
             "may write it rolls that back (`sqlite3 " + path.string() +
             " 'PRAGMA quick_check'` does); this command did not (it does not need the databases, or this user "
             "may not write that file).";
    case DbState::NotSqlite:
      return "The database " + path.string() + " cannot be read as SQLite (" + h.detail +
             "): it is damaged or not a database.";
    case DbState::Busy: return database_in_use(path);
    case DbState::MissingTables:
      return "The database " + path.string() + " lacks the table" +
             (h.detail.find(',') == std::string::npos ? " " : "s ") + h.detail +
             " that Mephisto creates in it: it is damaged or not a Mephisto database.";
    case DbState::Ok: break;
  }
  return {};
}

Verdict verdict(const DbPolicy& p, DbId id, DbState state) {
  switch (state) {
    case DbState::Ok: return Verdict::Proceed;
    case DbState::Missing: return id == DbId::Mephisto ? p.missing : Verdict::Proceed;
    case DbState::NotSqlite: return p.not_sqlite;
    case DbState::Busy: return p.busy;
    case DbState::MissingTables: return p.missing_tables;
    case DbState::HotJournal: return p.hot_journal;
  }
  return Verdict::Refuse;
}

DbHealth classify_as(const std::filesystem::path& path, DbId id, DbAccess access, bool writable) {
  sql::install_vfs();
  sqlite3* raw = nullptr;
  int flags = (writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<sqlite3, CloseDb> db(raw);
  if (rc != SQLITE_OK) return not_sqlite(rc);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, access == DbAccess::None ? 0 : kBusyWaitMs);
  // A write lock only: no journal is written before a page changes, so the file stays as it is.
  bool began = false;
  if (access == DbAccess::Write) {
    rc = sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (is_busy(rc)) return {DbState::Busy, {}};
    began = rc == SQLITE_OK;  // a file we may only read (SQLITE_READONLY) is still classified
  }
  std::vector<std::string> names;
  rc = read_table_names(raw, names);
  if (began) sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
  if ((rc & 0xff) == SQLITE_INTERRUPT) interrupt::check();
  if (is_busy(rc)) return {DbState::Busy, {}};
  if (rc == SQLITE_READONLY_ROLLBACK) return {DbState::HotJournal, {}};
  if (rc != SQLITE_OK) return not_sqlite(rc);
  if (id == DbId::Inhouse) return {};  // no schema is known for it
  std::string missing = missing_tables(id, names);
  if (!missing.empty()) return {DbState::MissingTables, missing};
  return {};
}

}  // namespace

DbHealth classify(const std::filesystem::path& path, DbId id, DbAccess access) {
  if (!fs::exists(path)) return {DbState::Missing, {}};
  DbHealth h = classify_as(path, id, access, access == DbAccess::Write);
  // A hot journal (a writer stopped inside a transaction) cannot be rolled back by a read-only
  // connection (SQLITE_READONLY_ROLLBACK). The file is not damaged: its last commit is in it and
  // the journal. A command that reads the databases rolls it back, as SQLite does for every reader
  // that may write (Mephisto's next start, the sqlite3 shell, backup's own read in
  // store/database_file.cc); one that only warns (snapshots, verify, prune) leaves it.
  if (h.state == DbState::HotJournal && access == DbAccess::Read) h = classify_as(path, id, access, true);
  return h;
}

const DbPolicy& policy(DbCommand command) {
  for (const DbPolicy& p : kPolicies)
    if (p.command == command) return p;
  throw std::logic_error("no database policy for a command");
}

void check_databases(Console& console, const DataDir& dir, DbCommand command) {
  const DbPolicy& p = policy(command);
  for (const DbSpec& spec : databases()) {
    std::filesystem::path path = dir.db_path(spec.id);
    DbHealth h = classify(path, spec.id, p.access);
    Verdict v = verdict(p, spec.id, h.state);
    if (v == Verdict::Proceed) continue;
    std::string message = describe(dir, path, h);
    bool damaged = h.state == DbState::NotSqlite || h.state == DbState::MissingTables;
    if (damaged) message += " " + std::string(p.advice);
    if (v == Verdict::Warn) {
      console.warn("Warning: " + message);
      continue;
    }
    ErrorKind kind = h.state == DbState::Busy         ? ErrorKind::Busy
                     : h.state == DbState::Missing    ? ErrorKind::NotFound
                     : h.state == DbState::HotJournal ? ErrorKind::Failure
                                                      : ErrorKind::Damaged;
    throw Error(message, kind);
  }
}

std::string database_in_use(const std::filesystem::path& path) {
  return "The database " + path.string() +
         " is in use by another process (is Mephisto running?). Stop it, then try again.";
}

}  // namespace mdb
