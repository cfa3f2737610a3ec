// Progress bars (cli.md "Prompts, output, exit codes"): on a terminal, export shows a bar per
// long phase on stderr, with its total known from the start and ending at 100%; never with
// --json. (Without a terminal there are none: the other tests check stderr stays empty.)
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <regex>

#include "tests/export/export_support.h"

extern char** environ;

namespace mdb::test {
namespace {

// Runs the binary with stderr on a pseudo-terminal (stdout and stdin on /dev/null) and returns
// what it wrote to the terminal.
std::string stderr_on_a_terminal(const std::vector<std::string>& args) {
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) throw std::runtime_error("openpty failed");
  std::vector<std::string> all = {mephisto_binary().string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, slave, 2);
  posix_spawn_file_actions_addclose(&fa, master);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(slave);
  if (rc != 0) throw std::runtime_error("cannot run the binary");
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO once the child has closed the terminal
    }
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("export failed: " + out);
  return out;
}

TEST(Progress, OnATerminalEachPhaseShowsABarThatEndsAtItsTotal) {
  TempDir tmp;
  stdfs::path data = sample(tmp.path(), 2);
  std::vector<std::string> base = {"--data-dir", data.string(), "--outputs-dir", (tmp / "out").string()};
  std::vector<std::string> args = base;
  args.insert(args.end(), {"db", "export"});
  std::string err = stderr_on_a_terminal(args);
  // The last drawing of each bar: 100%, done equal to the total, then a newline.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(err, m, std::regex(R"(\rCopying database records \[#+\] 100% (\d+) / (\d+)\r?\n)")))
      << err;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_GT(std::stoi(m[1]), 100);
  ASSERT_TRUE(
      std::regex_search(err, m, std::regex(R"(\rArchiving data files \[#+\] 100% ([0-9.]+ \w+) / ([0-9.]+ \w+)\r?\n)")))
      << err;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_EQ(err.find(" 0 B"), std::string::npos) << "a bar without its total: " << err;

  args = base;
  args.insert(args.end(), {"--json", "db", "export"});
  EXPECT_EQ(stderr_on_a_terminal(args), "");
}

}  // namespace
}  // namespace mdb::test
