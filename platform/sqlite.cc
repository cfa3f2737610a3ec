#include "platform/sqlite.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/interrupt.h"
#include "platform/env.h"

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
  install_hook_vfs_if_needed();
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

// ---- the hook VFS: wraps the default VFS, calls the current Env's hooks before SQLite's writes ----
// SQLite's real file I/O stays its own (its unix VFS); what passes through the Env is the decision
// to fail, stop or trace at each of its writes, as for ours.
namespace {

sqlite3_vfs* g_base = nullptr;

struct ShimFile {
  sqlite3_file base;       // must be first: SQLite treats this struct as sqlite3_file
  sqlite3_file* real;      // the wrapped file, allocated right after this struct
  std::string path;
};

int fault_rc(const char* what, const std::string& path) {
  try {
    fs::env().fault_point(what, path);
  } catch (const fs::IoError& e) {
    return e.err() == ENOSPC ? SQLITE_FULL : SQLITE_IOERR;
  }
  return SQLITE_OK;
}

sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f)->real; }

int x_close(sqlite3_file* f) {
  int rc = real(f)->pMethods ? real(f)->pMethods->xClose(real(f)) : SQLITE_OK;
  reinterpret_cast<ShimFile*>(f)->path.~basic_string();
  return rc;
}
int x_read(sqlite3_file* f, void* b, int n, sqlite3_int64 o) { return real(f)->pMethods->xRead(real(f), b, n, o); }
int x_write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  auto* sf = reinterpret_cast<ShimFile*>(f);
  if (int rc = fault_rc("write", sf->path); rc != SQLITE_OK) return rc;
  int want = static_cast<int>(fs::env().write_size(static_cast<size_t>(n)));
  int rc = real(f)->pMethods->xWrite(real(f), b, want, o);
  if (rc == SQLITE_OK && want < n) return SQLITE_IOERR_WRITE;
  return rc;
}
int x_truncate(sqlite3_file* f, sqlite3_int64 sz) {
  if (int rc = fault_rc("truncate", reinterpret_cast<ShimFile*>(f)->path); rc != SQLITE_OK) return rc;
  return real(f)->pMethods->xTruncate(real(f), sz);
}
int x_sync(sqlite3_file* f, int flags) {
  if (int rc = fault_rc("fsync", reinterpret_cast<ShimFile*>(f)->path); rc != SQLITE_OK) return rc;
  return real(f)->pMethods->xSync(real(f), flags);
}
int x_size(sqlite3_file* f, sqlite3_int64* s) { return real(f)->pMethods->xFileSize(real(f), s); }
int x_lock(sqlite3_file* f, int l) {
  int rc = real(f)->pMethods->xLock(real(f), l);
  if (rc == SQLITE_OK && l >= SQLITE_LOCK_RESERVED) fs::env().trace("lock", reinterpret_cast<ShimFile*>(f)->path);
  return rc;
}
int x_unlock(sqlite3_file* f, int l) {
  if (l <= SQLITE_LOCK_SHARED) fs::env().trace("unlock", reinterpret_cast<ShimFile*>(f)->path);
  return real(f)->pMethods->xUnlock(real(f), l);
}
int x_check(sqlite3_file* f, int* r) { return real(f)->pMethods->xCheckReservedLock(real(f), r); }
int x_fcntl(sqlite3_file* f, int op, void* a) { return real(f)->pMethods->xFileControl(real(f), op, a); }
int x_sector(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int x_devchar(sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); }
int x_shmmap(sqlite3_file* f, int a, int b, int c, void volatile** d) {
  return real(f)->pMethods->xShmMap(real(f), a, b, c, d);
}
int x_shmlock(sqlite3_file* f, int a, int b, int c) { return real(f)->pMethods->xShmLock(real(f), a, b, c); }
void x_shmbarrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int x_shmunmap(sqlite3_file* f, int a) { return real(f)->pMethods->xShmUnmap(real(f), a); }
int x_fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** p) { return real(f)->pMethods->xFetch(real(f), o, n, p); }
int x_unfetch(sqlite3_file* f, sqlite3_int64 o, void* p) { return real(f)->pMethods->xUnfetch(real(f), o, p); }

const sqlite3_io_methods kShimMethods = {3,        x_close,  x_read,   x_write,      x_truncate, x_sync,
                                         x_size,   x_lock,   x_unlock, x_check,      x_fcntl,    x_sector,
                                         x_devchar, x_shmmap, x_shmlock, x_shmbarrier, x_shmunmap, x_fetch,
                                         x_unfetch};

int shim_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* sf = reinterpret_cast<ShimFile*>(f);
  sf->real = reinterpret_cast<sqlite3_file*>(sf + 1);
  new (&sf->path) std::string(name ? name : "");
  int rc = g_base->xOpen(g_base, name, sf->real, flags, out_flags);
  sf->base.pMethods = rc == SQLITE_OK ? &kShimMethods : nullptr;
  if (rc != SQLITE_OK) sf->path.~basic_string();
  return rc;
}

int shim_delete(sqlite3_vfs*, const char* name, int sync) {
  if (int rc = fault_rc("remove", name); rc != SQLITE_OK) return rc;
  return g_base->xDelete(g_base, name, sync);
}

}  // namespace

void install_hook_vfs_if_needed() {
  // Without hooks (PosixEnv) SQLite keeps its own VFS: no cost. Once installed, the shim stays
  // the default and asks whichever Env is current at each write.
  if (!fs::env().hooks_active()) return;
  static std::once_flag once;
  std::call_once(once, [] {
    g_base = sqlite3_vfs_find(nullptr);
    static sqlite3_vfs shim = *g_base;
    shim.zName = "mdb-fault";
    shim.szOsFile = static_cast<int>(sizeof(ShimFile)) + g_base->szOsFile;
    shim.xOpen = shim_open;
    shim.xDelete = shim_delete;
    shim.pAppData = nullptr;
    sqlite3_vfs_register(&shim, 1);
  });
}

}  // namespace mdb::sql
