#pragma once
// The backup engine (store.md, "backup"): walks a directory once, reuses the chunk lists of
// files the file cache says are unchanged (without reading them), reads, chunks and hashes
// the rest, stores only blobs the store lacks, then writes the manifest and commits the
// snapshot. Interrupted at any point it leaves no snapshot, only unreferenced blobs.
#include <sqlite3.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "store/database_file.h"
#include "store/reporter.h"
#include "store/store.h"

namespace mdb::store {

struct BackupRequest {
  std::filesystem::path root;
  std::string name;               // the snapshot's name (see Store::unique_snapshot_name)
  std::string reason = "backup";  // or the command an automatic snapshot precedes
  SnapshotKind kind = SnapshotKind::Backup;
  std::vector<std::string> tags;  // `backup --tag`
  // SQLite databases (relative paths): read consistently (store/database_file.h).
  std::vector<std::string> databases;
  // Paths (relative to the root) that are not part of the tree, nor anything under them
  // (".mephisto-db", and the one at the top of a mount inside the data dir).
  std::vector<std::string> exclude;
  // A connection holding an exclusive lock on a database (restore locks every DB), or
  // nullptr: such a DB cannot change, so its file is read as it is. May be empty.
  std::function<sqlite3*(const std::string& rel)> locked_connection;
  // The snapshot an atomic change relies on for its rollback: every blob it reuses for a
  // database is read back (decompressed and re-hashed) first, and one found damaged is
  // stored anew from the database (a file cache entry naming it is not used).
  bool check_reused_databases = false;
  // Set for scan(): where each entry goes instead of a manifest.
  std::function<void(Entry&&)> on_entry;
};

struct BackupResult {
  SnapshotInfo snapshot;
  uint64_t files_read = 0;          // files whose content was read (not from the file cache)
  uint64_t bytes_deduplicated = 0;  // file bytes that needed no new blob
  uint64_t bytes_new = 0;           // file bytes stored as new blobs (before compression)
  uint64_t bytes_stored = 0;        // everything this backup added to the store (compressed)
  // Files that kept changing while they were read (relative paths, in walk order): each is
  // stored as its last read and marked in the manifest; `backup` then exits 3.
  std::vector<std::string> changed_while_read;
  std::vector<std::string> warnings;  // every warning the run gave, in order
  uint64_t blobs_restored = 0;        // damaged blobs stored anew (check_reused_databases)
  // Entries walked while an encrypted store's key was still being derived (Store::Unlock::Meanwhile).
  uint64_t entries_before_key = 0;
};

// How often a file that changes while it is read is read before it is stored as it is.
constexpr int kReadAttempts = 3;

BackupResult backup(Store& store, const BackupRequest& req, Reporter& reporter);

// The same walk, writing nothing (diff's `now`): every entry goes to `req.on_entry` in path
// order with its chunk ids computed (SHA-256) but not stored, taken from the file cache of
// `store` (may be null) when it matches. A database the file cache does not vouch for comes
// with `database` set and no chunks (its copy would cost a second read: diff compares its rows).
void scan(Store* store, const BackupRequest& req, Reporter& reporter);

}  // namespace mdb::store
