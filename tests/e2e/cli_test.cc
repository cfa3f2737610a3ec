// The command line surface through the real binary: every exclusivity rule of cli.md is a
// usage error (exit 2) naming the options, checked before any file is opened; the
// multi-letter short names behave like the long ones; global options go anywhere.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/testenv.h"

namespace mdb::test {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A data dir that does not exist: a usage error must win over any file access.
const std::string kNoDir = "/nonexistent/mephisto-data";

struct UsageCase {
  std::vector<std::string> args;
  std::vector<std::string> named;  // every one must appear in the message
};

class UsageErrors : public ::testing::TestWithParam<UsageCase> {};

TEST_P(UsageErrors, ExitTwoNamingTheOptions) {
  std::vector<std::string> args = {"--data-dir", kNoDir, "db"};
  args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
  RunResult r = run_mephisto(args);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  for (const std::string& n : GetParam().named) EXPECT_TRUE(contains(r.err, n)) << n << " not in: " << r.err;
  EXPECT_FALSE(contains(r.err, kNoDir)) << "the data dir was looked at before the usage check";
}

INSTANTIATE_TEST_SUITE_P(
    Export, UsageErrors,
    ::testing::Values(
        UsageCase{{"export", "-tn", "a", "-ti", "b"}, {"--export-tasks-by-names", "--export-tasks-by-ids"}},
        UsageCase{{"export", "-tri", "1", "-trs", "2024-01-01"},
                  {"--export-task-runs-by-ids", "--export-task-runs-since-date"}},
        UsageCase{{"export", "-l", "x", "--export-tasks-by-names=a"}, {"--labels", "--export-tasks-by-names"}},
        UsageCase{{"export", "-qo", "-tn", "a"}, {"--qualification-only", "--export-tasks-by-names"}},
        UsageCase{{"export", "-qo", "-del"}, {"--qualification-only", "--delete-exported-data"}},
        UsageCase{{"export", "-qo", "-r"}, {"--qualification-only", "--randomize-legacy-ids"}},
        UsageCase{{"export", "-qo", "-l", "x"}, {"--qualification-only", "--labels"}},
        UsageCase{{"export", "-qo", "-trs", "2024-01-01"}, {"--qualification-only", "--export-task-runs-since-date"}},
        UsageCase{{"export", "-qn", "q"}, {"--qualification-names", "--qualification-only"}},
        UsageCase{{"export", "-i", "x"}, {"--export-indent"}},
        UsageCase{{"export", "-v", "2"}, {"--verbosity"}},
        UsageCase{{"export", "--no-such-option"}, {"--no-such-option"}},
        UsageCase{{"export", "-l", "a", "extra"}, {"extra"}}));

INSTANTIATE_TEST_SUITE_P(
    Others, UsageErrors,
    ::testing::Values(UsageCase{{"import"}, {"--file"}},
                      UsageCase{{"import", "-f", "x.zip", "-qo", "-l", "a"}, {"--qualification-only", "--labels"}},
                      UsageCase{{"import", "-f", "x.zip", "-qo", "-k"},
                                {"--qualification-only", "--keep-import-metadata"}},
                      UsageCase{{"restore"}, {"--file"}},
                      UsageCase{{"verify", "--read-data", "--read-data-subset", "10"},
                                {"--read-data", "--read-data-subset"}},
                      UsageCase{{"verify", "--read-data-subset", "0"}, {"--read-data-subset"}},
                      UsageCase{{"verify", "--read-data-subset", "abc"}, {"--read-data-subset"}},
                      UsageCase{{"prune", "--keep-last", "0"}, {"--keep-last"}},
                      UsageCase{{"nosuchcommand"}, {"nosuchcommand"}}));

TEST(Cli, NoCommandIsAUsageError) {
  EXPECT_EQ(run_mephisto({}).exit_code, 2);
  EXPECT_EQ(run_mephisto({"db"}).exit_code, 2);
}

TEST(Cli, HelpListsEveryOptionWithItsShortName) {
  RunResult r = run_mephisto({"db", "export", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* opt : {"-tn,--export-tasks-by-names", "-ti,--export-tasks-by-ids", "-tri,--export-task-runs-by-ids",
                          "-trs,--export-task-runs-since-date", "-l,--labels", "-del,--delete-exported-data",
                          "-r,--randomize-legacy-ids", "-qo,--qualification-only", "-qn,--qualification-names",
                          "-i,--export-indent", "-v,--verbosity"})
    EXPECT_TRUE(contains(r.out, opt)) << opt;
  r = run_mephisto({"db", "import", "--help"});
  for (const char* opt : {"-f,--file", "-cr,--conflict-resolver", "-l,--labels", "-k,--keep-import-metadata",
                          "-qo,--qualification-only", "-v,--verbosity"})
    EXPECT_TRUE(contains(r.out, opt)) << opt;
  for (const char* cmd : {"backup", "restore", "snapshots", "verify", "prune"})
    EXPECT_EQ(run_mephisto({"db", cmd, "--help"}).exit_code, 0) << cmd;
  r = run_mephisto({"--help"});
  for (const char* opt : {"--data-dir", "--outputs-dir", "--store", "--json", "-y,--yes", "--version"})
    EXPECT_TRUE(contains(r.out, opt)) << opt;
  for (const char* var : {"MEPHISTO_DATA_DIR", "MEPHISTO_OUTPUTS_DIR", "MEPHISTO_STORE"})
    EXPECT_TRUE(contains(r.out, var)) << var << " is not named in --help";
}

// Every command `mephisto db --help` lists shows an example of its use at the end of its --help.
TEST(Cli, EveryCommandsHelpEndsWithAnExample) {
  RunResult r = run_mephisto({"db", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t at = r.out.find("Subcommands:\n");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::istringstream lines(r.out.substr(at + 13));
  std::vector<std::string> commands;
  for (std::string line; std::getline(lines, line) && line.rfind("  ", 0) == 0;)
    commands.push_back(line.substr(2, line.find(' ', 2) - 2));
  EXPECT_GE(commands.size(), 9u) << r.out;
  for (const std::string& cmd : commands) {
    RunResult help = run_mephisto({"db", cmd, "--help"});
    EXPECT_EQ(help.exit_code, 0) << cmd;
    EXPECT_TRUE(contains(help.out, "Example: mephisto ")) << cmd << "'s --help has no example:\n" << help.out;
  }
}

TEST(Cli, VersionNamesTheToolAndTheOriginalItFollows) {
  RunResult r = run_mephisto({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "mephisto-db 0.")) << r.out;
  EXPECT_TRUE(contains(r.out, "Mephisto 1.5.2")) << r.out;
}

// Global options are accepted before `db`, after `db` and after the command name.
TEST(Cli, GlobalOptionsAnywhere) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--data-dir", kNoDir, "db", "export"},
           {"db", "--data-dir", kNoDir, "export"},
           {"db", "export", "--data-dir", kNoDir},
           {"db", "export", "--data-dir=" + kNoDir, "--json", "-y"},
       }) {
    RunResult r = run_mephisto(args);
    EXPECT_NE(r.exit_code, 2) << args[0] << " " << r.err;
  }
}

}  // namespace
}  // namespace mdb::test
