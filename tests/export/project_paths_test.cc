// docs/PATHS.md through the binary: a data dir whose database already holds a project name that
// is not one directory (made with sqlite3, as a hostile import by the original or a hand edit
// would leave it) is never used to read or move anything outside data/runs/.
#include <gtest/gtest.h>

#include <algorithm>

#include "formats/zip.h"
#include "tests/export/export_support.h"

namespace mdb::test {
namespace {

const std::string kRun = "6035209599903972796";  // the only task run of project Проект_β

class ProjectPaths : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = unpack(s1_backup(), tmp_.path());
    RunResult id = run("/usr/bin/sqlite3", {(data_ / "database.db").string(),
                                            "SELECT project_id FROM projects WHERE project_name = 'Проект_β'"});
    ASSERT_EQ(id.exit_code, 0) << id.err;
    project_id_ = id.out.substr(0, id.out.find('\n'));
    ASSERT_FALSE(project_id_.empty());
  }
  // Renames project Проект_β in the database (its run dir stays where it is).
  void rename_project(const std::string& name) {
    std::string quoted;
    for (char c : name) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    RunResult r = run("/usr/bin/sqlite3", {(data_ / "database.db").string(),
                                           "UPDATE projects SET project_name = '" + quoted + "' WHERE project_id = " +
                                               project_id_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  RunResult export_with(const std::vector<std::string>& args, const std::string& answer = "") {
    return export_dump(data_, tmp_ / "outputs", args, answer);
  }
  void expect_refused(const RunResult& r, const std::string& name, const std::string& problem) {
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    for (const std::string& part : {(data_ / "database.db").string(), std::string("Table projects"),
                                    "row project_id = " + project_id_, "has project_name \"" + name + "\", which " + problem,
                                    std::string("Nothing was exported.")})
      EXPECT_NE(r.err.find(part), std::string::npos) << part << "\n" << r.err;
    EXPECT_EQ(dump_zips(tmp_ / "outputs"), std::vector<stdfs::path>{});
  }
  // The members of the only dump in outputs/export, and then removes it.
  std::vector<std::string> members_of_dump() {
    std::vector<stdfs::path> zips = dump_zips(tmp_ / "outputs");
    EXPECT_EQ(zips.size(), 1u);
    std::vector<std::string> out;
    if (zips.size() != 1) return out;
    {
      zip::Reader reader(zips[0]);
      for (const zip::Entry& e : reader.entries()) out.push_back(e.name);
    }
    stdfs::remove(zips[0]);
    return out;
  }
  TempDir tmp_;
  stdfs::path data_;
  std::string project_id_;
};

TEST_F(ProjectPaths, AHostileProjectNameIsNeverUsedToReadOrMoveOutsideTheDataDir) {
  const std::string victim = "../../../somewhere/VICTIM";
  rename_project(victim);
  // Where data/runs/<victim>/<run> points: outside the data dir, next to it.
  stdfs::path outside = tmp_ / "somewhere" / "VICTIM" / kRun;
  ASSERT_EQ((data_ / "data" / "runs" / victim / kRun).lexically_normal(), outside.lexically_normal());
  write(outside / "secret.txt", "SECRET OUTSIDE THE DATA DIR");
  std::map<std::string, std::string> before = state_of(data_);
  std::map<std::string, std::string> outside_before = tree(tmp_ / "somewhere");

  expect_refused(export_with({}), victim, "holds a '/'");
  expect_refused(export_with({"-tri", kRun}), victim, "holds a '/'");
  expect_refused(export_with({"-tn", "опрос_ünïcode"}), victim, "holds a '/'");
  // -del would move the run dir away: refused before any row or dir is touched.
  expect_refused(export_with({"-del"}, "yes\n"), victim, "holds a '/'");
  expect_refused(export_with({"-del", "-tri", kRun}, "yes\n"), victim, "holds a '/'");
  EXPECT_EQ(changed_paths(before, state_of(data_)), "");
  EXPECT_EQ(tree(tmp_ / "somewhere"), outside_before);

  // Dumps that do not hold that project still work, and hold nothing from outside.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{{"-tn", "image_labeling"}, {"-qo"}}) {
    RunResult r = export_with(args);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    for (const std::string& m : members_of_dump()) {
      EXPECT_EQ(m.find("VICTIM"), std::string::npos) << m;
      EXPECT_EQ(m.find("secret"), std::string::npos) << m;
    }
  }
  EXPECT_EQ(tree(tmp_ / "somewhere"), outside_before);
}

TEST_F(ProjectPaths, EveryNameThatIsNotOneDirectoryIsRefusedByExport) {
  struct Case {
    std::string name, problem;
  };
  for (const Case& c : std::vector<Case>{{"/tmp/VICTIM", "holds a '/'"},
                                        {"..", "is '..'"},
                                        {".", "is '.'"},
                                        {"", "is empty"},
                                        {"it's/..", "holds a '/'"}}) {
    SCOPED_TRACE(c.name);
    rename_project(c.name);
    expect_refused(export_with({}), c.name, c.problem);
  }
}

// The original nests a project named a/b under data/runs/a/b/<run>/. Our dump of it would be
// ambiguous (runs/a/b/<run>/ reads as project a, task run b), so export refuses it by name and
// our import never meets a dump of ours that it refuses (tests/import/hostile_test.cc covers the
// original's dump of such a project).
TEST_F(ProjectPaths, AProjectNamedWithASlashIsRefusedClearlyAndTheRestStillExports) {
  rename_project("a/b");
  stdfs::create_directories(data_ / "data/runs/a");
  stdfs::rename(data_ / "data/runs/Проект_β", data_ / "data/runs/a/b");
  std::map<std::string, std::string> before = state_of(data_);
  expect_refused(export_with({}), "a/b", "holds a '/'");
  EXPECT_EQ(changed_paths(before, state_of(data_)), "");

  RunResult r = export_with({"-tn", "image_labeling"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::string> members = members_of_dump();
  EXPECT_FALSE(members.empty());
  for (const std::string& m : members) EXPECT_NE(m.rfind("runs/a/", 0), 0u) << m;

  // Renamed back to one directory name (as the error says), the whole data dir exports and our
  // import takes that dump into a fresh data dir, files included.
  rename_project("a_b");
  stdfs::rename(data_ / "data/runs/a/b", data_ / "data/runs/a_b");
  r = export_with({});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<stdfs::path> zips = dump_zips(tmp_ / "outputs");
  ASSERT_EQ(zips.size(), 1u);
  stdfs::path fresh = tmp_ / "fresh";
  stdfs::create_directories(fresh);
  RunResult in = run_mephisto(
      {"--data-dir", fresh.string(), "--outputs-dir", (tmp_ / "outputs2").string(), "db", "import", "-f", zips[0].string()},
      "yes\n");
  ASSERT_EQ(in.exit_code, 0) << in.out << in.err;
  EXPECT_TRUE(stdfs::exists(fresh / "data/runs/a_b" / kRun));
}

// Symbolic links in run dirs: one that resolves inside the data dir is followed (as the original's zip does);
// one that leads outside is skipped with a warning naming it, so nothing outside is ever read.
TEST_F(ProjectPaths, RunFilesBehindSymlinksAreExportedOnlyWhenTheyStayInsideTheDataDir) {
  stdfs::path run_dir = data_ / "data/runs/Проект_β" / kRun;
  write(tmp_ / "outside" / "secret.txt", "SECRET OUTSIDE THE DATA DIR");
  write(tmp_ / "outside" / "run" / "x.txt", "SECRET RUN OUTSIDE");
  write(data_ / "shared.txt", "inside, reached through a link");
  stdfs::create_symlink(tmp_ / "outside" / "secret.txt", run_dir / "leak.txt");
  stdfs::create_symlink(data_ / "shared.txt", run_dir / "inside_link.txt");
  // A whole run dir that is a symlink to a directory outside.
  RunResult other = run("/usr/bin/sqlite3", {(data_ / "database.db").string(),
                                             "SELECT t.task_run_id, p.project_name FROM task_runs t JOIN tasks k ON "
                                             "t.task_id = k.task_id JOIN projects p ON k.project_id = p.project_id "
                                             "WHERE t.task_run_id != " + kRun + " LIMIT 1"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  std::string line = other.out.substr(0, other.out.find('\n'));
  std::string other_run = line.substr(0, line.find('|')), other_project = line.substr(line.find('|') + 1);
  stdfs::path other_dir = data_ / "data/runs" / other_project / other_run;
  ASSERT_TRUE(stdfs::is_directory(other_dir)) << other_dir;
  stdfs::remove_all(other_dir);
  stdfs::create_symlink(tmp_ / "outside" / "run", other_dir);

  RunResult r = export_with({});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("Skipped " + (run_dir / "leak.txt").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Skipped " + other_dir.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("outside the data directory"), std::string::npos) << r.err;
  std::vector<std::string> members = members_of_dump();
  const std::string prefix = "runs/Проект_β/" + kRun + "/";
  EXPECT_NE(std::find(members.begin(), members.end(), prefix + "inside_link.txt"), members.end());
  EXPECT_EQ(std::find(members.begin(), members.end(), prefix + "leak.txt"), members.end());
  for (const std::string& m : members) EXPECT_EQ(m.find("x.txt"), std::string::npos) << m;
}

}  // namespace
}  // namespace mdb::test
