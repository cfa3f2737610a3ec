// ~/.mephisto/config.yml through the real binary (docs/CONFIG.md): every form of YAML the
// original's yaml.safe_load reads names the data dir here too; a file that is not YAML is one
// error naming the file and line, exit 1, nothing created.
#include <gtest/gtest.h>

#include "tests/support/testenv.h"

namespace mdb::test {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Runs `db export` with HOME holding `config` (where "DATA" stands for the data dir's path).
RunResult export_with_config(const TempDir& home, std::string config) {
  std::string data = (home / "data").string();
  for (size_t at; (at = config.find("DATA")) != std::string::npos;) config.replace(at, 4, data);
  write(home / ".mephisto/config.yml", config);
  return run_mephisto({"db", "export"}, "", {{"HOME", home.path().string()}});
}

// Each of these is a config the hand-written subset parser refused; Python's yaml reads each to
// core.main_data_directory = the data dir.
TEST(ConfigFile, EveryYamlFormTheOriginalReadsNamesTheDataDir) {
  const std::vector<std::pair<std::string, std::string>> configs = {
      {"flow mapping", "core: {main_data_directory: DATA}\n"},
      {"all flow", "{core: {main_data_directory: 'DATA'}, mturk: [a, b]}"},
      {"single-quoted", "core:\n  main_data_directory: 'DATA'\n"},
      {"double-quoted with an escape", "core:\n  main_data_directory: \"DATA\\u002F\"\n"},
      {"anchor and alias", "paths: &p\n  main_data_directory: DATA\ncore: *p\n"},
      {"merge key", "defaults: &d\n  main_data_directory: DATA\ncore:\n  <<: *d\n  other: 1\n"},
      {"comments and document markers", "%YAML 1.1\n--- # the config\ncore: # section\n"
                                        "  main_data_directory: DATA # where\n...\n"},
      {"extra keys and sections", "mturk:\n  - sandbox\ncore:\n  provider: mock\n  main_data_directory: DATA\n"
                                  "  tasks: {a: 1}\nprolific: {}\n"},
      {"a repeated key: the last counts", "core:\n  main_data_directory: /elsewhere\n  main_data_directory: DATA\n"},
      {"block scalar", "core:\n  main_data_directory: >-\n    DATA\n"},
  };
  for (const auto& [what, config] : configs) {
    TempDir home;
    unzip_to(fixtures() / "s1_realistic_export/backups/2026_11_25_15_40_27_mephisto_backup.zip", home / "data");
    RunResult r = export_with_config(home, config);
    EXPECT_EQ(r.exit_code, 0) << what << ": " << r.err;
    EXPECT_TRUE(stdfs::exists(home / "outputs" / "export")) << what << ": " << r.out << r.err;
  }
}

TEST(ConfigFile, NoDataDirWhenTheKeyIsMissingOrNull) {
  for (std::string config : {"", "# nothing yet\n", "core:\n  main_data_directory: null\n",
                             "core:\n  main_data_directory:\n", "core: ~\n", "mturk: {}\n"}) {
    TempDir home;
    RunResult r = export_with_config(home, config);
    EXPECT_EQ(r.exit_code, 1) << config;
    EXPECT_TRUE(contains(r.err, "No Mephisto data directory is configured")) << config << ": " << r.err;
  }
}

TEST(ConfigFile, InvalidYamlNamesTheFileAndLine) {
  const std::vector<std::pair<std::string, std::string>> configs = {
      {"core:\n  main_data_directory: *undefined\n", "line 2"},
      {"core:\n    a: 1\n  main_data_directory: DATA\n", "line 3"},
      {"core: {main_data_directory: DATA\n", "line 2"},
      {"core:\n\tmain_data_directory: DATA\n", "line 2"},
      {"core:\n  main_data_directory: DATA\n---\ncore: {}\n", "line 3"},
      {"core:\n  main_data_directory: DATA\n\x01\n", "line 3"},
      {"core:\n  main_data_directory: DATA\xff\n", "line 2"},
      {",", "line 1"},
      {"core:\n  main_data_directory: [DATA]\n", "line 2"},
      {"core: DATA\n", "line 1"},
  };
  for (const auto& [config, line] : configs) {
    TempDir home;
    stdfs::create_directory(home / "data");
    RunResult r = export_with_config(home, config);
    EXPECT_EQ(r.exit_code, 1) << config;
    EXPECT_TRUE(contains(r.err, (home / ".mephisto/config.yml").string() + ": " + line)) << config << ": " << r.err;
    EXPECT_FALSE(stdfs::exists(home / "outputs")) << config;
  }
}

}  // namespace
}  // namespace mdb::test
