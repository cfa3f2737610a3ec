// Mount points in and at the data dir, one-filesystem tree removal, the trash that restore
// deletes before it says "Finished successfully", and the recovery the read-only commands run
// first (docs/mounts.md). These tests mount (bind and tmpfs) and so run as root, as CI does.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "datadir/journal.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

// A data dir, a store, and a directory "elsewhere" (outside the data dir) full of files.
struct Dirs {
  TempDir tmp;
  stdfs::path data = tmp / "data", store = tmp / "store", elsewhere = tmp / "elsewhere";
  Dirs() {
    make_data_dir(data);
    for (int i = 0; i < 20; ++i) write(elsewhere / "runs" / ("f" + std::to_string(i)), "outside " + std::to_string(i));
  }
  std::string backup() {
    RunResult r = mdb(data, store, {"--json", "backup"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out)["snapshot"];
  }
};

size_t count_files(const stdfs::path& dir) {
  size_t n = 0;
  for (const auto& e : stdfs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

// Everything beside the data dir and the store (staging dirs, old trees).
std::vector<std::string> strays(const stdfs::path& parent) {
  std::vector<std::string> out;
  for (const auto& e : stdfs::directory_iterator(parent)) {
    std::string n = e.path().filename().string();
    if (n != "data" && n != "store" && n != "elsewhere" && n != "outputs") out.push_back(n);
  }
  return out;
}

TEST(Mounts, RestoreRefusesABindMountInsideTheDataDirBeforeChangingAnything) {
  Dirs d;
  std::string snap = d.backup();
  write(d.data / "later.txt", "after the backup");
  stdfs::create_directories(d.data / "mnt");
  auto outside = tree(d.elsewhere);
  auto m = Mount::bind(d.elsewhere, d.data / "mnt");
  auto before = describe(d.data);

  RunResult r = mdb(d.data, d.store, {"restore", "-f", snap});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find((d.data / "mnt").string() + " is a mount point inside the data directory"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Nothing was changed."), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("Started restoring"), std::string::npos) << "refused before it starts: " << r.out;
  EXPECT_TRUE(is_mount_point(d.data / "mnt"));
  EXPECT_EQ(tree(d.elsewhere), outside);
  EXPECT_EQ(diff(before, describe(d.data)), "");
  EXPECT_EQ(strays(d.tmp.path()), std::vector<std::string>{});
  // Later commands work and leave the mount's files alone.
  r = mdb(d.data, d.store, {"backup"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tree(d.elsewhere), outside);
}

TEST(Mounts, RestoreRefusesATmpfsDataFolderNamingIt) {
  Dirs d;
  std::string snap = d.backup();
  stdfs::rename(d.data / "data", d.tmp / "data-files");
  auto m = Mount::tmpfs(d.data / "data");
  ASSERT_EQ(run("/bin/sh", {"-c", "cp -a '" + (d.tmp / "data-files").string() + "/.' '" + (d.data / "data").string() +
                                      "'"})
                .exit_code,
            0);
  auto before = describe(d.data);
  RunResult r = mdb(d.data, d.store, {"restore", "-f", snap, "--only", "data"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find((d.data / "data").string() + " is a mount point inside the data directory"), std::string::npos)
      << r.err;
  EXPECT_TRUE(is_mount_point(d.data / "data"));
  EXPECT_EQ(diff(before, describe(d.data)), "");
}

// The state the old restore left: its old tree beside the data dir, holding the bind mount.
// The next command sweeps that leftover without entering the mount, and says so.
TEST(Mounts, LeftoverHoldingAMountIsNeverEmptied) {
  Dirs d;
  stdfs::path stale = d.tmp / ".data.mdb-restore-99999999-abcdef";
  write(stale / "database.db", "old");
  write(stale / "data" / "runs" / "x", "old run file");
  stdfs::create_directories(stale / "data" / "mnt");
  stdfs::create_symlink(d.elsewhere, stale / "link-to-elsewhere");
  auto outside = tree(d.elsewhere);
  auto m = Mount::bind(d.elsewhere, stale / "data" / "mnt");

  for (const char* cmd : {"backup", "snapshots"}) {
    RunResult r = mdb(d.data, d.store, {cmd});
    EXPECT_EQ(r.exit_code, 0) << cmd << r.err;
    EXPECT_NE(r.err.find("left the mount point " + (stale / "data" / "mnt").string() + " in place"), std::string::npos)
        << cmd << r.err;
    EXPECT_EQ(tree(d.elsewhere), outside) << cmd;
    EXPECT_TRUE(is_mount_point(stale / "data" / "mnt")) << cmd;
  }
  // Everything else of the leftover is gone; the symlink was removed, not followed.
  EXPECT_FALSE(stdfs::exists(stale / "database.db"));
  EXPECT_FALSE(stdfs::exists(stale / "data" / "runs"));
  EXPECT_FALSE(stdfs::exists(stale / "link-to-elsewhere"));
}

// A mount inside a trash dir a killed command left: emptied around the mount, never inside it.
TEST(Mounts, TrashHoldingAMountIsNeverEmptied) {
  Dirs d;
  stdfs::path trash = d.data / ".mephisto-db" / "trash-99999999";
  write(trash / "old" / "database.db", "old");
  stdfs::create_directories(trash / "old" / "mnt");
  auto outside = tree(d.elsewhere);
  auto m = Mount::bind(d.elsewhere, trash / "old" / "mnt");
  RunResult r = mdb(d.data, d.store, {"verify"});
  EXPECT_NE(r.err.find("left the mount point " + (trash / "old" / "mnt").string() + " in place"), std::string::npos)
      << r.err;
  EXPECT_EQ(tree(d.elsewhere), outside);
  EXPECT_FALSE(stdfs::exists(trash / "old" / "database.db"));
}

// A data dir that is itself a bind mount of a directory on the same filesystem (st_dev equal):
// restored in place, entry by entry; the mount stays.
TEST(Mounts, BindMountedDataDirIsRestoredInPlace) {
  Dirs d;
  std::string snap = d.backup();
  auto snap_tree = describe(d.data);
  stdfs::rename(d.data, d.tmp / "real-data");
  stdfs::create_directories(d.data);
  auto m = Mount::bind(d.tmp / "real-data", d.data);
  write(d.data / "later.txt", "after the backup");
  RunResult r = mdb(d.data, d.store, {"restore", "-f", snap});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(is_mount_point(d.data));
  EXPECT_EQ(diff(snap_tree, describe(d.data)), "");
  EXPECT_EQ(diff(snap_tree, describe(d.tmp / "real-data")), "");  // written through the mount
  EXPECT_EQ(strays(d.tmp.path()), std::vector<std::string>{"real-data"});
}

// restore says "Finished successfully" only once the replaced tree is deleted: nothing of it is
// left when it exits, and on a terminal the deletion shows a progress bar before that line.
TEST(RestoreTrash, FinishedOnlyAfterTheReplacedTreeIsDeleted) {
  Dirs d;
  std::string snap = d.backup();
  for (int i = 0; i < 50; ++i) write(d.data / "data" / "runs" / "later" / std::to_string(i), "x");
  RunResult r = run_on_a_terminal(
      {"--data-dir", d.data.string(), "--store", d.store.string(), "-y", "db", "restore", "-f", snap});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const std::string& out = r.out;
  size_t bar = out.find("Removing the replaced files [##############################] 100%");
  size_t finished = out.find("Finished successfully");
  ASSERT_NE(bar, std::string::npos) << out;
  ASSERT_NE(finished, std::string::npos) << out;
  EXPECT_LT(bar, finished) << out;
  EXPECT_EQ(strays(d.tmp.path()), std::vector<std::string>{});
  for (const auto& e : stdfs::directory_iterator(d.data / ".mephisto-db"))
    EXPECT_EQ(e.path().filename(), "lock") << "leftover " << e.path();
}

// The fault point number (1-based) of the first traced operation `op` on a path containing
// `needle` in a trace written with MDB_FAULT_TRACE (lock lines are not fault points).
uint64_t point_of(const stdfs::path& trace, const std::string& op, const std::string& needle) {
  std::ifstream in(trace);
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) {
    if (line.rfind("lock\t", 0) == 0 || line.rfind("unlock\t", 0) == 0) continue;
    ++n;
    if (line.rfind(op + "\t", 0) == 0 && line.find(needle) != std::string::npos) return n;
  }
  return 0;
}

// Killed while deleting the replaced tree: it waits in .mephisto-db/trash-XXXXXX, and the next
// command of any kind (here a read-only one) finishes the deletion.
TEST(RestoreTrash, KilledWhileDeletingTheNextCommandFinishes) {
  Dirs d;
  std::string snap = d.backup();
  auto snap_tree = describe(d.data);
  for (int i = 0; i < 50; ++i) write(d.data / "data" / "runs" / "later" / std::to_string(i), "x");
  TempDir scratch;
  copy_tree(d.data, scratch / "data");
  copy_tree(d.store, scratch / "store");
  ASSERT_EQ(mdb(scratch / "data", scratch / "store", {"restore", "-f", snap},
                {{"MDB_FAULT_TRACE", (scratch / "trace").string()}})
                .exit_code,
            0);
  uint64_t at = point_of(scratch / "trace", "remove", "/.mephisto-db/trash-");
  ASSERT_GT(at, 0u) << read(scratch / "trace");

  RunResult r = mdb(d.data, d.store, {"restore", "-f", snap}, {{"MDB_FAULT", "kill@" + std::to_string(at)}});
  ASSERT_EQ(r.exit_code, -SIGKILL) << r.out << r.err;
  EXPECT_EQ(r.out.find("Finished successfully"), std::string::npos) << r.out;
  EXPECT_EQ(diff(snap_tree, describe(d.data)), "");
  std::vector<stdfs::path> trash;
  for (const auto& e : stdfs::directory_iterator(d.data / ".mephisto-db"))
    if (e.path().filename().string().rfind("trash-", 0) == 0) trash.push_back(e.path());
  ASSERT_EQ(trash.size(), 1u);
  EXPECT_GT(count_files(trash[0]), 50u);

  r = mdb(d.data, d.store, {"snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(stdfs::exists(trash[0]));
  EXPECT_EQ(diff(snap_tree, describe(d.data)), "");
}

// A change that died mid-way (snapshot and marker written, stray run files and a DB row added):
// each read-only command rolls it back first, as every command does.
TEST(ReadOnlyCommands, RollBackAnInterruptedChangeFirst) {
  for (std::vector<std::string> cmd : {std::vector<std::string>{"snapshots"}, {"verify"}, {"prune", "--keep-last", "5"},
                                       {"--json", "snapshots"}}) {
    SCOPED_TRACE(cmd[0] + " " + cmd.back());
    Dirs d;
    auto before = describe(d.data);
    pid_t pid = ::fork();
    if (pid == 0) {
      mdb::Console console(true, true);  // quiet
      mdb::Context ctx(mdb::GlobalOptions{d.data.string(), (d.tmp / "outputs").string(), d.store.string(), false,
                                            true},
                        console);
      new mdb::AtomicChange(ctx, mdb::DataDir(d.data), "import");  // dies without commit or undo
      for (int i = 0; i < 92; ++i) write(d.data / "data" / "runs" / "stray" / std::to_string(i), "stray");
      sqlite_exec(d.data / "database.db", "INSERT INTO projects(project_id, project_name) VALUES (5, 'half')");
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(stdfs::exists(d.data / ".mephisto-db" / "journal"));

    RunResult r = mdb(d.data, d.store, cmd);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.err.find("Rolled back an interrupted `mephisto db import`"), std::string::npos) << r.err;
    EXPECT_FALSE(stdfs::exists(d.data / ".mephisto-db" / "journal"));
    EXPECT_FALSE(stdfs::exists(d.data / "data" / "runs" / "stray"));
    EXPECT_EQ(diff(before, describe(d.data)), "");
    if (cmd[0] == "--json") {
      EXPECT_EQ(nlohmann::json::parse(r.out)["snapshots"].size(), 1u) << r.out;
    }
  }
}

// A rollback that cannot run (its snapshot is gone) does not stop the read-only commands: they
// warn, keep the marker, and still do their work.
TEST(ReadOnlyCommands, FailedRecoveryIsAWarning) {
  Dirs d;
  d.backup();
  write(d.data / ".mephisto-db" / "journal",
        "{\"store\": \"" + d.store.string() + "\", \"snapshot\": \"no-such-snapshot\", \"command\": \"import\"}\n");
  RunResult r = mdb(d.data, d.store, {"--json", "snapshots"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Warning: could not finish what an interrupted command left"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["snapshots"].size(), 1u) << r.out;
  EXPECT_TRUE(stdfs::exists(d.data / ".mephisto-db" / "journal"));
  r = mdb(d.data, d.store, {"backup"});  // a writer stops
  EXPECT_EQ(r.exit_code, 1) << r.err;
}

}  // namespace
}  // namespace mdb::test
