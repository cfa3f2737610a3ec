// Progress bars (cli.md "Prompts, output, exit codes"): on a terminal, export shows a bar per
// long phase on stderr, with its total known from the start and ending at 100%; never with
// --json. (Without a terminal there are none: the other tests check stderr stays empty.)
#include <gtest/gtest.h>

#include <regex>

#include "tests/export/export_support.h"

namespace mdb::test {
namespace {

// What the binary wrote to its stderr, a pseudo-terminal (stdout on /dev/null).
std::string stderr_on_a_terminal(const std::vector<std::string>& args) {
  RunResult r = run_on_a_terminal(args, false);
  if (r.exit_code != 0) throw std::runtime_error("export failed: " + r.out);
  return r.out;
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
