#include "dump/recorded_files.h"

namespace mdb {

namespace {

int64_t as_int(uint64_t v) { return static_cast<int64_t>(v); }
uint64_t as_uint(int64_t v) { return static_cast<uint64_t>(v); }

}  // namespace

RecordedFiles::RecordedFiles(sql::Db& db) : db_(db) {
  // The hash as two integers: its halves, as Hash128 holds them.
  db_.exec("CREATE TABLE recorded_files (path TEXT PRIMARY KEY, size INTEGER, hash_high INTEGER, "
           "hash_low INTEGER, matched INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID");
  insert_ = db_.prepare("INSERT OR REPLACE INTO recorded_files (path, size, hash_high, hash_low) VALUES (?1, ?2, ?3, ?4)");
  match_ = db_.prepare("UPDATE recorded_files SET matched = 1 WHERE path = ?1 RETURNING size, hash_high, hash_low");
}

void RecordedFiles::add(const capnp_dump::FileRecord& f) {
  insert_.bind(1, std::string_view(f.path))
      .bind(2, as_int(f.size))
      .bind(3, as_int(f.hash.high))
      .bind(4, as_int(f.hash.low));
  insert_.run();
}

std::optional<RecordedFiles::Match> RecordedFiles::match(std::string_view path) {
  match_.bind(1, path);
  std::optional<Match> out;
  if (match_.step()) {
    out = Match{as_uint(match_.column_int(0)), {as_uint(match_.column_int(1)), as_uint(match_.column_int(2))}};
  }
  while (match_.step()) {
  }
  match_.reset();
  return out;
}

void RecordedFiles::for_each_unmatched(const std::function<void(const std::string&)>& fn) {
  sql::Stmt s = db_.prepare("SELECT path FROM recorded_files WHERE matched = 0 ORDER BY path");
  while (s.step()) fn(s.column_text(0));
}

}  // namespace mdb
