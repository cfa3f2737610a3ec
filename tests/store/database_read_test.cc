// How backup reads a database (store/database_file.h): in a rollback-journal mode it reads the
// file itself once, under a read transaction, so the snapshot holds the file byte for byte, as
// of its last commit, not a write transaction still open in another process.
#include <gtest/gtest.h>

#include "platform/sqlite.h"
#include "tests/support/testenv.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

int64_t count(const stdfs::path& db, const std::string& sql) {
  return sql::Db::open_readonly(db).query_value(sql).i;
}

// The snapshot `name` of `store` restored into a new dir `to`.
void restore_to(const stdfs::path& to, const stdfs::path& store, const std::string& name) {
  RunResult r = mdb(to, store, {"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(DatabaseRead, ARestoredDatabaseIsTheFileByteForByte) {
  DataAndStore d;
  make_data_dir(d.data);
  std::string name = backup_snapshot(d.data, d.store);
  restore_to(d.tmp / "restored", d.store, name);
  // An online-backup copy differs in its header (change counter, schema cookie).
  for (const char* db : {"database.db", "mock/mock.db"})
    EXPECT_TRUE(read(d.data / db) == read(d.tmp / "restored" / db)) << db << " differs from the backed-up file";
}

TEST(DatabaseRead, AWriteTransactionOpenElsewhereIsNotInTheSnapshot) {
  DataAndStore d;
  make_data_dir(d.data);
  stdfs::path db = d.data / "database.db";
  int64_t requesters = count(db, "SELECT count(*) FROM requesters");
  ASSERT_GT(requesters, 0);
  std::string name;
  {
    SqliteLock writer(db, "BEGIN IMMEDIATE; DELETE FROM requesters");
    name = backup_snapshot(d.data, d.store);
  }
  restore_to(d.tmp / "restored", d.store, name);
  EXPECT_EQ(count(d.tmp / "restored" / "database.db", "SELECT count(*) FROM requesters"), requesters);
}

}  // namespace
}  // namespace mdb::test
