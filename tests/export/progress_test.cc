// Progress bars (cli.md "Prompts, output, exit codes"): on a terminal, export shows a bar per
// long phase on stderr, with its total known from the start and ending at 100%, the elapsed
// time and the rate; the phases without a bar are announced, so none is silent; never with
// --json. (Without a terminal there are none: the other tests check stderr stays empty.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
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
  ASSERT_TRUE(std::regex_search(
      err, m, std::regex(R"(\r\[0:\d\d\] Copying database records \[#+\] 100% (\d+) / (\d+)(, \d+/s)?\x1b\[K\r?\n)")))
      << err;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_GT(std::stoi(m[1]), 100);
  ASSERT_TRUE(std::regex_search(
      err, m,
      std::regex(
          R"(\r\[0:\d\d\] Archiving data files \[#+\] 100% ([0-9.]+ \w+) / ([0-9.]+ \w+), (\d+) / (\d+) files(, [0-9.]+ \w+/s)?\x1b\[K\r?\n)")))
      << err;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_EQ(m[3], m[4]) << "every run file counted";
  EXPECT_GT(std::stoi(m[3]), 10);
  // After the last bar: the phases that have none are named, in order.
  size_t compress = err.find("] Compressing the records into the zip ...");
  size_t archive = err.find("Archiving data files [");
  size_t finish = err.find("] Finishing the zip ...");
  EXPECT_NE(compress, std::string::npos) << err;
  EXPECT_LT(compress, archive) << err;
  EXPECT_NE(finish, std::string::npos) << err;
  EXPECT_GT(finish, archive) << err;
  EXPECT_EQ(err.find(" 0 B"), std::string::npos) << "a bar without its total: " << err;

  args = base;
  args.insert(args.end(), {"--json", "db", "export"});
  EXPECT_EQ(stderr_on_a_terminal(args), "");
}

// Backup and restore count files too, like restic: "..., 51 / 51 files".
TEST(Progress, BackupAndRestoreCountFilesDoneOfTheTotal) {
  TempDir tmp;
  stdfs::path data = sample(tmp.path(), 3);
  std::vector<std::string> base = {"--outputs-dir", (tmp / "out").string(), "-y", "db"};
  std::vector<std::string> args = {"--data-dir", data.string()};
  args.insert(args.end(), base.begin(), base.end());
  args.push_back("backup");
  std::string err = stderr_on_a_terminal(args);
  std::smatch m;
  std::regex bar(R"(\] Backing up \[#+\] 100% [0-9.]+ \w+ / [0-9.]+ \w+, (\d+) / (\d+) files)");
  ASSERT_TRUE(std::regex_search(err, m, bar)) << err;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_GT(std::stoi(m[1]), 10);
  std::string files = m[1];
  RunResult r = run_mephisto({"--data-dir", data.string(), "--outputs-dir", (tmp / "out").string(), "--json", "db",
                              "snapshots"});
  std::string name = nlohmann::json::parse(r.out)["snapshots"][0]["name"];
  args = {"--data-dir", (tmp / "elsewhere").string()};
  args.insert(args.end(), base.begin(), base.end());
  args.insert(args.end(), {"restore", "-f", name});
  err = stderr_on_a_terminal(args);
  ASSERT_TRUE(std::regex_search(err, m, std::regex(R"(\] Restoring \[#+\] 100% [^\n]*, (\d+) / (\d+) files)")))
      << err;
  EXPECT_EQ(m[1], files);
  EXPECT_EQ(m[2], files);
}

TEST(Progress, ImportNamesEveryPhaseOnATerminal) {
  TempDir tmp;
  stdfs::path data = sample(tmp.path(), 2);
  std::vector<std::string> base = {"--data-dir", data.string(), "--outputs-dir", (tmp / "out").string()};
  std::vector<std::string> args = base;
  args.insert(args.end(), {"db", "export"});
  stderr_on_a_terminal(args);
  std::vector<stdfs::path> zips = dump_zips(tmp / "out");
  ASSERT_EQ(zips.size(), 1u);
  stdfs::path fresh = tmp / "fresh";
  args = {"--data-dir", fresh.string(), "--outputs-dir", (tmp / "out2").string(), "-y", "db", "import", "-f",
          zips[0].string()};
  std::string err = stderr_on_a_terminal(args);
  size_t last = 0;
  for (const char* phase : {"] Checking the dump ...", "] Extracting run files [", "] Writing the rows into the databases ...",
                            "] Moving the run files into place and committing ..."}) {
    size_t at = err.find(phase, last);
    ASSERT_NE(at, std::string::npos) << phase << " missing or out of order in:\n" << err;
    last = at;
  }
}

}  // namespace
}  // namespace mdb::test
