// sql::ReadSpans: reads grouped into read transactions that end in time for other writers.
#include <gtest/gtest.h>

#include <thread>

#include "platform/sqlite.h"
#include "tests/support/testenv.h"

namespace mdb {
namespace {

struct TwoConnections {
  test::TempDir dir;
  sql::Db reader, writer;
  TwoConnections() {
    sql::Db::create(dir / "t.db").exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)");
    reader = sql::Db::open(dir / "t.db");
    writer = sql::Db::open(dir / "t.db");
    sqlite3_busy_timeout(writer.get(), 0);  // a commit blocked by the reader fails at once
  }
  bool reader_in_transaction() const { return !sqlite3_get_autocommit(reader.get()); }
  void read() { EXPECT_GE(reader.query_value("SELECT count(*) FROM t").i, 1); }
  // Whether the writer could commit a row now.
  bool writer_commits() {
    writer.exec("BEGIN");
    writer.exec("INSERT INTO t VALUES (2)");
    bool ok = sqlite3_exec(writer.get(), "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
    if (!ok) writer.exec("ROLLBACK");
    return ok;
  }
};

TEST(ReadSpans, ReadsShareOneTransactionThatEndsWithTheSpans) {
  TwoConnections c;
  {
    sql::ReadSpans spans(c.reader);
    c.read();
    spans.tick();  // younger than a span: kept
    c.read();
    EXPECT_TRUE(c.reader_in_transaction());
    EXPECT_FALSE(c.writer_commits()) << "the span's shared lock should hold the writer's commit back";
  }
  EXPECT_FALSE(c.reader_in_transaction());
  EXPECT_TRUE(c.writer_commits());
}

TEST(ReadSpans, ASpanOlderThanItsLimitEndsAtTheNextTickSoAWriterCanCommit) {
  TwoConnections c;
  sql::ReadSpans spans(c.reader);
  c.read();
  EXPECT_FALSE(c.writer_commits());
  std::this_thread::sleep_for(sql::ReadSpans::kSpan + std::chrono::milliseconds(20));
  spans.tick();  // a new span: its lock is taken at its first read
  EXPECT_TRUE(c.writer_commits());
  c.read();
  EXPECT_FALSE(c.writer_commits());
}

TEST(ReadSpans, LeavesATransactionAlreadyOpenAlone) {
  TwoConnections c;
  c.reader.exec("BEGIN IMMEDIATE");
  {
    sql::ReadSpans spans(c.reader);
    std::this_thread::sleep_for(sql::ReadSpans::kSpan + std::chrono::milliseconds(20));
    spans.tick();
    c.read();
  }
  EXPECT_TRUE(c.reader_in_transaction());
  c.reader.exec("COMMIT");
}

}  // namespace
}  // namespace mdb
