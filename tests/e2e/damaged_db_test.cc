// Damaged and busy databases through the real binary, for every command (docs/ARCHITECTURE.md
// "Damaged and busy databases"): a Mephisto DB that is not SQLite, one another process has
// locked, one that lacks a table. Each command refuses, warns or goes ahead as the policy table
// says; a refusal exits 1 naming the file, and nothing is changed.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include "tests/support/testenv.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// tree() without our `.mephisto-db/` (a command that runs rewrites its lock file).
std::map<std::string, std::string> user_tree(const stdfs::path& root) {
  std::map<std::string, std::string> out = tree(root);
  std::erase_if(out, [](const auto& e) { return e.first.rfind(".mephisto-db", 0) == 0; });
  return out;
}

enum class Expect { Refuse, Warn, Quiet, Restores };

struct Command {
  std::string name;
  std::vector<std::string> args;  // after `db`
};

// The original's s1 data dir, a store holding one backup of it, and a dump of it to import.
class Damage : public ::testing::Test {
 protected:
  void SetUp() override {
    unzip_to(fixtures() / "s1_realistic_export/backups/2026_11_25_15_40_27_mephisto_backup.zip", data_);
    intact_ = logical_tree(data_);
    RunResult b = mdb(data_, store_, {"backup"});
    ASSERT_EQ(b.exit_code, 0) << b.err;
    snapshot_ = after(b.out, "saved to snapshot: ");
    RunResult e = mdb(data_, store_, {"export"});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    dump_ = after(e.out, "saved to file: ");
  }

  static std::string after(const std::string& out, const std::string& marker) {
    size_t pos = out.find(marker);
    if (pos == std::string::npos) return "";
    pos += marker.size();
    return out.substr(pos, out.find('\n', pos) - pos);
  }

  // Every command, restore last (it replaces the damaged data dir when it goes ahead).
  std::vector<Command> commands() const {
    return {{"export", {"export"}},
            {"export -del", {"export", "-del"}},
            {"import", {"import", "-f", dump_}},
            {"backup", {"backup"}},
            {"snapshots", {"snapshots"}},
            {"verify", {"verify"}},
            {"prune", {"prune", "--keep-last", "10"}},
            {"restore", {"restore", "-f", snapshot_}}};
  }

  // Leaves `db` as a program writing it leaves it when it stops inside a transaction: pages of
  // the transaction spilled into the file (cache_size 1), the originals in a hot journal. Returns
  // the data dir's logical tree as last committed.
  std::map<std::string, std::string> leave_a_hot_journal(const stdfs::path& db) {
    sqlite_exec(db, "CREATE TABLE pad(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "
                    "INSERT INTO pad SELECT randomblob(4000) FROM n");
    auto committed = logical_tree(data_);
    pid_t pid = fork();
    EXPECT_GE(pid, 0);
    if (pid == 0) {
      sqlite3* c = nullptr;
      sqlite3_open(db.c_str(), &c);
      sqlite3_exec(c, "PRAGMA cache_size = 1; BEGIN IMMEDIATE; UPDATE pad SET x = randomblob(4000); "
                      "UPDATE units SET status = 'stopped'", nullptr, nullptr, nullptr);
      _exit(0);
    }
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    stdfs::path journal = db.string() + "-journal";
    EXPECT_TRUE(stdfs::exists(journal));
    EXPECT_GT(stdfs::file_size(journal), 300u * 4000u);
    return committed;
  }

  size_t snapshot_count() {
    RunResult r = mdb(data_, store_, {"snapshots"});
    return static_cast<size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
  }

  // Runs each command on the damaged data dir and checks it did what `expect` says of it.
  void check(const std::string& file, const std::string& words,
             const std::function<Expect(const std::string&)>& expect) {
    std::string path = (data_ / file).string();
    for (const Command& c : commands()) {
      SCOPED_TRACE(c.name);
      auto before = tree(data_);
      auto user_before = user_tree(data_);
      size_t snapshots = snapshot_count();
      RunResult r = mdb(data_, store_, c.args);
      switch (expect(c.name)) {
        case Expect::Refuse:
          EXPECT_EQ(r.exit_code, 1) << r.err;
          EXPECT_TRUE(contains(r.err, "The database " + path + " ")) << r.err;
          EXPECT_TRUE(contains(r.err, words)) << r.err;
          EXPECT_EQ(changed_paths(before, tree(data_)), "");
          EXPECT_EQ(snapshot_count(), snapshots);
          break;
        case Expect::Warn:
        case Expect::Quiet:
          EXPECT_EQ(r.exit_code, 0) << r.err;
          EXPECT_EQ(contains(r.err, "Warning: The database " + path + " "), expect(c.name) == Expect::Warn) << r.err;
          if (expect(c.name) == Expect::Warn) {
            EXPECT_TRUE(contains(r.err, words)) << r.err;
          }
          EXPECT_EQ(changed_paths(user_before, user_tree(data_)), "");
          break;
        case Expect::Restores:
          EXPECT_EQ(r.exit_code, 0) << r.err;
          EXPECT_TRUE(contains(r.err, "Warning: The database " + path + " ")) << r.err;
          EXPECT_EQ(changed_paths(intact_, logical_tree(data_)), "");
          EXPECT_EQ(snapshot_count(), snapshots + 1);  // the damaged data, saved first
          break;
      }
    }
  }

  TempDir tmp_;
  stdfs::path data_ = tmp_ / "data";
  stdfs::path store_ = tmp_ / "store";
  std::map<std::string, std::string> intact_;
  std::string snapshot_, dump_;
};

// What every command does with a damaged database: the commands that need it refuse, restore
// replaces it, the store-only commands warn.
Expect on_damage(const std::string& command) {
  if (command == "restore") return Expect::Restores;
  if (command == "snapshots" || command == "verify" || command == "prune") return Expect::Warn;
  return Expect::Refuse;
}

TEST_F(Damage, DatabaseThatIsNotSqlite) {
  write(data_ / "database.db", std::string(4096, 'x'));
  check("database.db", "cannot be read as SQLite (file is not a database)", on_damage);
}

TEST_F(Damage, DatabaseWithATableMissing) {
  sqlite_exec(data_ / "database.db", "DROP TABLE onboarding_agents");
  check("database.db", "lacks the table onboarding_agents that Mephisto creates in it", on_damage);
}

TEST_F(Damage, DatastoreWithATableMissing) {
  sqlite_exec(data_ / "prolific/prolific.db", "DROP TABLE participant_groups");
  check("prolific/prolific.db", "lacks the table participant_groups", on_damage);
}

// Another process holds the DB so that no one else may read it: every command that needs it
// refuses; the store-only commands do not wait for it.
TEST_F(Damage, DatabaseLockedByAnotherProcess) {
  SqliteLock lock(data_ / "database.db", "BEGIN EXCLUSIVE");
  check("database.db", "is in use by another process", [](const std::string& command) {
    bool store_only = command == "snapshots" || command == "verify" || command == "prune";
    return store_only ? Expect::Quiet : Expect::Refuse;
  });
}

// A write transaction held open elsewhere stops the commands that write (import, export -del,
// restore) before they change anything; reading (export, backup) sees its last commit.
TEST_F(Damage, WriteTransactionOfAnotherProcess) {
  SqliteLock lock(data_ / "database.db", "BEGIN IMMEDIATE; DELETE FROM requesters");
  check("database.db", "is in use by another process", [](const std::string& command) {
    bool writes = command == "import" || command == "export -del" || command == "restore";
    return writes ? Expect::Refuse : Expect::Quiet;
  });
}

// A program writing the Mephisto DB stopped inside a transaction (killed, a power cut): the DB
// file holds some of its pages and a hot journal the originals. That is no damage: the store-only
// commands warn; backup rolls the journal back, as SQLite does for every reader that may write, and
// saves the last commit.
TEST_F(Damage, HotJournalOfAWriterThatStopped) {
  stdfs::path db = data_ / "database.db";
  auto committed = leave_a_hot_journal(db);
  stdfs::path journal = data_ / "database.db-journal";

  // A command that does not need the databases only warns, and leaves the journal to whoever reads next.
  RunResult s = mdb(data_, store_, {"snapshots"});
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_TRUE(contains(s.err, "Warning: The database " + db.string() + " has a hot journal")) << s.err;
  EXPECT_FALSE(contains(s.err, "damaged")) << s.err;
  EXPECT_TRUE(stdfs::exists(journal));

  RunResult b = mdb(data_, store_, {"backup"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_FALSE(stdfs::exists(journal));  // rolled back
  EXPECT_EQ(changed_paths(committed, logical_tree(data_)), "");
  stdfs::path restored = tmp_ / "restored";
  RunResult r = mdb(data_, store_, {"restore", "-f", after(b.out, "saved to snapshot: "), "--target", restored.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(changed_paths(committed, logical_tree(restored)), "");
}

// The same hot journal, for a user who may read the data dir but not write it (root may write
// anything, so the command runs as nobody): SQLite cannot roll the journal back for that user, so
// the command cannot read the last commit. export refuses, says why and what to do, and leaves
// the journal and every file as they were.
TEST_F(Damage, AHotJournalThisUserMayNotRollBackIsRefused) {
  ASSERT_EQ(::geteuid(), 0u) << "needs root, as CI runs, to run the command as another user";
  stdfs::path db = data_ / "database.db";
  leave_a_hot_journal(db);
  auto before = tree(data_);
  stdfs::permissions(tmp_.path(), stdfs::perms(0755));
  stdfs::path outputs = tmp_ / "outputs-of-nobody";
  stdfs::create_directories(outputs);
  ASSERT_EQ(run("/bin/chown", {"nobody", outputs.string()}).exit_code, 0);
  RunResult r = run("/usr/sbin/runuser", {"-u", "nobody", "--", mephisto_binary().string(), "--data-dir",
                                          data_.string(), "--outputs-dir", outputs.string(), "db", "export"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "The database " + db.string() + " has a hot journal")) << r.err;
  EXPECT_TRUE(contains(r.err, "this user may not write that file")) << r.err;
  EXPECT_EQ(tree(data_), before);
  EXPECT_TRUE(stdfs::is_empty(outputs)) << "a refused export wrote nothing";
}

}  // namespace
}  // namespace mdb::test
