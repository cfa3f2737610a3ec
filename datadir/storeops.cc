#include "datadir/storeops.h"

#include <unistd.h>

#include <ctime>

#include "datadir/classify.h"
#include "datadir/registry.h"
#include "base/interrupt.h"
#include "platform/env.h"

namespace mdb {

std::vector<std::string> database_paths() {
  std::vector<std::string> out;
  for (const DbSpec& d : databases()) out.emplace_back(d.file);
  return out;
}

std::string timestamp_now() {
  time_t t = static_cast<time_t>(fs::env().now_ns() / 1'000'000'000);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y_%m_%d_%H_%M_%S", &tm);
  return buf;
}

DataDirLock::DataDirLock(const DataDir& dir, const std::string& command) {
  fs::mkdirs(dir.meta_dir());
  lock_ =
      std::make_unique<store::LockFile>(dir.meta_dir() / "lock", "The data directory " + dir.root().string(), command);
}

std::optional<DataDirLock> DataDirLock::try_take(const DataDir& dir, const std::string& command) {
  DataDirLock lock;
  lock.lock_ = store::LockFile::try_take(dir.meta_dir() / "lock", command);
  if (!lock.lock_) return std::nullopt;
  return lock;
}

ExclusiveDbLocks::ExclusiveDbLocks(const DataDir& dir) {
  for (const DbSpec& spec : databases()) {
    stdfs::path path = dir.db_path(spec.id);
    if (!fs::exists(path)) continue;
    auto in_use = [&] { return Error(database_in_use(path), ErrorKind::Busy); };
    sql::Db db;
    try {
      db = sql::Db::open(path);
    } catch (const Error&) {
      if (classify(path, spec.id, DbAccess::Write).state == DbState::Busy) throw in_use();
      continue;  // damaged
    }
    sqlite3_busy_timeout(db.get(), kBusyWaitMs);
    // A WAL database keeps committed pages in its -wal file: move them into the main file
    // first, so the locked file alone holds the whole database.
    int rc = SQLITE_OK;
    if (db.query_value("PRAGMA journal_mode").to_string() == "wal")
      rc = sqlite3_exec(db.get(), "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db.get(), "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) throw in_use();
    if (rc != SQLITE_OK) continue;  // damaged
    dbs_.emplace_back(std::string(spec.file), std::move(db));
  }
}

sqlite3* ExclusiveDbLocks::connection(const std::string& rel) const {
  for (const auto& [r, db] : dbs_)
    if (r == rel) return db.get();
  return nullptr;
}

bool ConsoleReporter::wants_progress() const { return console_.progress_enabled(); }

void ConsoleReporter::phase(std::string_view label, uint64_t total, bool bytes, uint64_t files) {
  bar_.reset();
  bar_.emplace(console_, std::string(label), total, bytes, files);
}

void ConsoleReporter::advance(uint64_t n, uint64_t files) {
  if (bar_) bar_->add(n, files);
}

void ConsoleReporter::end_phase() { bar_.reset(); }

void ConsoleReporter::warn(const std::string& message) { console_.warn(message); }

std::vector<std::string> not_in_snapshots(const DataDir& dir) {
  std::vector<std::string> out{kMetaDirName};
  for (const stdfs::path& m : fs::mount_points_inside(dir.root()))
    out.push_back((m.lexically_relative(dir.root()) / kMetaDirName).generic_string());
  return out;
}

store::BackupResult snapshot_data_dir(store::Store& store, Console& console, const DataDir& dir,
                                      const std::string& name, const std::string& reason, store::SnapshotKind kind,
                                      const ExclusiveDbLocks* locks, const std::vector<std::string>& tags) {
  store::BackupRequest req;
  req.tags = tags;
  req.root = dir.root();
  req.name = name;
  req.reason = reason;
  req.kind = kind;
  req.databases = database_paths();
  req.exclude = not_in_snapshots(dir);
  // The snapshot before a change is what its rollback restores: its databases must read back.
  req.check_reused_databases = kind != store::SnapshotKind::Backup;
  if (locks) req.locked_connection = [locks](const std::string& rel) { return locks->connection(rel); };
  ConsoleReporter reporter(console);
  return store::backup(store, req, reporter);
}

void check_store_outside(const DataDir& dir, const stdfs::path& store_dir) {
  std::error_code ec;
  stdfs::path store = stdfs::weakly_canonical(store_dir, ec);
  if (ec) store = store_dir;
  stdfs::path rel = store.lexically_relative(dir.root());
  if (rel.empty() || *rel.begin() == "..") return;
  throw Error("The store " + store_dir.string() + " is inside the data directory " + dir.root().string() +
              ": backups would contain the store and a restore would remove it. Choose a store outside the data "
              "directory with --store or MEPHISTO_STORE.");
}

}  // namespace mdb
