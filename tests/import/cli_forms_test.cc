// Rules of cli.md and import.md that concern how import and export are called, through the real
// binary: colliding dump names, the default label, resolver files, relative dump paths.
#include <gtest/gtest.h>

#include <ctime>

#include "tests/import/import_util.h"

namespace mdb::test {
namespace {

const stdfs::path kS1nFull = fixtures() / "s1n_source_without_mturk_hits/dumps/2026_11_25_15_42_09_mephisto_dump.zip";
const stdfs::path kSeeded = fixtures() / "s2_import/backups/2026_11_25_15_42_21_mephisto_backup.zip";

std::string local_stamp(time_t t) {
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y_%m_%d_%H_%M_%S", &tm);
  return buf;
}

// cli.md: "if a dump ... of that second exists, append _2, _3, ...". The names of this second
// and the next few exist already, so whenever the export runs, its name collides.
TEST(CliForms, ADumpNameOfTheSameSecondGetsASuffix) {
  TempDir tmp;
  make_sample(tmp / "data", 2);
  stdfs::path dir = tmp / "outputs" / "export";
  time_t now = ::time(nullptr);
  std::set<std::string> taken;
  for (int i = 0; i < 5; ++i) {
    std::string name = local_stamp(now + i) + "_mephisto_dump.zip";
    write(dir / name, "someone else's dump");
    taken.insert(name);
  }
  RunResult r = run_mephisto({"--data-dir", (tmp / "data").string(), "db", "export"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> made;
  for (const auto& e : stdfs::directory_iterator(dir))
    if (!taken.count(e.path().filename().string())) made.push_back(e.path().filename().string());
  ASSERT_EQ(made.size(), 1u);
  EXPECT_NE(made[0].find("_mephisto_dump_2.zip"), std::string::npos) << made[0];
  for (const std::string& name : taken) EXPECT_EQ(read(dir / name), "someone else's dump");
}

// cli.md: -l defaults to "the dump file name up to its first dot".
TEST(CliForms, TheDefaultLabelIsTheFileNameUpToItsFirstDot) {
  TempDir tmp;
  stdfs::path zip = tmp / "batch.one.zip";
  stdfs::copy_file(kS1nFull, zip);
  RunResult r = import(tmp / "data", zip);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(query(tmp / "data" / "database.db", "SELECT DISTINCT data_labels FROM imported_data"), "[\"batch\"]\n");
}

// import.md: a resolver description file; an unknown method is a usage error before anything is written.
TEST(CliForms, ResolverFilesWorkAndUnknownMethodsAreUsageErrors) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  unpack_backup(kSeeded, data);
  auto before = tree(data);
  write(tmp / "bad.json", R"({"default_strategy": "pick_best"})");
  RunResult r = import(data, kS1nFull, {"-cr", (tmp / "bad.json").string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("pick_best"), std::string::npos) << r.err;
  EXPECT_EQ(tree(data), before);

  write(tmp / "dump-wins.json", R"({"default_strategy": "pick_row_from_dump"})");
  r = import(data, kS1nFull, {"-cr", (tmp / "dump-wins.json").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(dangling_references(data), std::vector<std::string>{});
}

// cli.md: -f takes "a relative path that exists from the current dir" before <outputs>/export/.
TEST(CliForms, ARelativeDumpPathIsResolvedFromTheCurrentDir) {
  TempDir tmp;
  stdfs::copy_file(kS1nFull, tmp / "here.zip");
  RunResult r = run("/bin/sh", {"-c", "cd '" + tmp.path().string() + "' && '" + mephisto_binary().string() +
                                          "' --data-dir '" + (tmp / "data").string() + "' -y db import -f here.zip"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(query(tmp / "data" / "database.db", "SELECT count(*) FROM task_runs"), "0\n");
}

}  // namespace
}  // namespace mdb::test
