// Bad data dirs and config files through the real binary (issue 2, "Bad input"): one clear
// message naming the path and what is wrong, exit 1, nothing created or changed.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/testenv.h"

namespace mdb::test {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Commands that read the data dir, with the arguments they need to get that far.
const std::vector<std::vector<std::string>> kDataDirCommands = {
    {"export"}, {"backup"}, {"import", "-f", "/nonexistent.zip"}};

// A small real data dir: the original's s1 backup unpacked.
void make_data_dir(const stdfs::path& dir) {
  unzip_to(fixtures() / "s1_realistic_export/backups/2026_11_25_15_40_27_mephisto_backup.zip", dir);
}

TEST(BadInput, MissingDataDirIsNamedAndNothingIsCreated) {
  TempDir root;
  stdfs::path missing = root / "no-such-data";
  for (auto cmd : kDataDirCommands) {
    std::vector<std::string> args = {"--data-dir", missing.string(), "-y", "db"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    RunResult r = run_mephisto(args);
    EXPECT_EQ(r.exit_code, 1) << cmd[0] << ": " << r.err;
    if (cmd[0] != "import") {
      EXPECT_TRUE(contains(r.err, missing.string())) << cmd[0] << ": " << r.err;
    }
    EXPECT_TRUE(stdfs::is_empty(root.path())) << cmd[0] << " created something";
  }
}

TEST(BadInput, DataDirThatIsAFile) {
  TempDir root;
  write(root / "data", "not a directory");
  RunResult r = run_mephisto({"--data-dir", (root / "data").string(), "db", "backup"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, (root / "data").string())) << r.err;
  EXPECT_EQ(read(root / "data"), "not a directory");
}

TEST(BadInput, UnreadableDataDir) {
  TempDir root;
  make_data_dir(root / "data");
  stdfs::permissions(root / "data", stdfs::perms::none);
  std::vector<std::string> args = {mephisto_binary().string(), "--data-dir", (root / "data").string(), "db", "export"};
  // Root reads every directory: then the command runs as nobody.
  if (::geteuid() == 0) args.insert(args.begin(), {"/usr/sbin/runuser", "-u", "nobody", "--"});
  RunResult r = run(args[0], {args.begin() + 1, args.end()});
  stdfs::permissions(root / "data", stdfs::perms::owner_all);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, (root / "data").string())) << r.err;
  EXPECT_FALSE(stdfs::exists(root / "outputs"));
}

TEST(BadInput, ConfigFileThatDoesNotParse) {
  TempDir home;
  write(home / ".mephisto/config.yml", "core:\n  main_data_directory: [unclosed\n");
  RunResult r = run_mephisto({"db", "export"}, "", {{"HOME", home.path().string()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, (home / ".mephisto/config.yml").string())) << r.err;
  // Where the parser found the list unclosed: the end of the file (Python's yaml says the same).
  EXPECT_TRUE(contains(r.err, (home / ".mephisto/config.yml").string() + ": line 3")) << r.err;
}

TEST(BadInput, NoDataDirConfiguredSaysHowToSetOne) {
  TempDir home;
  RunResult r = run_mephisto({"db", "backup"}, "", {{"HOME", home.path().string()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "--data-dir")) << r.err;
  EXPECT_TRUE(stdfs::is_empty(home.path()));
}

TEST(BadInput, DataDirFromConfigIsUsed) {
  TempDir home;
  make_data_dir(home / "data");
  write(home / ".mephisto/config.yml", "core:\n  main_data_directory: " + (home / "data").string() + "\n");
  RunResult r = run_mephisto({"db", "export"}, "", {{"HOME", home.path().string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(stdfs::exists(home / "outputs" / "export")) << r.out;
}

// Damaged and busy databases, for every command: damaged_db_test.cc.

TEST(BadInput, StoreCommandsWithoutAStoreCreateNothing) {
  TempDir root;
  make_data_dir(root / "data");
  auto before = tree(root.path());
  for (std::vector<std::string> cmd : {std::vector<std::string>{"prune", "--keep-last", "1"}, {"verify"}, {"restore", "-f", "2026"}}) {
    std::vector<std::string> args = {"--data-dir", (root / "data").string(), "-y", "db"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    RunResult r = run_mephisto(args);
    EXPECT_EQ(r.exit_code, 1) << cmd[0] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, (root / "outputs/store").string())) << cmd[0] << ": " << r.err;
    EXPECT_EQ(tree(root.path()), before) << cmd[0] << " changed something";
  }
  // Listing is not an error: there are no snapshots yet.
  RunResult r = run_mephisto({"--data-dir", (root / "data").string(), "db", "snapshots"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out + r.err, "No snapshots yet")) << r.out;
  EXPECT_EQ(tree(root.path()), before);
}

// A data dir that does not exist is a mistake to name, not "no snapshots yet" of a store beside
// it; a store named with --store is listed whatever the data dir.
TEST(BadInput, SnapshotsOfAMissingDataDirIsNotFound) {
  TempDir root;
  RunResult r = run_mephisto({"--data-dir", (root / "nope").string(), "db", "snapshots"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, (root / "nope").string() + " does not exist")) << r.err;
  EXPECT_FALSE(contains(r.out + r.err, "No snapshots yet")) << r.out;
  EXPECT_FALSE(stdfs::exists(root / "outputs"));
  r = run_mephisto({"--data-dir", (root / "nope").string(), "--store", (root / "store").string(), "db", "snapshots"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "No snapshots yet")) << r.out;
}

// store.md: a lock left by a process that died (kill -9) is taken over, not reported as held.
TEST(BadInput, StaleLocksOfDeadProcessesAreTakenOver) {
  TempDir root;
  make_data_dir(root / "data");
  std::vector<std::string> backup = {"--data-dir", (root / "data").string(), "db", "backup"};
  ASSERT_EQ(run_mephisto(backup).exit_code, 0);
  write(root / "outputs/store/lock", "4194000 " + std::string("somehost") + " 1700000000 backup\n");
  write(root / "data/.mephisto-db/lock", "4194000 somehost 1700000000 import\n");
  RunResult r = run_mephisto(backup);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(read(root / "outputs/store/lock"), " backup")) << read(root / "outputs/store/lock");
  EXPECT_FALSE(contains(read(root / "outputs/store/lock"), "4194000"));
}

}  // namespace
}  // namespace mdb::test
