// `backup` never changes the data dir, also when a database is in WAL mode with committed
// transactions still only in its -wal (a Mephisto killed before its checkpoint): the snapshot
// holds them, the database and its -wal keep every byte, and the -shm stays.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "platform/sqlite.h"
#include "tests/support/testenv.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

std::string bytes_of(const stdfs::path& p) { return stdfs::exists(p) ? read(p) : std::string("<missing>"); }

TEST(WalBackup, BackupLeavesAPendingWalAsItFoundItAndTheSnapshotHoldsItsRows) {
  TempDir t;
  stdfs::path data = t / "data", store = t / "store";
  make_data_dir(data);
  stdfs::path db = data / "database.db";
  sqlite_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE pending(id INTEGER PRIMARY KEY, v TEXT)");
  pid_t writer = ::fork();
  ASSERT_GE(writer, 0);
  if (writer == 0) {  // commits into the -wal, then dies before any checkpoint
    sql::Db c = sql::Db::open(db);
    c.exec("PRAGMA wal_autocheckpoint = 0");
    for (int i = 0; i < 50; ++i) c.prepare("INSERT INTO pending(v) VALUES (?1)").bind(1, "row " + std::to_string(i)).run();
    ::kill(::getpid(), SIGKILL);
  }
  ASSERT_EQ(::waitpid(writer, nullptr, 0), writer);
  stdfs::path wal = data / "database.db-wal", shm = data / "database.db-shm";
  ASSERT_TRUE(stdfs::exists(wal) && stdfs::file_size(wal) > 0) << "the writer left no pending -wal";
  std::string db_before = bytes_of(db), wal_before = bytes_of(wal);

  RunResult r = mdb(data, store, {"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(bytes_of(db) == db_before) << "backup changed database.db";
  EXPECT_TRUE(bytes_of(wal) == wal_before) << "backup checkpointed or removed database.db-wal";
  // -shm is SQLite's shared-memory index of the -wal: every reader, Mephisto's own included,
  // writes its read marks there; it must stay, its bytes are SQLite's to change.
  EXPECT_TRUE(stdfs::exists(shm)) << "backup removed database.db-shm";

  std::string name = nlohmann::json::parse(r.out)["snapshot"];
  stdfs::path copy = t / "restored";
  ASSERT_EQ(mdb(copy, store, {"restore", "-f", name}).exit_code, 0);
  sql::Db restored = sql::Db::open_readonly(copy / "database.db");
  EXPECT_EQ(restored.query_value("PRAGMA integrity_check").to_string(), "ok");
  EXPECT_EQ(restored.query_value("SELECT count(*) FROM pending").i, 50);
}

}  // namespace
}  // namespace mdb::test
