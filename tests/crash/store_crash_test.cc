// kill -9, ENOSPC, EIO and short writes at sampled fault points of backup and restore
// (store/env.h and the SQLite shim VFS share the points), a full LMDB map, a read-only
// store, and a DB written by another process during backup.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>

#include "platform/sqlite.h"
#include "tests/support/fault_trace.h"
#include "tests/support/sanitized.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

// The fault points a command passes, counted on a throwaway copy of `data` and `store`.
uint64_t count_points(const stdfs::path& data, const stdfs::path& store, const std::vector<std::string>& args) {
  TempDir t;
  copy_tree(data, t / "data");
  if (stdfs::exists(store)) copy_tree(store, t / "store");
  RunResult r = mdb(t / "data", t / "store", args, {{"MDB_FAULT_COUNT", (t / "count").string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::stoull(read(t / "count"));
}

// About a dozen points spread over 1..n (fewer in the sanitized build), always including the
// first and last ones.
std::vector<uint64_t> sample(uint64_t n) {
  std::set<uint64_t> s{1, 2, n - 1, n};
  const uint64_t inner = static_cast<uint64_t>(trials(9));
  for (uint64_t k = 1; k <= inner; ++k) s.insert(std::max<uint64_t>(1, n * k / (inner + 1)));
  return {s.begin(), s.upper_bound(n)};
}

size_t snapshot_count(const stdfs::path& data, const stdfs::path& store) {
  RunResult r = mdb(data, store, {"--json", "snapshots"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out)["snapshots"].size();
}

void expect_store_verifies(const stdfs::path& data, const stdfs::path& store) {
  RunResult r = mdb(data, store, {"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// Nothing but the data dir and the store beside them (no staging dirs, no partial files),
// and nothing but the lock in the data dir's .mephisto-db.
void expect_no_leftovers(const stdfs::path& parent) {
  for (const auto& e : stdfs::directory_iterator(parent)) {
    std::string n = e.path().filename().string();
    EXPECT_TRUE(n == "data" || n == "store") << "leftover " << e.path();
  }
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(parent / "data" / ".mephisto-db", ec))
    EXPECT_EQ(e.path().filename(), "lock") << "leftover " << e.path();
}

struct Base {
  TempDir tmp;
  stdfs::path data = tmp / "data", store = tmp / "store";
  std::string first;  // a snapshot of the original data
  Base() {
    make_data_dir(data);
    RunResult r = mdb(data, store, {"--json", "backup"});
    first = nlohmann::json::parse(r.out)["snapshot"];
    // Then some work, so the next backup has something to store.
    write(data / "data" / "runs" / "new_run" / "unit" / "agent_data.json", std::string(200000, 'a'));
    sqlite_exec(data / "database.db", "INSERT INTO projects(project_id, project_name) VALUES (42, 'later')");
    stdfs::remove(data / "readonly.txt");
  }
};

// A copy of a Base's data dir and store for one run killed at a fault point.
struct Trial {
  TempDir t;
  stdfs::path data = t / "data", store = t / "store";
  explicit Trial(const Base& base) {
    copy_tree(base.data, data);
    copy_tree(base.store, store);
  }
  void kill_at(uint64_t at, const std::vector<std::string>& args) {
    RunResult r = mdb(data, store, args, {{"MDB_FAULT", "kill@" + std::to_string(at)}});
    EXPECT_EQ(r.exit_code, -SIGKILL) << r.out << r.err;
  }
};

TEST(StoreCrash, KilledBackupLeavesNoSnapshotAndAWorkingStore) {
  Base base;
  uint64_t n = count_points(base.data, base.store, {"backup"});
  ASSERT_GT(n, 5u);
  for (uint64_t at : sample(n)) {
    SCOPED_TRACE("kill@" + std::to_string(at) + " of " + std::to_string(n));
    Trial t(base);
    auto before = describe(t.data);
    t.kill_at(at, {"backup"});
    EXPECT_EQ(snapshot_count(t.data, t.store), 1u);
    expect_store_verifies(t.data, t.store);
    EXPECT_EQ(diff(before, describe(t.data)), "");
    RunResult r = mdb(t.data, t.store, {"--json", "backup"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string second = nlohmann::json::parse(r.out)["snapshot"];
    stdfs::remove_all(t.data);
    r = mdb(t.data, t.store, {"restore", "-f", second});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(diff(before, describe(t.data)), "");
    expect_no_leftovers(t.t.path());
  }
}

// The first backup, killed at each point while it makes the store (up to its first pack): every
// command then works on the store, reading ones too (a store whose config was written but not yet
// its index had readers fail, "cannot open the store index"), and the next backup completes it.
TEST(StoreCrash, KilledWhileTheStoreIsMadeLeavesNoStoreOrAnEmptyOne) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  make_data_dir(data);
  RunResult traced = mdb(data, tmp / "traced", {"backup"}, {{"MDB_FAULT_TRACE", (tmp / "trace").string()}});
  ASSERT_EQ(traced.exit_code, 0) << traced.err;
  uint64_t first_pack = 0;
  for (const FaultPoint& p : read_fault_trace(tmp / "trace"))
    if (!first_pack && p.path.find("/traced/packs/") != std::string::npos) first_pack = p.n;
  ASSERT_GT(first_pack, 3u);
  for (uint64_t at = 1; at <= first_pack; ++at) {
    SCOPED_TRACE("kill@" + std::to_string(at));
    stdfs::path store = tmp / ("store" + std::to_string(at));
    RunResult r = mdb(data, store, {"backup"}, {{"MDB_FAULT", "kill@" + std::to_string(at)}});
    ASSERT_EQ(r.exit_code, -SIGKILL) << r.out << r.err;
    bool made = stdfs::exists(store / "config");
    r = mdb(data, store, {"--json", "snapshots"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    r = mdb(data, store, {"verify"});
    if (made)
      EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    else
      EXPECT_NE(r.err.find("There is no store at"), std::string::npos) << r.out << r.err;
    r = mdb(data, store, {"backup"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(snapshot_count(data, store), 1u);
    expect_store_verifies(data, store);
  }
}

TEST(StoreCrash, KilledRestoreLeavesTheOldOrTheNewTree) {
  Base base;
  auto old_tree = describe(base.data);
  TempDir scratch;
  copy_tree(base.data, scratch / "data");
  copy_tree(base.store, scratch / "store");
  RunResult r = mdb(scratch / "data", scratch / "store", {"restore", "-f", base.first});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto new_tree = describe(scratch / "data");
  ASSERT_NE(diff(old_tree, new_tree), "");

  uint64_t n = count_points(base.data, base.store, {"restore", "-f", base.first});
  ASSERT_GT(n, 10u);
  for (uint64_t at : sample(n)) {
    SCOPED_TRACE("kill@" + std::to_string(at) + " of " + std::to_string(n));
    Trial t(base);
    t.kill_at(at, {"restore", "-f", base.first});
    auto now = describe(t.data);
    EXPECT_TRUE(diff(now, old_tree).empty() || diff(now, new_tree).empty()) << diff(now, old_tree);
    // The next command finishes the job: rollback of a started change, leftovers removed.
    r = mdb(t.data, t.store, {"backup"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    now = describe(t.data);
    EXPECT_TRUE(diff(now, old_tree).empty() || diff(now, new_tree).empty()) << diff(now, old_tree);
    EXPECT_FALSE(stdfs::exists(t.data / ".mephisto-db" / "journal"));
    expect_no_leftovers(t.t.path());
    expect_store_verifies(t.data, t.store);
  }
}

// A data dir that is a mount point cannot be swapped as a whole: restore builds inside
// .mephisto-db/ and swaps entry by entry under the journal marker.
TEST(StoreCrash, MountPointDataDirIsSwappedEntryByEntry) {
  Base base;
  auto old_tree = describe(base.data);
  std::map<std::string, Node> new_tree;
  {
    TempDir ref;
    copy_tree(base.store, ref / "store");
    ASSERT_EQ(mdb(ref / "data", ref / "store", {"restore", "-f", base.first}).exit_code, 0);
    new_tree = describe(ref / "data");
  }
  uint64_t n = count_points(base.data, base.store, {"restore", "-f", base.first});
  std::vector<uint64_t> points = sample(n);
  points.insert(points.begin(), 0);  // 0: no fault
  for (uint64_t at : points) {
    SCOPED_TRACE("kill@" + std::to_string(at));
    TempDir t;
    auto mnt = Mount::tmpfs(t / "data");  // fails the test with the reason when it cannot mount
    ASSERT_EQ(run("/bin/sh", {"-c", "cp -a '" + base.data.string() + "/.' '" + (t / "data").string() + "'"}).exit_code,
              0);
    copy_tree(base.store, t / "store");
    std::map<std::string, std::string> env;
    if (at) env["MDB_FAULT"] = "kill@" + std::to_string(at);
    RunResult r = mdb(t / "data", t / "store", {"restore", "-f", base.first}, env);
    EXPECT_EQ(r.exit_code, at ? -SIGKILL : 0) << r.err;
    ASSERT_EQ(mdb(t / "data", t / "store", {"backup"}).exit_code, 0);  // recovers if needed
    auto now = describe(t / "data");
    if (at == 0)
      EXPECT_EQ(diff(new_tree, now), "");
    else
      EXPECT_TRUE(diff(now, old_tree).empty() || diff(now, new_tree).empty()) << diff(now, old_tree);
    EXPECT_TRUE(is_mount_point(t / "data"));
    EXPECT_EQ(std::distance(stdfs::directory_iterator(t / "data" / ".mephisto-db"), {}), 1)
        << "only the lock file is left in .mephisto-db: " << [&] {
             std::string names;
             for (const auto& e : stdfs::directory_iterator(t / "data" / ".mephisto-db"))
               names += e.path().filename().string() + " ";
             return names;
           }();
  }
}

TEST(StoreCrash, KilledPruneKeepsEveryKeptSnapshotIntact) {
  Base base;
  auto second_tree = describe(base.data);
  RunResult r = mdb(base.data, base.store, {"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string second = nlohmann::json::parse(r.out)["snapshot"];
  uint64_t n = count_points(base.data, base.store, {"prune", "--keep-last", "1"});
  ASSERT_GT(n, 3u);
  for (uint64_t at : sample(n)) {
    SCOPED_TRACE("kill@" + std::to_string(at) + " of " + std::to_string(n));
    Trial t(base);
    t.kill_at(at, {"prune", "--keep-last", "1"});
    expect_store_verifies(t.data, t.store);
    ASSERT_EQ(mdb(t.data, t.store, {"prune", "--keep-last", "1"}).exit_code, 0);
    expect_store_verifies(t.data, t.store);
    EXPECT_EQ(snapshot_count(t.data, t.store), 1u);
    ASSERT_EQ(mdb(t.t / "restored", t.store, {"restore", "-f", second}).exit_code, 0);
    EXPECT_EQ(diff(second_tree, describe(t.t / "restored")), "");
  }
}

TEST(StoreFaults, InjectedErrorsFailCleanly) {
  Base base;
  uint64_t nb = count_points(base.data, base.store, {"backup"});
  uint64_t nr = count_points(base.data, base.store, {"restore", "-f", base.first});
  auto before = describe(base.data);
  for (const char* kind : {"enospc", "eio", "short"}) {
    for (const auto& [args, n] : {std::pair{std::vector<std::string>{"backup"}, nb},
                                  std::pair{std::vector<std::string>{"restore", "-f", base.first}, nr}}) {
      for (uint64_t at : sample(n)) {
        SCOPED_TRACE(std::string(kind) + "@" + std::to_string(at) + " in " + args[0]);
        TempDir t;
        copy_tree(base.data, t / "data");
        copy_tree(base.store, t / "store");
        RunResult r = mdb(t / "data", t / "store", args, {{"MDB_FAULT", std::string(kind) + "@" + std::to_string(at)}});
        if (r.exit_code == 0) continue;  // the point was a best-effort step (cleanup): fine
        EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
        EXPECT_NE(r.err.find("Error: "), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
        mdb(t / "data", t / "store", {"snapshots"});  // runs no recovery; then a data dir command does
        ASSERT_EQ(mdb(t / "data", t / "store", {"backup"}).exit_code, 0);
        EXPECT_EQ(diff(before, describe(t / "data")), "");
        expect_store_verifies(t / "data", t / "store");
        expect_no_leftovers(t.path());
      }
    }
  }
}

TEST(StoreFaults, FullIndexMapFailsCleanly) {
  TempDir t;
  make_data_dir(t / "data");
  auto before = describe(t / "data");
  RunResult r = mdb(t / "data", t / "store", {"backup"}, {{"MDB_INDEX_MAP_SIZE", "16384"}});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("is full"), std::string::npos) << r.err;
  EXPECT_EQ(diff(before, describe(t / "data")), "");
  r = mdb(t / "data", t / "store", {"backup"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_store_verifies(t / "data", t / "store");
}

TEST(StoreFaults, ReadOnlyStoreFailsCleanly) {
  TempDir t;
  make_data_dir(t / "data");
  ASSERT_EQ(mdb(t / "data", t / "store", {"backup"}).exit_code, 0);
  auto data_before = describe(t / "data");
  auto store_before = tree(t / "store");
  // Root ignores permission bits: run as nobody, who may write the data dir but not the store.
  bool root = ::geteuid() == 0;
  if (root) {
    ASSERT_EQ(run("/bin/chown", {"-R", "nobody", (t / "data").string()}).exit_code, 0);
    stdfs::permissions(t.path(), stdfs::perms(0755));
  } else {
    run("/bin/chmod", {"-R", "a-w", (t / "store").string()});
  }
  std::vector<std::string> args = {mephisto_binary().string(),
                                   "--data-dir",
                                   (t / "data").string(),
                                   "--store",
                                   (t / "store").string(),
                                   "db",
                                   "backup"};
  RunResult r = root ? run("/usr/sbin/runuser",
                           [&] {
                             std::vector<std::string> a = {"-u", "nobody", "--"};
                             a.insert(a.end(), args.begin(), args.end());
                             return a;
                           }())
                     : run(args[0], {args.begin() + 1, args.end()});
  if (!root) run("/bin/chmod", {"-R", "u+w", (t / "store").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("is not writable"), std::string::npos) << r.err;
  EXPECT_EQ(tree(t / "store"), store_before);
  EXPECT_EQ(diff(data_before, describe(t / "data")), "");
}

TEST(StoreConsistency, BackupOfADatabaseBeingWritten) {
  TempDir t;
  stdfs::path data = t / "data", store = t / "store";
  make_data_dir(data);
  sqlite_exec(data / "database.db", "CREATE TABLE stress(id INTEGER PRIMARY KEY, txn INTEGER)");
  pid_t writer = ::fork();
  if (writer == 0) {
    // Each transaction inserts two rows: a consistent copy always holds an even count.
    sql::Db db = sql::Db::open(data / "database.db");
    for (int64_t txn = 0;; ++txn) {
      sql::Transaction tx(db);
      for (int i = 0; i < 2; ++i) db.prepare("INSERT INTO stress(txn) VALUES (?1)").bind(1, txn).run();
      tx.commit();
      ::usleep(500);
    }
  }
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) {
    ::usleep(50'000);
    RunResult r = mdb(data, store, {"--json", "backup"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    names.push_back(nlohmann::json::parse(r.out)["snapshot"]);
  }
  ::kill(writer, SIGKILL);
  ::waitpid(writer, nullptr, 0);
  int64_t last = -1;
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    stdfs::path copy = t / ("restored-" + name);
    ASSERT_EQ(mdb(copy, store, {"restore", "-f", name}).exit_code, 0);
    sql::Db db = sql::Db::open_readonly(copy / "database.db");
    EXPECT_EQ(db.query_value("PRAGMA integrity_check").to_string(), "ok");
    int64_t rows = db.query_value("SELECT count(*) FROM stress").i;
    int64_t txns = db.query_value("SELECT count(DISTINCT txn) FROM stress").i;
    EXPECT_EQ(rows, 2 * txns);
    EXPECT_EQ(db.query_value("SELECT coalesce(max(txn) + 1, 0) FROM stress").i, txns);
    EXPECT_GE(rows, last);
    last = rows;
  }
  EXPECT_GT(last, 0);
}

}  // namespace
}  // namespace mdb::test
