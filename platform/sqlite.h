#pragma once
// RAII handles for SQLite. Every statement uses bound parameters; errors name the DB file.
// SQLite's own temporary files go into the cache's tmp/, never $TMPDIR; when the current Env has
// hooks (a FaultEnv, see fault_env.h), SQLite's writes pass through a shim VFS that calls them,
// so fault and crash tests cover DB writes too (sqlite_vfs.cc).
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "base/error.h"
#include "formats/value.h"

namespace mdb::sql {

class Db;

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3_stmt* s, const Db* db) : stmt_(s), db_(db) {}
  Stmt(Stmt&& o) noexcept : stmt_(std::exchange(o.stmt_, nullptr)), db_(o.db_) {}
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(stmt_); }

  // Parameters are 1-based, as in SQLite.
  Stmt& bind(int idx, const Value& v);
  Stmt& bind(int idx, int64_t v);
  Stmt& bind(int idx, std::string_view text);
  Stmt& bind_null(int idx);
  // Steps once; true when a row is available.
  bool step();
  // Runs to completion, ignoring rows.
  void run();
  void reset();

  int column_count() const { return sqlite3_column_count(stmt_); }
  std::string column_name(int i) const { return sqlite3_column_name(stmt_, i); }
  Value column(int i) const;
  int64_t column_int(int i) const { return sqlite3_column_int64(stmt_, i); }
  std::string column_text(int i) const;
  Row row() const;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  const Db* db_ = nullptr;
};

class Db {
 public:
  Db() = default;
  Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)) {}
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { sqlite3_close_v2(db_); }

  // Opens an existing database, checking that it really is SQLite. flags: SQLITE_OPEN_*.
  static Db open(const std::filesystem::path& path, int flags = SQLITE_OPEN_READWRITE);
  static Db open_readonly(const std::filesystem::path& path) { return open(path, SQLITE_OPEN_READONLY); }
  static Db create(const std::filesystem::path& path) {
    return open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  }

  void exec(std::string_view sql);
  Stmt prepare(std::string_view sql) const;
  // First column of the first row, or null.
  Value query_value(std::string_view sql) const;

  sqlite3* get() const { return db_; }
  const std::filesystem::path& path() const { return path_; }
  // Throws mdb::Error "<path>: <context>: <sqlite message>".
  [[noreturn]] void fail(std::string_view context) const;

 private:
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

// Rolls back unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Db& db, std::string_view begin = "BEGIN IMMEDIATE");
  Transaction(const Transaction&) = delete;
  ~Transaction();
  void commit();

 private:
  Db& db_;
  bool open_ = true;
};

// Many reads on a connection outside any transaction, grouped into read transactions of at most
// kSpan each: SQLite then takes its shared locks once a span instead of once a statement (an
// eighth of an import's checks went to taking them), while a writer of the same databases (a
// running Mephisto) waits at most a span for its commit. Does nothing on a connection already in a
// transaction. Call tick() between statements (none may be mid-step on this connection).
class ReadSpans {
 public:
  static constexpr std::chrono::milliseconds kSpan{100};
  explicit ReadSpans(Db& db);
  ReadSpans(const ReadSpans&) = delete;
  ReadSpans& operator=(const ReadSpans&) = delete;
  ~ReadSpans();
  void tick();

 private:
  void begin();
  void end();
  Db& db_;
  bool active_ = false;
  std::chrono::steady_clock::time_point begun_;
};

// Quotes an identifier for SQL text (table and column names cannot be bound).
std::string quote_ident(std::string_view name);

// Installs this tool's VFS layers as SQLite's default (sqlite_vfs.cc): SQLite's own temporary
// files go into the cache's tmp/, and its writes pass through the current Env's hooks when it has
// any (a FaultEnv). Idempotent; every connection is opened after it.
void install_vfs();

}  // namespace mdb::sql
