#pragma once
// What the store commands (backup, restore, snapshots, verify, prune) and the journal share:
// the data dir's database list, snapshot naming, the data-dir writer lock, exclusive SQLite
// locks, and progress reporting through the console.
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "datadir/context.h"
#include "datadir/datadir.h"
#include "store/backup.h"
#include "platform/lock.h"
#include "store/reporter.h"
#include "platform/sqlite.h"

namespace mdb {

// Our folder inside the data dir; never backed up, never restored over.
inline constexpr const char* kMetaDirName = ".mephisto-db";

// What a snapshot or scan of the data dir leaves out, relative to it: our folder, and ours at the
// top of each mount inside it (an import's staging for that filesystem, written while its
// snapshot is taken, and a command's trash).
std::vector<std::string> not_in_snapshots(const DataDir& dir);

// The SQLite databases of a data dir (database.db and every provider datastore path of the
// registry), relative to it: backups copy these with the online backup API.
std::vector<std::string> database_paths();

// "YYYY_MM_DD_HH_MM_SS" in local time (the original's backup and dump names).
std::string timestamp_now();

// The data-dir writer lock (.mephisto-db/lock): one writer per data dir.
class DataDirLock {
 public:
  DataDirLock(const DataDir& dir, const std::string& command);
  // The lock when nobody holds it, else nullopt (a change is running). The data dir's
  // `.mephisto-db/` must exist.
  static std::optional<DataDirLock> try_take(const DataDir& dir, const std::string& command);

 private:
  DataDirLock() = default;
  std::unique_ptr<store::LockFile> lock_;
};

// Exclusive SQLite locks on every database of a data dir, held until destruction, so no
// Mephisto process reads or writes them meanwhile. Refuses (mdb::Error) when a database is in
// use. A file SQLite cannot lock otherwise (damaged: the command's policy let it through, see
// classify.h) is skipped: snapshots copy it as a plain file, and restore replaces it.
class ExclusiveDbLocks {
 public:
  explicit ExclusiveDbLocks(const DataDir& dir);
  // The locked connection of a database (relative path), or nullptr.
  sqlite3* connection(const std::string& rel) const;

 private:
  std::vector<std::pair<std::string, sql::Db>> dbs_;
};

// store::Reporter on the console: progress bars on a terminal, warnings on stderr.
class ConsoleReporter : public store::Reporter {
 public:
  explicit ConsoleReporter(Console& console) : console_(console) {}
  bool wants_progress() const override;
  void phase(std::string_view label, uint64_t total, bool bytes, uint64_t files = 0) override;
  void advance(uint64_t n, uint64_t files = 0) override;
  void end_phase() override;
  void warn(const std::string& message) override;

 private:
  Console& console_;
  std::optional<Console::Progress> bar_;
};

// Snapshots the whole data dir (without not_in_snapshots) into `store` under `name` (see
// Store::unique_snapshot_name). `locks` (may be null) are exclusive locks held on the DBs.
store::BackupResult snapshot_data_dir(store::Store& store, Console& console, const DataDir& dir,
                                      const std::string& name, const std::string& reason, store::SnapshotKind kind,
                                      const ExclusiveDbLocks* locks, const std::vector<std::string>& tags = {});

// Refuses a store inside the data dir (backups would hold themselves, restores would remove
// it).
void check_store_outside(const DataDir& dir, const std::filesystem::path& store_dir);

}  // namespace mdb
