// The shared atomic-change API (core/journal.h): commit, in-process undo, rollback after a
// crash by the next command, and the data-dir writer lock.
#include "datadir/journal.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "datadir/storeops.h"
#include "store/store.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

struct Env {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  stdfs::path store = tmp / "store";
  mdb::Console console{false, true};
  mdb::Context ctx{mdb::GlobalOptions{data.string(), (tmp / "outputs").string(), store.string(), false, true},
                    console};
  Env() { make_data_dir(data); }
  mdb::DataDir dir() { return mdb::DataDir(data); }
};

TEST(Journal, CommitKeepsTheChange) {
  Env env;
  std::string snapshot;
  {
    mdb::AtomicChange change(env.ctx, env.dir(), "import");
    snapshot = change.snapshot_name();
    EXPECT_TRUE(stdfs::exists(env.data / ".mephisto-db" / "journal"));
    write(env.data / "new" / "file.txt", "x");
    change.record_created("new");
    change.commit();
  }
  EXPECT_TRUE(stdfs::exists(env.data / "new" / "file.txt"));
  EXPECT_FALSE(stdfs::exists(env.data / ".mephisto-db" / "journal"));
  store::Store s(env.store, store::Store::Mode::Read);
  auto snap = s.find_snapshot(snapshot);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->record.reason, "import");
  EXPECT_NE(snapshot.find("_before_import"), std::string::npos);
}

TEST(Journal, FailureUndoesRecordedPaths) {
  Env env;
  write(env.data / "elsewhere" / "kept.txt", "moved away by the change");
  auto with_elsewhere = describe(env.data);
  try {
    mdb::AtomicChange change(env.ctx, env.dir(), "import");
    mdb::within(change, [&] {
      write(env.data / "new" / "deep" / "file.txt", "x");
      change.record_created("new");
      stdfs::rename(env.data / "elsewhere", env.data / ".mephisto-db" / "moved");
      change.record_moved(env.data / "elsewhere", env.data / ".mephisto-db" / "moved");
      throw std::runtime_error("import failed");
    });
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(diff(with_elsewhere, describe(env.data)), "");
  EXPECT_FALSE(stdfs::exists(env.data / ".mephisto-db" / "journal"));
  EXPECT_FALSE(stdfs::exists(env.store / "pins") && !stdfs::is_empty(env.store / "pins"));
}

// An early return without commit is a rollback too (import when, under the lock, nothing is new).
TEST(Journal, WorkEndingUncommittedIsRolledBack) {
  Env env;
  auto before = describe(env.data);
  mdb::AtomicChange change(env.ctx, env.dir(), "import");
  int r = mdb::within(change, [&] {
    write(env.data / "new" / "file.txt", "x");
    change.record_created("new");
    return 7;
  });
  EXPECT_EQ(r, 7);
  EXPECT_EQ(diff(before, describe(env.data)), "");
  EXPECT_FALSE(stdfs::exists(env.data / ".mephisto-db" / "journal"));
}

// The destructor never undoes (notes, invariant 6): a change dropped without commit or rollback
// keeps its marker, and the next command restores the snapshot as after a crash.
TEST(Journal, ADroppedChangeIsLeftForRecovery) {
  Env env;
  auto before = describe(env.data);
  {
    mdb::AtomicChange change(env.ctx, env.dir(), "import");
    write(env.data / "new" / "file.txt", "x");
    change.record_created("new");
  }
  ASSERT_TRUE(stdfs::exists(env.data / "new" / "file.txt"));
  ASSERT_TRUE(stdfs::exists(env.data / ".mephisto-db" / "journal"));
  RunResult r = mdb(env.data, env.store, {"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Rolled back an interrupted `mephisto db import`"), std::string::npos) << r.err;
  EXPECT_EQ(diff(before, describe(env.data)), "");
}

TEST(Journal, NextCommandRollsBackACrashedChange) {
  Env env;
  auto before = describe(env.data);
  pid_t pid = ::fork();
  if (pid == 0) {
    // The "import": snapshot + marker, then changes, then death without cleanup.
    mdb::AtomicChange* change = new mdb::AtomicChange(env.ctx, env.dir(), "import");
    write(env.data / "new" / "file.txt", "x");
    change->record_created("new");
    sqlite_exec(env.data / "database.db", "INSERT INTO projects(project_id, project_name) VALUES (5, 'half')");
    write(env.data / "database.db-journal", "leftover");
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(stdfs::exists(env.data / ".mephisto-db" / "journal"));

  RunResult r = mdb(env.data, env.store, {"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Rolled back an interrupted `mephisto db import`"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("_before_import"), std::string::npos) << r.err;
  EXPECT_EQ(diff(before, describe(env.data)), "");
  EXPECT_FALSE(stdfs::exists(env.data / "database.db-journal"));
  EXPECT_FALSE(stdfs::exists(env.data / ".mephisto-db" / "journal"));
  // Idempotent: nothing more to do.
  r = mdb(env.data, env.store, {"backup"});
  EXPECT_EQ(r.err.find("Rolled back"), std::string::npos) << r.err;
}

// A change interrupted under the previous binary left its marker and pin in that binary's
// formats (the marker without "data_dir" and "host", the pin without "store" and "host"): prune
// still keeps the pinned snapshot, and the next command rolls back and removes the pin.
TEST(Journal, MarkerAndPinOfThePreviousFormatStillRollBack) {
  Env env;
  auto before = describe(env.data);
  pid_t pid = ::fork();
  if (pid == 0) {
    mdb::AtomicChange* change = new mdb::AtomicChange(env.ctx, env.dir(), "import");
    write(env.data / "new" / "file.txt", "x");
    change->record_created("new");
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  stdfs::path marker = env.data / ".mephisto-db" / "journal";
  ASSERT_TRUE(stdfs::exists(marker));
  ASSERT_EQ(std::distance(stdfs::directory_iterator(env.store / "pins"), stdfs::directory_iterator()), 1);
  stdfs::path pin = stdfs::directory_iterator(env.store / "pins")->path();
  nlohmann::json m = nlohmann::json::parse(read(marker)), p = nlohmann::json::parse(read(pin));
  std::string snapshot = m["snapshot"];
  write(marker, nlohmann::ordered_json{{"store", m["store"]}, {"snapshot", snapshot}, {"command", "import"},
                                       {"pid", pid}, {"started", m["started"]}}.dump(2));
  write(pin, nlohmann::ordered_json{{"data_dir", p["data_dir"]}, {"snapshot", snapshot}, {"command", "import"},
                                    {"pid", pid}, {"started", p["started"]}}.dump(2));

  // Run for another data dir (this one's would roll back first).
  RunResult r = mdb(env.tmp / "other", env.store, {"--json", "prune", "--dry-run", "--keep-last", "1", "--keep-auto", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["kept_protected"].size(), 1u) << r.out;
  EXPECT_EQ(j["kept_protected"][0]["name"], snapshot);
  r = mdb(env.data, env.store, {"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Rolled back an interrupted `mephisto db import` (started "), std::string::npos) << r.err;
  EXPECT_EQ(diff(before, describe(env.data)), "");
  EXPECT_FALSE(stdfs::exists(marker));
  EXPECT_FALSE(stdfs::exists(pin));
}

TEST(Journal, SecondWriterFailsNamingTheHolder) {
  Env env;
  mdb::AtomicChange change(env.ctx, env.dir(), "import");
  RunResult r = mdb(env.data, env.store, {"backup"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is locked by " + std::to_string(::getpid()) + " (import since "), std::string::npos) << r.err;
  EXPECT_TRUE(stdfs::exists(env.data / ".mephisto-db" / "journal"));  // a live change keeps its marker
  change.commit();
  r = mdb(env.data, env.store, {"backup"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Work beside the snapshot that notes, when stopped, whether the data dir's lock was still held:
// another command must not take it while that work may still write into the data dir.
class LockProbe : public mdb::BesideSnapshot {
 public:
  explicit LockProbe(mdb::DataDir dir) : dir_(std::move(dir)) {}
  void start() override { started = true; }
  void stop() noexcept override {
    if (!started || stopped) return;
    stopped = true;
    lock_held_at_stop = !mdb::DataDirLock::try_take(dir_, "probe").has_value();
  }
  bool running() const noexcept override { return started && !stopped; }
  bool started = false, stopped = false, lock_held_at_stop = false;

 private:
  mdb::DataDir dir_;
};

TEST(Journal, WorkBesideAFailedSnapshotStopsBeforeTheLockGoes) {
  Env env;
  write(env.store, "not a store");  // the snapshot cannot open it
  LockProbe probe(env.dir());
  EXPECT_THROW(mdb::AtomicChange(env.ctx, env.dir(), "import", &probe), mdb::Error);
  EXPECT_TRUE(probe.started);
  EXPECT_TRUE(probe.stopped);
  EXPECT_TRUE(probe.lock_held_at_stop);
  EXPECT_TRUE(mdb::DataDirLock::try_take(env.dir(), "next").has_value()) << "the lock outlived the failed change";
}

TEST(Journal, WorkBesideAFailedMarkerStopsBeforeTheRollbackReleasesTheLock) {
  Env env;
  stdfs::create_directories(env.data / ".mephisto-db" / "journal" / "in-the-way");  // the marker cannot be written
  LockProbe probe(env.dir());
  EXPECT_THROW(mdb::AtomicChange(env.ctx, env.dir(), "import", &probe), mdb::Error);
  EXPECT_TRUE(probe.stopped);
  EXPECT_TRUE(probe.lock_held_at_stop);
  EXPECT_TRUE(mdb::DataDirLock::try_take(env.dir(), "next").has_value()) << "the lock outlived the failed change";
}

}  // namespace
}  // namespace mdb::test
