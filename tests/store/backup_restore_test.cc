// backup and restore through the real binary (store.md): exact round trips, removal of newer
// files, --only, refusal while a DB is in use, bad snapshot names.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <random>

#include <nlohmann/json.hpp>
#include <thread>

#include "platform/lock.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

struct Dirs {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  stdfs::path store = tmp / "store";
};

std::string backup(const Dirs& d) {
  RunResult r = mdb(d.data, d.store, {"backup"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto pos = r.out.find("saved to snapshot: ");
  EXPECT_NE(pos, std::string::npos) << r.out;
  return r.out.substr(pos + 19, r.out.find('\n', pos) - pos - 19);
}

TEST(BackupRestore, RoundTripIsExact) {
  Dirs d;
  make_data_dir(d.data);
  auto before = describe(d.data);
  std::string name = backup(d);
  // Change everything: contents, modes, a DB row, new files and dirs, removed files.
  write(d.data / "data" / "runs" / "Proj'ect β" / "1000003" / "1000004" / "assign_data.json", "changed");
  stdfs::permissions(d.data / "tools" / "run.sh", stdfs::perms(0600));
  sqlite_exec(d.data / "database.db",
              "DELETE FROM requesters; INSERT INTO projects(project_id, project_name) "
              "VALUES (7, 'new');");
  write(d.data / "STRAY_FILE_AFTER_BACKUP.txt", "stray");
  stdfs::create_directories(d.data / "data" / "runs" / "created_after_backup" / "x");
  stdfs::create_directories(d.data / "mturk_sandbox");
  stdfs::remove(d.data / "dangling");
  write(d.data / "database.db-journal", "stale journal");

  RunResult r = mdb(d.data, d.store, {"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Saved the current data as snapshot "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Finished successfully"), std::string::npos) << r.out;
  auto after = describe(d.data);
  EXPECT_EQ(diff(before, after), "");
  EXPECT_FALSE(stdfs::exists(d.data / "database.db-journal"));
  // Nothing is left beside the data dir.
  for (const auto& e : stdfs::directory_iterator(d.tmp.path()))
    EXPECT_TRUE(e.path() == d.data || e.path() == d.store) << e.path();
}

TEST(BackupRestore, SocketsAreSkippedWithAWarning) {
  Dirs d;
  make_data_dir(d.data);
  stdfs::path sock = d.data / "data" / "a.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(sock.string().size(), sizeof addr.sun_path) << sock;
  std::strcpy(addr.sun_path, sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  ::close(fd);
  RunResult r = mdb(d.data, d.store, {"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Skipped " + sock.string() + ": a socket"), std::string::npos) << r.err;
}

TEST(BackupRestore, RestoreCanBeUndoneWithTheBeforeSnapshot) {
  Dirs d;
  make_data_dir(d.data);
  std::string first = backup(d);
  write(d.data / "later.txt", "later");
  auto changed = describe(d.data);
  RunResult r = mdb(d.data, d.store, {"restore", "-f", first});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto pos = r.out.find("Saved the current data as snapshot ");
  ASSERT_NE(pos, std::string::npos);
  std::string before_name = r.out.substr(pos + 35, r.out.find('\n', pos) - pos - 35);
  EXPECT_FALSE(stdfs::exists(d.data / "later.txt"));
  r = mdb(d.data, d.store, {"restore", "-f", before_name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(diff(changed, describe(d.data)), "");
}

TEST(BackupRestore, OnlyRestoresOnePathAndTouchesNothingElse) {
  Dirs d;
  make_data_dir(d.data);
  stdfs::path run = d.data / "data" / "runs" / "Proj'ect β" / "1000003";
  auto run_before = describe(run);
  std::string name = backup(d);
  stdfs::remove_all(run);
  write(d.data / "data" / "runs" / "other" / "file.json", "{}");
  write(d.data / "readme.txt", "new");
  sqlite_exec(d.data / "database.db", "DELETE FROM projects");
  auto elsewhere = describe(d.data);

  RunResult r = mdb(d.data, d.store, {"restore", "-f", name, "--only", "data/runs/Proj'ect β/1000003"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(run_before, describe(run)), "");
  auto now = describe(d.data, false);
  for (auto& [k, n] : elsewhere) {
    if (k.rfind("data/runs/Proj'ect β", 0) == 0 || n.kind == 'd') continue;
    EXPECT_TRUE(now.count(k) && now[k] == n) << k;
  }
  EXPECT_EQ(now.size(), elsewhere.size() + run_before.size() + 1);  // + the run dir itself

  r = mdb(d.data, d.store, {"restore", "-f", name, "--only", "no/such/path"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no/such/path is not in snapshot"), std::string::npos) << r.err;
  r = mdb(d.data, d.store, {"restore", "-f", name, "--only", "../escape"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(BackupRestore, UnchangedDirIsNotReadAgain) {
  Dirs d;
  make_data_dir(d.data);
  // Old enough that the file cache trusts every file (see kRacyWindowNs).
  ::usleep(100'000);
  backup(d);
  RunResult r = mdb(d.data, d.store, {"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["files_read"], 0) << r.out;
  EXPECT_EQ(j["bytes_new"], 0) << r.out;
  EXPECT_GT(j["files"].get<int>(), 5);
}

// A first backup into a new store answers its lookups of blobs it never stored from memory
// (Index::filter_empty_tables): a file met again after the pack holding its first copy was
// sealed and indexed is still found, and stored once.
TEST(BackupRestore, AFirstBackupStoresAFileMetAgainAfterItsPackWasSealedOnce) {
  Dirs d;
  make_data_dir(d.data);
  std::mt19937_64 rng(21);
  auto random_file = [&](const stdfs::path& p) {
    std::string bytes(1u << 20, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    write(p, bytes);
    return bytes;
  };
  std::string first = random_file(d.data / "a_first.bin");
  stdfs::create_directories(d.data / "m_between");
  for (int i = 0; i < 40; ++i) random_file(d.data / "m_between" / (std::to_string(i) + ".bin"));  // > one pack
  write(d.data / "z_again.bin", first);
  RunResult r = mdb(d.data, d.store, {"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["bytes_deduplicated"].get<uint64_t>(), uint64_t{1} << 20) << r.out;
  EXPECT_LT(j["bytes_stored"].get<uint64_t>(), uint64_t{42} << 20) << r.out;
  std::string name = j["snapshot"].get<std::string>();
  stdfs::remove(d.data / "z_again.bin");
  r = mdb(d.data, d.store, {"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read(d.data / "z_again.bin"), first);
}

TEST(BackupRestore, RefusesWhileADatabaseIsInUse) {
  Dirs d;
  make_data_dir(d.data);
  std::string name = backup(d);
  write(d.data / "after.txt", "x");
  auto before = describe(d.data);
  // A process holding a read transaction (like a running Mephisto mid-query).
  SqliteLock lock(d.data / "database.db", "BEGIN; SELECT count(*) FROM projects");
  RunResult r = mdb(d.data, d.store, {"restore", "-f", name});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is in use by another process"), std::string::npos) << r.err;
  EXPECT_EQ(diff(before, describe(d.data)), "");
}

TEST(BackupRestore, BadNamesAreClearErrors) {
  Dirs d;
  make_data_dir(d.data);
  backup(d);
  backup(d);
  auto before = describe(d.data);
  RunResult r = mdb(d.data, d.store, {"restore", "-f", "no_such_snapshot"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Could not find a snapshot or backup file named no_such_snapshot"), std::string::npos) << r.err;
  r = mdb(d.data, d.store, {"--json", "snapshots"});
  auto snaps = nlohmann::json::parse(r.out)["snapshots"];
  ASSERT_EQ(snaps.size(), 2u);
  // A prefix of one id restores it; the name with ".zip" appended names it too.
  std::string id = snaps[1]["id"];
  r = mdb(d.data, d.store, {"restore", "-f", id.substr(0, 8)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = mdb(d.data, d.store, {"restore", "-f", snaps[0]["name"].get<std::string>() + ".zip"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(diff(before, describe(d.data)), "");
  // "Exiting now" on anything but yes.
  RunResult no = run_mephisto(
      {"--data-dir", d.data.string(), "--store", d.store.string(), "db", "restore", "-f", id.substr(0, 8)}, "no\n");
  EXPECT_EQ(no.exit_code, 1);
  EXPECT_NE(no.out.find("Exiting now"), std::string::npos);
}

TEST(BackupRestore, RestoresIntoAMissingDataDir) {
  Dirs d;
  make_data_dir(d.data);
  auto before = describe(d.data);
  std::string name = backup(d);
  stdfs::remove_all(d.data);
  RunResult r = mdb(d.data, d.store, {"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(diff(before, describe(d.data)), "");
}

TEST(BackupRestore, RestoreIntoAnEmptyDirOnlyReadsTheStore) {
  Dirs d;
  make_data_dir(d.data);
  auto before = describe(d.data);
  std::string name = backup(d);
  // A writer holds the store (as a running backup or prune would).
  store::LockFile writer(d.store / "lock", "The store", "backup");
  stdfs::path other = d.tmp / "other";
  RunResult r = mdb(other, d.store, {"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("Saved the current data"), std::string::npos) << r.out;
  EXPECT_EQ(diff(before, describe(other)), "");
  // A data dir with content is saved first, which needs the store's writer lock.
  r = mdb(d.data, d.store, {"restore", "-f", name});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is locked by " + std::to_string(::getpid()) + " (backup since"), std::string::npos) << r.err;
  EXPECT_EQ(diff(before, describe(d.data)), "");
}

// --retry-lock on a local store: the lock file's holder is printed once while the command waits;
// when the time is over the command fails as without it; a lock released meanwhile lets it run.
TEST(BackupRestore, RetryLockWaitsForALocalStoresWriterUntilItsTimeIsOver) {
  Dirs d;
  make_data_dir(d.data);
  backup(d);
  write(d.data / "new.txt", "new");
  auto before = describe(d.data);
  const std::string waiting = "Waiting up to 1s (--retry-lock): The store " + d.store.string() + " is locked by " +
                              std::to_string(::getpid()) + " (prune since";
  {
    store::LockFile writer(d.store / "lock", "The store " + d.store.string(), "prune");
    RunResult r = mdb(d.data, d.store, {"--retry-lock", "1s", "backup"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    size_t at = r.err.find(waiting);
    EXPECT_NE(at, std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(waiting, at + 1), std::string::npos) << r.err;  // once
    EXPECT_NE(r.err.find("Error: The store " + d.store.string() + " is locked by "), std::string::npos) << r.err;
  }
  EXPECT_EQ(diff(before, describe(d.data)), "");
  RunResult r;
  {
    auto writer = std::make_unique<store::LockFile>(d.store / "lock", "The store", "prune");
    std::thread running([&] { r = mdb(d.data, d.store, {"--retry-lock", "5m", "backup"}); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // released while it waits, or before it asks
    writer.reset();
    running.join();
  }
  EXPECT_EQ(r.exit_code, 0) << r.err;
  RunResult snaps = mdb(d.data, d.store, {"snapshots"});
  EXPECT_NE(snaps.out.find("2 snapshots"), std::string::npos) << snaps.out;
}

TEST(BackupRestore, StoreFromANewerFormatIsRefused) {
  Dirs d;
  make_data_dir(d.data);
  backup(d);
  std::string cfg = read(d.store / "config");
  auto j = nlohmann::json::parse(cfg);
  j["version"] = 99;
  stdfs::permissions(d.store / "config", stdfs::perms(0644));
  write(d.store / "config", j.dump());
  RunResult r = mdb(d.data, d.store, {"backup"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has format version 99, newer than this build supports"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mdb::test
