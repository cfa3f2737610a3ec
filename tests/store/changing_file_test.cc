// A file rewritten in place while `backup` reads it (docs/store.md, "Files that change while
// they are read"): backup reads it again; when it changes on every read it stores the last
// read, marks the entry, names the file in a warning and exits 3. A quiet tree exits 0.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/testenv.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

constexpr size_t kBlock = 1 << 20;
constexpr size_t kBlocks = 30;  // 30 MiB: every read of it spans many writes

// A child that rewrites `file` in place, block by block, with 'a', 'b', 'a', ... until it is
// killed. Returns once the first whole rewrite is done, so the file is changing from then on.
pid_t start_rewriter(const stdfs::path& file) {
  int ready[2];
  if (::pipe(ready) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    int fd = ::open(file.c_str(), O_WRONLY);
    if (fd < 0) ::_exit(1);
    std::string block(kBlock, 'a');
    for (int pass = 0;; ++pass) {  // until the test kills it
      std::fill(block.begin(), block.end(), pass % 2 ? 'a' : 'b');
      for (size_t i = 0; i < kBlocks; ++i)
        if (::pwrite(fd, block.data(), kBlock, static_cast<off_t>(i * kBlock)) != static_cast<ssize_t>(kBlock))
          ::_exit(1);
      if (pass == 0) (void)!::write(ready[1], "x", 1);
    }
  }
  ::close(ready[1]);
  char c = 0;
  bool started = ::read(ready[0], &c, 1) == 1;
  ::close(ready[0]);
  if (!started && pid > 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return -1;
  }
  return pid;
}

TEST(ChangingFile, AFileRewrittenDuringEveryReadIsStoredWithAWarningNamingItAndExit3) {
  TempDir t;
  stdfs::path data = t / "data", store = t / "store";
  make_data_dir(data);
  stdfs::path big = data / "big.bin";
  write(big, std::string(kBlocks * kBlock, 'a'));
  pid_t writer = start_rewriter(big);
  ASSERT_GT(writer, 0) << "the rewriting child did not start";
  RunResult r = mdb(data, store, {"--json", "backup"});
  ::kill(writer, SIGKILL);
  ::waitpid(writer, nullptr, 0);

  ASSERT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("Warning: " + big.string() + " changed while it was read (3 times)"), std::string::npos)
      << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["exit_code"], 3);
  EXPECT_EQ(j["changed_while_read"], nlohmann::json::array({"big.bin"}));
  ASSERT_EQ(j["warnings"].size(), 1u) << j.dump();
  EXPECT_NE(j["warnings"][0].get<std::string>().find(big.string()), std::string::npos);

  // The snapshot is saved and restores like any other (the file holds the last read).
  std::string name = j["snapshot"];
  stdfs::path copy = t / "restored";
  RunResult restored = mdb(copy, store, {"restore", "-f", name});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  std::string bytes = read(copy / "big.bin");
  EXPECT_EQ(bytes.size(), kBlocks * kBlock);
  EXPECT_EQ(bytes.find_first_not_of("ab"), std::string::npos);

  RunResult listed = mdb(data, store, {"--json", "snapshots"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(nlohmann::json::parse(listed.out)["snapshots"][0]["changed_while_read"], 1);

  // Without the writer the next backup reads it once, whole, and exits 0.
  RunResult again = mdb(data, store, {"--json", "backup"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["changed_while_read"], nlohmann::json::array());
}

// A child that waits until `file` is first read, then rewrites its last block once with 'b'
// and exits 0. Returns once it watches the file.
pid_t start_one_change(const stdfs::path& file) {
  int ready[2];
  if (::pipe(ready) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    int in = ::inotify_init();
    if (in < 0 || ::inotify_add_watch(in, file.c_str(), IN_ACCESS) < 0) ::_exit(1);
    (void)!::write(ready[1], "x", 1);
    alignas(struct inotify_event) char ev[4096];
    if (::read(in, ev, sizeof ev) <= 0) ::_exit(1);
    int fd = ::open(file.c_str(), O_WRONLY);
    std::string block(kBlock, 'b');
    off_t last = static_cast<off_t>((kBlocks - 1) * kBlock);
    ::_exit(fd >= 0 && ::pwrite(fd, block.data(), kBlock, last) == static_cast<ssize_t>(kBlock) ? 0 : 1);
  }
  ::close(ready[1]);
  char c = 0;
  bool started = ::read(ready[0], &c, 1) == 1;
  ::close(ready[0]);
  if (!started && pid > 0) {
    ::waitpid(pid, nullptr, 0);
    return -1;
  }
  return pid;
}

// The change lands while the first read runs (or, on a slow machine, after it): either way the
// snapshot holds one whole version, old or new, never a mix, and no warning is given.
TEST(ChangingFile, AFileChangedOnceWhileReadIsReadAgainAndStoredWhole) {
  TempDir t;
  stdfs::path data = t / "data", store = t / "store";
  make_data_dir(data);
  stdfs::path big = data / "big.bin";
  std::string old_bytes(kBlocks * kBlock, 'a');
  std::string new_bytes = old_bytes.substr(0, (kBlocks - 1) * kBlock) + std::string(kBlock, 'b');
  write(big, old_bytes);
  pid_t changer = start_one_change(big);
  ASSERT_GT(changer, 0) << "the changing child did not start";
  RunResult r = mdb(data, store, {"--json", "backup"});
  int status = -1;
  ASSERT_EQ(::waitpid(changer, &status, 0), changer);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child did not change the file";
  ASSERT_EQ(read(big), new_bytes);

  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["changed_while_read"], nlohmann::json::array());
  EXPECT_EQ(r.err.find("changed while it was read"), std::string::npos) << r.err;
  stdfs::path copy = t / "restored";
  RunResult restored = mdb(copy, store, {"restore", "-f", j["snapshot"].get<std::string>()});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  std::string bytes = read(copy / "big.bin");
  EXPECT_TRUE(bytes == old_bytes || bytes == new_bytes)
      << "torn: " << bytes.size() << " bytes, 'b' from offset " << bytes.find('b');
}

TEST(ChangingFile, AQuietTreeFinishesSuccessfullyWithExit0AndNoWarnings) {
  TempDir t;
  stdfs::path data = t / "data", store = t / "store";
  make_data_dir(data);
  write(data / "big.bin", std::string(3 * kBlock, 'q'));
  RunResult r = mdb(data, store, {"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["changed_while_read"], nlohmann::json::array());
  EXPECT_EQ(j["warnings"], nlohmann::json::array());
  RunResult prose = mdb(data, store, {"backup"});
  ASSERT_EQ(prose.exit_code, 0) << prose.err;
  EXPECT_NE(prose.out.find("Finished successfully, saved to snapshot: "), std::string::npos) << prose.out;
}

}  // namespace
}  // namespace mdb::test
