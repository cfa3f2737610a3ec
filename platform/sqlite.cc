#include "platform/sqlite.h"

#include <cstdlib>
#include <cstring>

#include "base/interrupt.h"

namespace mdb::sql {

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(o.stmt_, nullptr);
    db_ = o.db_;
  }
  return *this;
}

namespace {
void check_bind(int rc, const Db* db) {
  if (rc != SQLITE_OK) db->fail("bind");
}
}  // namespace

Stmt& Stmt::bind(int idx, const Value& v) {
  int rc = SQLITE_OK;
  switch (v.kind) {
    case StorageClass::Null: rc = sqlite3_bind_null(stmt_, idx); break;
    case StorageClass::Integer: rc = sqlite3_bind_int64(stmt_, idx, v.i); break;
    case StorageClass::Real: rc = sqlite3_bind_double(stmt_, idx, v.r); break;
    case StorageClass::Text:
      rc = sqlite3_bind_text64(stmt_, idx, v.s.data(), v.s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    case StorageClass::Blob: rc = sqlite3_bind_blob64(stmt_, idx, v.s.data(), v.s.size(), SQLITE_TRANSIENT); break;
  }
  check_bind(rc, db_);
  return *this;
}

Stmt& Stmt::bind(int idx, int64_t v) {
  check_bind(sqlite3_bind_int64(stmt_, idx, v), db_);
  return *this;
}

Stmt& Stmt::bind(int idx, std::string_view text) {
  check_bind(sqlite3_bind_text64(stmt_, idx, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8), db_);
  return *this;
}

Stmt& Stmt::bind_null(int idx) {
  check_bind(sqlite3_bind_null(stmt_, idx), db_);
  return *this;
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->fail(std::string("executing ") + (sqlite3_sql(stmt_) ? sqlite3_sql(stmt_) : "statement"));
}

void Stmt::run() {
  while (step()) {
  }
  reset();
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Value Stmt::column(int i) const {
  switch (sqlite3_column_type(stmt_, i)) {
    case SQLITE_INTEGER: return Value::integer(sqlite3_column_int64(stmt_, i));
    case SQLITE_FLOAT: return Value::real(sqlite3_column_double(stmt_, i));
    case SQLITE_TEXT: return Value::text(column_text(i));
    case SQLITE_BLOB: {
      const void* p = sqlite3_column_blob(stmt_, i);
      int n = sqlite3_column_bytes(stmt_, i);
      return Value::blob(std::string(static_cast<const char*>(p), static_cast<size_t>(n)));
    }
    default: return Value::null();
  }
}

std::string Stmt::column_text(int i) const {
  const unsigned char* p = sqlite3_column_text(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

Row Stmt::row() const {
  Row r;
  int n = column_count();
  r.reserve(n);
  for (int i = 0; i < n; ++i) r.push_back(column(i));
  return r;
}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
  }
  return *this;
}

namespace {

// The kind of error an SQLite result code means (docs/EXIT_CODES.md).
ErrorKind kind_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ErrorKind::Busy;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return ErrorKind::Damaged;
    case SQLITE_CONSTRAINT: return ErrorKind::Conflict;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM: return ErrorKind::Io;
    default: return ErrorKind::Failure;
  }
}

}  // namespace

Db Db::open(const std::filesystem::path& path, int flags) {
  install_vfs();
  Db db;
  db.path_ = path;
  int rc = sqlite3_open_v2(path.c_str(), &db.db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db.db_ ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
    throw Error(path.string() + ": cannot open database: " + msg, kind_of(rc));
  }
  sqlite3_extended_result_codes(db.db_, 1);
  sqlite3_busy_timeout(db.db_, 5000);
  // Reading the schema proves the file is a database (SQLite opens lazily).
  sqlite3_stmt* s = nullptr;
  rc = sqlite3_prepare_v2(db.db_, "SELECT count(*) FROM sqlite_master", -1, &s, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW) {
    std::string msg = sqlite3_errmsg(db.db_);
    throw Error(path.string() + " is not a usable SQLite database: " + msg,
                kind_of(rc) == ErrorKind::Failure ? ErrorKind::Damaged : kind_of(rc));
  }
  db.exec("PRAGMA foreign_keys = ON");
  // From here a long statement stops at a signal: SQLite ends it with SQLITE_INTERRUPT
  // (rolling back its transaction), which fail() turns into interrupt::Interrupted.
  sqlite3_progress_handler(
      db.db_, 1000, [](void*) { return interrupt::pending() ? 1 : 0; }, nullptr);
  return db;
}

void Db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  if (int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    interrupt::check();  // SQLITE_INTERRUPT, or a failure (a busy wait) that ended after a signal
    throw Error(path_.string() + ": " + msg + " (in: " + s.substr(0, 200) + ")", kind_of(rc));
  }
}

Stmt Db::prepare(std::string_view sql) const {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
    fail("preparing " + std::string(sql.substr(0, 200)));
  return Stmt(s, this);
}

Value Db::query_value(std::string_view sql) const {
  Stmt s = prepare(sql);
  return s.step() ? s.column(0) : Value::null();
}

void Db::fail(std::string_view context) const {
  interrupt::check();  // SQLITE_INTERRUPT, or a failure (a busy wait) that ended after a signal
  throw Error(path_.string() + ": " + std::string(context) + ": " + sqlite3_errmsg(db_),
              kind_of(sqlite3_extended_errcode(db_)));
}

Transaction::Transaction(Db& db, std::string_view begin) : db_(db) { db_.exec(begin); }

Transaction::~Transaction() {
  interrupt::Defer defer;  // the rollback runs to the end
  if (open_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

ReadSpans::ReadSpans(Db& db) : db_(db) {
  if (sqlite3_get_autocommit(db_.get())) begin();
}

ReadSpans::~ReadSpans() {
  if (active_) sqlite3_exec(db_.get(), "COMMIT", nullptr, nullptr, nullptr);  // a read: nothing to lose
}

void ReadSpans::tick() {
  if (!active_ || std::chrono::steady_clock::now() - begun_ < kSpan) return;
  end();
  begin();
}

void ReadSpans::begin() {
  db_.exec("BEGIN");
  active_ = true;
  begun_ = std::chrono::steady_clock::now();
}

void ReadSpans::end() {
  active_ = false;
  db_.exec("COMMIT");
}

std::string quote_ident(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace mdb::sql
