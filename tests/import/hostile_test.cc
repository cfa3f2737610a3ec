// Hostile dumps (quality.md "Hostile input"): each gets a clear error (exit 1, naming the problem,
// "Nothing was imported.") or is handled correctly, never a crash, never a write outside the data
// dir, and a refused dump leaves the data dir exactly as it was.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "formats/zip.h"
#include "platform/sqlite.h"
#include "tests/import/import_util.h"

namespace mdb::test {
namespace {

const stdfs::path kS1nFull = fixtures() / "s1n_source_without_mturk_hits/dumps/2026_11_25_15_42_09_mephisto_dump.zip";
const stdfs::path kSeeded = fixtures() / "s2_import/backups/2026_11_25_15_42_21_mephisto_backup.zip";

// The s1n dump's JSON, changed by `edit`.
std::string edited_json(const std::function<void(nlohmann::ordered_json&)>& edit) {
  TempDir tmp;
  unzip_to(kS1nFull, tmp.path());
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(read(tmp / (kS1nFull.stem().string() + ".json")));
  edit(j);
  return j.dump();
}

std::string read_json_of_fixture() {
  TempDir tmp;
  unzip_to(kS1nFull, tmp.path());
  return read(tmp / (kS1nFull.stem().string() + ".json"));
}

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    unpack_backup(kSeeded, data_);
    before_ = tree(data_);
  }
  // Imports a zip of `members` (its JSON member named after the zip) and returns the result.
  RunResult import_members(const std::string& name, std::vector<RawZipMember> members) {
    stdfs::path zip = tmp_ / "zips" / (name + ".zip");
    write(zip, raw_zip(members));
    return import(data_, zip);
  }
  std::string json_name(const std::string& name) const { return name + ".json"; }
  void expect_refused(const RunResult& r, const std::string& message) {
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Nothing was"), std::string::npos) << r.err;
    EXPECT_EQ(tree(data_), before_);
    std::vector<std::string> outside;
    for (const auto& e : stdfs::directory_iterator(tmp_.path()))
      if (e.path().filename() != "data" && e.path().filename() != "zips" && e.path().filename() != "outputs")
        outside.push_back(e.path().string());
    EXPECT_EQ(outside, std::vector<std::string>{});
  }
  TempDir tmp_;
  stdfs::path data_ = tmp_ / "data";
  std::map<std::string, std::string> before_;
};

TEST_F(Hostile, UnsafeMemberNamesAreRefusedBeforeAnythingIsWritten) {
  std::string json = read_json_of_fixture();
  struct Case {
    std::string name;
    RawZipMember member;
    std::string message;
  };
  std::vector<Case> cases = {
      {"traversal",
       {"runs/project_alpha/1151115676005583791/../../../../evil.txt", "x"},
       "path component that is '..'"},
      {"absolute", {"/tmp/evil.txt", "x"}, "absolute path"},
      {"symlink", {"runs/project_alpha/1151115676005583791/link", "/etc/passwd", 0120777}, "symbolic link"},
      {"device", {"runs/project_alpha/1151115676005583791/dev", "", 0020644}, "device"},
      {"bad_utf8", {"runs/project_alpha/1151115676005583791/\xff\xfe", "x"}, "not valid UTF-8"},
      {"nul", {std::string("runs/a\0b", 8), "x"}, "runs/a"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    expect_refused(import_members(c.name, {{json_name(c.name), json}, c.member}), c.message);
  }
  // The same member twice.
  expect_refused(import_members("duplicate", {{json_name("duplicate"), json},
                                              {"runs/project_alpha/1151115676005583791/a", "1"},
                                              {"runs/project_alpha/1151115676005583791/a", "2"}}),
                 "appears twice");
}

// The reader holds 8 bytes a member and finds duplicates by sorted name hashes: with tens of
// thousands of members, a duplicate or a file used as a directory far apart in the central
// directory is still refused before anything is written.
TEST_F(Hostile, ManyMembersStillRefuseDuplicatesAndFilesUsedAsDirectories) {
  std::string json = read_json_of_fixture();
  const std::string run = "runs/project_alpha/1151115676005583791/";
  auto many = [&](const std::string& name) {
    std::vector<RawZipMember> members = {{json_name(name), json}};
    for (int i = 0; i < 40000; ++i) members.push_back({run + "f" + std::to_string(i), std::to_string(i)});
    return members;
  };
  std::vector<RawZipMember> twice = many("many_twice");
  twice.push_back({run + "f7", "again"});
  expect_refused(import_members("many_twice", twice), "member '" + run + "f7' appears twice");
  std::vector<RawZipMember> under = many("many_under");
  under.push_back({run + "f3/inner", "x"});
  expect_refused(import_members("many_under", under), "lies under '" + run + "f3', which is a file");
}

TEST_F(Hostile, SizesThatLieAndTruncatedZips) {
  std::string json = read_json_of_fixture();
  // A member that holds more than it declares (a bomb's trick) and one that declares 4 GB.
  // The run file's lie shows when it is extracted, after the lock and snapshot: rolled back, the
  // data dir as before (but for our own .mephisto-db/lock).
  std::map<std::string, std::string> logical_before = logical_tree(data_);
  RunResult more = import_members("more", {{json_name("more"), json},
                                           {"runs/project_alpha/1151115676005583791/a", std::string(5000, 'a'), 0100644, 10}});
  EXPECT_EQ(more.exit_code, 1) << more.err;
  EXPECT_NE(more.err.find("is damaged"), std::string::npos) << more.err;
  EXPECT_EQ(logical_tree(data_), logical_before);
  before_ = tree(data_);
  RunResult huge = import_members("huge", {{json_name("huge"), json, 0100644, 0xFFFFFFF0u}});
  EXPECT_EQ(huge.exit_code, 1) << huge.err;
  EXPECT_EQ(tree(data_), before_);
  // Truncated archives.
  std::string bytes = read(kS1nFull);
  for (size_t keep : {bytes.size() / 2, bytes.size() - 30, size_t{10}}) {
    stdfs::path zip = tmp_ / "zips" / ("truncated_" + std::to_string(keep) + ".zip");
    write(zip, bytes.substr(0, keep));
    expect_refused(import(data_, zip), zip.string());
  }
}

TEST_F(Hostile, DeepJsonAndIdsBeyond64Bits) {
  std::string deep = "{\"mephisto\": {\"projects\": [{\"project_name\": " + std::string(10000, '[') +
                     std::string(10000, ']') + "}]}, \"dump_metadata\": {}}";
  expect_refused(import_members("deep", {{json_name("deep"), deep}}), "nested deeper than");
  std::string big_number = edited_json([](nlohmann::ordered_json& j) {
    j["mephisto"]["task_runs"][0]["task_run_id"] = "PLACEHOLDER";
  });
  big_number.replace(big_number.find("\"PLACEHOLDER\""), 13, "9223372036854775808");
  expect_refused(import_members("bignum", {{json_name("bignum"), big_number}}),
                 "table `task_runs`, row 0, column `task_run_id`: the integer 9223372036854775808 is beyond the 64-bit "
                 "range");
  std::string big_text = edited_json([](nlohmann::ordered_json& j) {
    j["mephisto"]["workers"][0]["worker_id"] = "99999999999999999999";
  });
  expect_refused(import_members("bigtext", {{json_name("bigtext"), big_text}}),
                 "column `worker_id`: \"99999999999999999999\" is not an integer id");
}

// issue 10.8: values that would only fail inside the transaction (or be stored as something else)
// are refused at validation, naming the member, table, row key and column; nothing is written.
TEST_F(Hostile, NanInfinityAndNullInNotNullColumnsAreRefusedAtValidation) {
  for (std::string token : {"NaN", "Infinity", "-Infinity", "1e999"}) {
    SCOPED_TRACE(token);
    std::string json = edited_json([](nlohmann::ordered_json& j) { j["mephisto"]["units"][0]["pay_amount"] = "PLACEHOLDER"; });
    json.replace(json.find("\"PLACEHOLDER\""), 13, token);
    std::string unit = nlohmann::ordered_json::parse(read_json_of_fixture())["mephisto"]["units"][0]["unit_id"];
    std::string shown = token == "1e999" ? "Infinity" : token;
    std::string why = token == "NaN" ? "NaN is not a number a database can store"
                                     : shown + " is not a finite number, and Mephisto's databases hold finite numbers only";
    RunResult r = import_members("nan", {{json_name("nan"), json}});
    EXPECT_EQ(r.out.find("snapshot"), std::string::npos) << "refused only after the snapshot: " << r.out;
    expect_refused(r, json_name("nan") + ": Database `mephisto`, table `units`, row 0 (unit_id " + unit +
                       "), column `pay_amount`: " + why);
  }
  // Any column, not only numeric ones: SQLite would store NaN as NULL.
  std::string text = edited_json([](nlohmann::ordered_json& j) { j["mephisto"]["projects"][0]["project_name"] = "PLACEHOLDER"; });
  text.replace(text.find("\"PLACEHOLDER\""), 13, "NaN");
  expect_refused(import_members("nan_text", {{json_name("nan_text"), text}}), "column `project_name`: NaN is not a number");
  // A null where the schema says NOT NULL fails the INSERT inside the transaction: refused before.
  std::string null_status = edited_json([](nlohmann::ordered_json& j) { j["mephisto"]["units"][0]["status"] = nullptr; });
  RunResult r = import_members("null_status", {{json_name("null_status"), null_status}});
  EXPECT_EQ(r.out.find("snapshot"), std::string::npos) << "refused only after the snapshot: " << r.out;
  expect_refused(r, "table `units`, row unit_id " +
                     nlohmann::ordered_json::parse(read_json_of_fixture())["mephisto"]["units"][0]["unit_id"].get<std::string>() +
                     ", column `status`: null, but the column is NOT NULL.");
}

// Quotes, SQL and NUL bytes in names are just text: stored exactly.
TEST_F(Hostile, QuotesSqlAndNulInNamesAreStoredExactly) {
  const std::string name = std::string("w'\"; DROP TABLE workers; --\0end", 32);
  std::string json = edited_json([&](nlohmann::ordered_json& j) {
    for (auto& w : j["prolific"]["workers"])
      if (w["worker_id"] == j["mephisto"]["workers"][0]["worker_name"]) w["worker_id"] = name;
    j["mephisto"]["workers"][0]["worker_name"] = name;
  });
  stdfs::path zip = tmp_ / "zips" / "names.zip";
  write(zip, raw_zip({{"names.json", json}}));
  RunResult r = import(data_, zip);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  sql::Db db = sql::Db::open_readonly(data_ / "database.db");
  sql::Stmt s = db.prepare("SELECT count(*) FROM workers WHERE worker_name = ?1");
  s.bind(1, name);
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.column_int(0), 1);
  EXPECT_EQ(dangling_references(data_), std::vector<std::string>{});
}

// Our dump's Cap'n Proto half records every run file with its hash: a zip that lost some, or
// gained one, is refused naming each file (the lost ones in byte order) before anything is written.
TEST_F(Hostile, RunFilesMissingFromOrAddedToOurDumpAreNamed) {
  TempDir src;
  make_sample(src / "data", 4);
  stdfs::path dump = export_dump(src / "data", src / "outputs");
  std::vector<std::string> run_files;
  zip::Reader reader(dump);
  for (const zip::Entry& e : reader.entries())
    if (e.name.rfind("runs/", 0) == 0 && !e.is_directory) run_files.push_back(e.name);
  ASSERT_GE(run_files.size(), 2u);
  std::sort(run_files.begin(), run_files.end());
  std::string first = run_files.front(), member = run_files.back();

  stdfs::path lost = tmp_ / "zips" / "lost.zip";
  stdfs::create_directories(lost.parent_path());
  stdfs::copy_file(dump, lost);
  ASSERT_EQ(run("/usr/bin/zip", {"-q", "-d", lost.string(), member, first}).exit_code, 0);
  RunResult r = import(data_, lost);
  expect_refused(r, "The zip lacks the file " + member + " that its Cap'n Proto half records.");
  size_t first_at = r.err.find("The zip lacks the file " + first + " that its Cap'n Proto half records.");
  ASSERT_NE(first_at, std::string::npos) << r.err;
  EXPECT_LT(first_at, r.err.find("The zip lacks the file " + member)) << r.err;

  stdfs::path gained = tmp_ / "zips" / "gained.zip";
  stdfs::copy_file(dump, gained);
  std::string extra = member.substr(0, member.rfind('/') + 1) + "extra.txt";
  write(src / "stage" / extra, "not recorded");
  ASSERT_EQ(run("/bin/sh", {"-c", "cd '" + (src / "stage").string() + "' && /usr/bin/zip -q '" + gained.string() +
                                      "' '" + extra + "'"})
                .exit_code,
            0);
  expect_refused(import(data_, gained), "The zip's file " + extra + " is not among the files its Cap'n Proto half records.");
}

// docs/PATHS.md: a project name is one directory under data/runs/. A dump holding another one is
// refused at validation naming the table, row and value, before anything is written, so no later
// command can build a path outside the data dir from it.
TEST_F(Hostile, AProjectNameThatIsNotOneDirectoryIsRefusedNamingTheRow) {
  const std::string victim = "../../../somewhere/VICTIM";
  for (const std::string& bad : {victim, std::string("/tmp/VICTIM"), std::string("a/b"), std::string(".."),
                                std::string("."), std::string("")}) {
    SCOPED_TRACE(bad);
    std::string json =
        edited_json([&](nlohmann::ordered_json& j) { j["mephisto"]["projects"][1]["project_name"] = bad; });
    RunResult r = import_members("bad_project", {{json_name("bad_project"), json}});
    expect_refused(r, "table `projects`, row project_id ");
    EXPECT_NE(r.err.find("9099252003236837674"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("column `project_name`: \"" + bad + "\" cannot be the directory data/runs/<project_name>/"),
              std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(stdfs::exists(tmp_ / "somewhere"));
}

// The original nests a project named a/b (runs/a/b/<run>/...): such a dump is refused as a whole,
// with its files named too, not half imported.
TEST_F(Hostile, TheOriginalsDumpOfAProjectNamedWithASlashIsRefused) {
  std::string json =
      edited_json([&](nlohmann::ordered_json& j) { j["mephisto"]["projects"][1]["project_name"] = "a/b"; });
  RunResult r = import_members("slash", {{json_name("slash"), json},
                                         {"runs/a/b/6035209599903972796/assign_data.json", "{}"}});
  expect_refused(r, "column `project_name`: \"a/b\" cannot be the directory data/runs/<project_name>/ of its task "
                    "runs' files: it holds a '/'");
}

// An original -r dump's pk_substitutions rename onboarding dirs: a substitution that is not an id
// cannot move a file out of its run dir.
TEST_F(Hostile, AnOnboardingSubstitutionCannotLeaveTheRunDir) {
  const std::string evil = "../../../../../../../../../escaped";
  std::string json = edited_json([&](nlohmann::ordered_json& j) {
    j["dump_metadata"]["pk_substitutions"]["mephisto"]["onboarding_agents"]["1533502703331290714"] = evil;
  });
  RunResult r = import_members(
      "onboarding", {{json_name("onboarding"), json},
                     {"runs/project_alpha/8206106900268541822/onboarding/onboarding_1533502703331290714/agent_data.json",
                      "{}"}});
  expect_refused(r, "component \"onboarding_" + evil + "\", from the dump's dump_metadata, holds a '/'");
  EXPECT_FALSE(stdfs::exists(tmp_ / "escaped"));
  EXPECT_FALSE(stdfs::exists("/escaped"));
}

// import.md: the JSON's keys are `mephisto`, the provider types and `dump_metadata`.
TEST_F(Hostile, AnUnknownDatabaseKeyIsNamed) {
  std::string json = edited_json([](nlohmann::ordered_json& j) { j["not_a_provider"] = nlohmann::ordered_json::object(); });
  expect_refused(import_members("unknown_db", {{json_name("unknown_db"), json}}), "not_a_provider");
}

}  // namespace
}  // namespace mdb::test
