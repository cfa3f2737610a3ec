#include "store/database_file.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <thread>

#include "base/interrupt.h"
#include "platform/env.h"
#include "platform/sqlite.h"
#include "platform/temp_dir.h"
#include "store/chunker.h"

namespace mdb::store {

namespace {

namespace stdfs = std::filesystem;

constexpr int kBusyRetries = 10000;  // x 1 ms

Error locked_too_long(const stdfs::path& src) {
  return Error("The database " + src.string() +
                   " stayed locked by another process for 10 s; could not copy it "
                   "consistently.",
               ErrorKind::Busy);
}

// Read-write when we may (SQLite rolls a hot journal back only then), else read-only.
sql::Db open_source(const stdfs::path& src) {
  std::optional<sql::Db> own;
  try {
    own.emplace(sql::Db::open(src, SQLITE_OPEN_READWRITE));
  } catch (const Error&) {
    try {
      own.emplace(sql::Db::open(src, SQLITE_OPEN_READONLY));
    } catch (const Error& e) {
      throw NotADatabase(e.what());
    }
  }
  // The last connection to a WAL database checkpoints it and deletes its -wal on close; ours
  // must leave the data dir as it found it (a running Mephisto owns that checkpoint).
  sqlite3_db_config(own->get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  return std::move(*own);
}

[[noreturn]] void read_failed(sqlite3* db, const stdfs::path& path) {
  int err = 0;
  sqlite3_file_control(db, "main", SQLITE_FCNTL_LAST_ERRNO, &err);
  throw fs::IoError("cannot read database", path, err ? err : EIO);
}

}  // namespace

void copy_database(const stdfs::path& src, const stdfs::path& dest) {
  sql::Db own = open_source(src);
  sqlite3* source = own.get();
  sql::Db out = sql::Db::create(dest);
  out.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF");
  sqlite3_backup* b = sqlite3_backup_init(out.get(), "main", source, "main");
  if (!b) out.fail("cannot start copying " + src.string());
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < kBusyRetries; ++attempt) {
    rc = sqlite3_backup_step(b, -1);  // all pages in one step: one read transaction
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    int code = rc & 0xff;
    std::string msg = sqlite3_errstr(rc);
    if (code == SQLITE_FULL) throw fs::IoError("cannot copy database " + src.string() + " to", dest, ENOSPC);
    if (code == SQLITE_IOERR) throw fs::IoError("cannot copy database " + src.string() + " to", dest, EIO);
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) throw NotADatabase(msg);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) throw locked_too_long(src);
    throw Error("cannot copy the database " + src.string() + ": " + msg);
  }
}

void read_database(const stdfs::path& src, const stdfs::path& tmp_parent, std::string& buffer,
                   const std::function<void(std::string_view)>& fn) {
  {
    sql::Db db = open_source(src);
    if (db.query_value("PRAGMA journal_mode").to_string() != "wal") {
      sqlite3_busy_timeout(db.get(), kBusyRetries);  // as long as the copy waits
      sql::Transaction read(db, "BEGIN");  // ends with a rollback: it only reads
      try {
        db.query_value("SELECT count(*) FROM sqlite_master");  // takes the shared lock
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::Busy) throw locked_too_long(src);
        throw NotADatabase(e.what());
      }
      read_database_file(db.get(), src, buffer, fn);
      return;
    }
  }
  fs::OwnedTempDir tmp(tmp_parent, "db-");
  stdfs::path copy = tmp.path() / "copy";
  copy_database(src, copy);
  fs::File f = fs::File::open_read(copy);
  for_each_fixed_chunk(f, buffer, fn);
}

// Through the connection's own descriptor: closing a second descriptor of the file would drop
// every POSIX lock this process holds on it, the connection's read or exclusive lock included.
void read_database_file(sqlite3* db, const stdfs::path& path, std::string& buffer,
                        const std::function<void(std::string_view)>& fn) {
  sqlite3_file* f = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f || !f->pMethods)
    read_failed(db, path);
  sqlite3_int64 size = 0;
  if (f->pMethods->xFileSize(f, &size) != SQLITE_OK) read_failed(db, path);
  buffer.resize(kDatabaseChunk);
  for (sqlite3_int64 at = 0; at < size;) {
    interrupt::check();
    int n = static_cast<int>(std::min<sqlite3_int64>(kDatabaseChunk, size - at));
    if (f->pMethods->xRead(f, buffer.data(), n, at) != SQLITE_OK) read_failed(db, path);
    fn(std::string_view(buffer.data(), static_cast<size_t>(n)));
    at += n;
  }
}

}  // namespace mdb::store
