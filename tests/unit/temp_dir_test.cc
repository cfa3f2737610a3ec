// OwnedTempDir and sweep_abandoned (platform/temp_dir.h): a directory is abandoned exactly when
// nobody holds the lock on its owner file, whatever pid its name carries.
#include "platform/temp_dir.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "tests/support/testenv.h"

namespace mdb::test {
namespace {

namespace fs = mdb::fs;

std::vector<std::string> names_in(const stdfs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : stdfs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A directory left as a killed owner leaves it: its owner file exists and nobody locks it.
stdfs::path abandoned(const stdfs::path& parent, const std::string& prefix) {
  fs::OwnedTempDir d(parent, prefix);
  d.release();  // the tree stays; the destructor drops the lock
  return d.path();
}

TEST(OwnedTempDir, HoldsItsOwnerFileAndRemovesItsTree) {
  TempDir tmp;
  stdfs::path path;
  {
    fs::OwnedTempDir d(tmp.path(), "job-");
    path = d.path();
    EXPECT_EQ(path.parent_path(), tmp.path());
    EXPECT_EQ(path.filename().string().rfind("job-", 0), 0u);
    EXPECT_EQ(path.filename().string().size(), 10u);  // job-XXXXXX
    std::string owner = read(path / ".owner");
    EXPECT_EQ(owner.rfind(std::to_string(::getpid()) + " ", 0), 0u) << owner;
    write(path / "sub" / "file", "x");
    EXPECT_EQ(fs::sweep_abandoned(tmp.path(), "job-"), 0u);  // alive: its lock is held
    EXPECT_TRUE(stdfs::exists(path / "sub" / "file"));
  }
  EXPECT_FALSE(stdfs::exists(path));
}

TEST(OwnedTempDir, ReleasedKeepsTheTree) {
  TempDir tmp;
  stdfs::path path = abandoned(tmp.path(), "job-");
  EXPECT_TRUE(stdfs::exists(path / ".owner"));
}

TEST(SweepAbandoned, RemovesOnlyDirectoriesNobodyOwns) {
  TempDir tmp;
  fs::OwnedTempDir alive_dead_pid(tmp.path(), "job-99999999-");      // a dead pid in its name
  fs::OwnedTempDir alive_plain(tmp.path(), "job-");
  stdfs::path gone_live_pid = abandoned(tmp.path(), "job-" + std::to_string(::getpid()) + "-");  // a live pid
  stdfs::path gone_plain = abandoned(tmp.path(), "job-");
  write(tmp / "job-no-owner" / "f", "made before owner files");   // no owner file: abandoned
  write(tmp / "job-a-file", "not a directory");                   // left alone
  write(tmp / "other" / "f", "another prefix");                    // left alone
  write(tmp / "outside" / "keep", "x");
  stdfs::create_directory_symlink(tmp / "outside", tmp / "job-link");  // a symlink: never followed

  EXPECT_EQ(fs::sweep_abandoned(tmp.path(), "job-"), 3u);
  std::vector<std::string> left = names_in(tmp.path());
  std::vector<std::string> expected = {alive_dead_pid.path().filename().string(),
                                       alive_plain.path().filename().string(),
                                       "job-a-file",
                                       "job-link",
                                       "other",
                                       "outside"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(left, expected);
  EXPECT_TRUE(stdfs::exists(tmp / "outside" / "keep"));
  EXPECT_TRUE(stdfs::exists(alive_dead_pid.path() / ".owner"));
  (void)gone_live_pid;
  (void)gone_plain;
}

// The kernel drops the lock of a process however it dies: a SIGKILLed owner's dir is swept.
TEST(SweepAbandoned, RemovesTheDirOfAKilledProcess) {
  TempDir tmp;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    fs::OwnedTempDir d(tmp.path(), "job-");
    write(d.path() / "data", "half done");
    ::raise(SIGKILL);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_EQ(names_in(tmp.path()).size(), 1u);
  EXPECT_EQ(fs::sweep_abandoned(tmp.path(), "job-"), 1u);
  EXPECT_TRUE(names_in(tmp.path()).empty());
}

// A custom removal runs while the sweep holds the owner's lock (the trash's progress bar).
TEST(SweepAbandoned, RemovesWithTheGivenFunction) {
  TempDir tmp;
  stdfs::path path = abandoned(tmp.path(), "trash-");
  std::vector<stdfs::path> seen;
  EXPECT_EQ(fs::sweep_abandoned(tmp.path(), "trash-",
                                [&](const stdfs::path& p) {
                                  seen.push_back(p);
                                  fs::remove_tree(p);
                                }),
            1u);
  EXPECT_EQ(seen, std::vector<stdfs::path>{path});
  EXPECT_FALSE(stdfs::exists(path));
}

}  // namespace
}  // namespace mdb::test
