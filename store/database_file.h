#pragma once
// How backup reads the SQLite databases of a data dir (store.md, "Chunking"): consistently, at a
// transaction boundary, even while Mephisto writes, and without changing the data dir.
#include <sqlite3.h>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace mdb::store {

// The source of copy_database or read_database is not a usable SQLite database.
class NotADatabase : public Error {
 public:
  explicit NotADatabase(const std::string& message) : Error(message, ErrorKind::Damaged) {}
};

// Copies the database `src` into a new file `dest` with SQLite's online backup API under
// one read transaction.
// The copy is logically equal to the source at a transaction boundary. Throws NotADatabase
// when `src` cannot be read as SQLite, fs::IoError when writing the copy fails.
void copy_database(const std::filesystem::path& src, const std::filesystem::path& dest);

// Hands `fn` the bytes of the database `src` in kDatabaseChunk pieces (store/chunker.h), read once:
//  - in a rollback-journal mode (Mephisto's), the file itself under a read transaction: while
//    it is held no writer can change the file (a writer needs the exclusive lock to write it),
//    and a hot journal was rolled back before it was granted;
//  - in WAL mode, where committed pages may be only in the -wal, an online-backup copy made in
//    a temp dir under `tmp_parent` (copy_database), then read.
// Throws NotADatabase when `src` cannot be read as SQLite (nothing was handed on then).
void read_database(const std::filesystem::path& src, const std::filesystem::path& tmp_parent, std::string& buffer,
                   const std::function<void(std::string_view)>& fn);

// The same for a database `db` already holds locked (restore, import): its file as it is.
void read_database_file(sqlite3* db, const std::filesystem::path& path, std::string& buffer,
                        const std::function<void(std::string_view)>& fn);

}  // namespace mdb::store
