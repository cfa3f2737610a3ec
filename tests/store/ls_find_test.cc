// `mephisto db ls` and `mephisto db find` (docs/cli.md, "ls / find") through the real binary:
// plain, --long and --json listings, a PATH and what is under it, globs with *, ** and ?, and
// "did you mean ...?" for a snapshot name that is not in the store (ls and restore).
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/support/s3server.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

const std::map<std::string, std::string> kUtc = {{"TZ", "UTC"}};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

struct Backed {
  DataAndStore d;
  std::string name;
  Backed() {
    make_data_dir(d.data);
    stdfs::create_hard_link(d.data / "tools" / "run.sh", d.data / "tools" / "run-hard.sh");
    name = backup_snapshot(d.data, d.store);
  }
  RunResult db(std::vector<std::string> args) const { return mdb(d.data, d.store, std::move(args), kUtc); }
};

const std::vector<std::string> kAllPaths = {
    "dangling", "data/", "data/empty dir/", "data/runs/", "data/runs/Proj'ect β/", "data/runs/Proj'ect β/1000003/",
    "data/runs/Proj'ect β/1000003/1000004/", "data/runs/Proj'ect β/1000003/1000004/1000005/",
    "data/runs/Proj'ect β/1000003/1000004/1000005/agent_data.json",
    "data/runs/Proj'ect β/1000003/1000004/1000005/upload – naïve's \"file\".bin",
    "data/runs/Proj'ect β/1000003/1000004/assign_data.json", "database.db", "link-to-run", "mock/", "mock/mock.db",
    "readonly.txt", "tools/", "tools/run-hard.sh", "tools/run.sh"};

TEST(LsFind, LsListsEveryPathInManifestOrderDirectoriesWithASlash) {
  Backed b;
  RunResult r = b.db({"ls", b.name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(r.out), kAllPaths);
}

TEST(LsFind, LsLongShowsModeOwnerSizeMtimeAndLinks) {
  Backed b;
  RunResult r = b.db({"ls", b.name, "--long"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string owner = std::to_string(::getuid()) + ":" + std::to_string(::getgid());
  std::map<std::string, std::string> by_path;
  const std::regex time("  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  ");
  for (const std::string& l : lines(r.out)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(l, m, time)) << l;
    by_path[m.suffix().str()] = l;
  }
  ASSERT_TRUE(by_path.count("readonly.txt")) << r.out;
  EXPECT_EQ(by_path["readonly.txt"].substr(0, 10), "-r--r--r--");
  EXPECT_NE(by_path["readonly.txt"].find(" " + owner + " "), std::string::npos) << r.out;
  EXPECT_NE(by_path["readonly.txt"].find(" 10  2009-02-13 23:31:30  readonly.txt"), std::string::npos) << r.out;
  EXPECT_EQ(by_path["tools/"].substr(0, 1), "d");
  EXPECT_EQ(by_path["tools/run-hard.sh"].substr(0, 10), "-rwxr-xr-x") << r.out;
  EXPECT_TRUE(by_path.count("link-to-run -> tools/run.sh")) << r.out;
  EXPECT_EQ(by_path["link-to-run -> tools/run.sh"].substr(0, 1), "l");
  EXPECT_TRUE(by_path.count("tools/run.sh => tools/run-hard.sh")) << r.out;  // the later path links
}

TEST(LsFind, LsJsonGivesEveryEntryWithItsKeys) {
  Backed b;
  RunResult r = b.db({"--json", "ls", b.name});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["command"], "ls");
  EXPECT_EQ(j["snapshot"], b.name);
  EXPECT_EQ(j["exit_code"], 0);
  ASSERT_EQ(j["entries"].size(), kAllPaths.size());
  std::map<std::string, nlohmann::json> by_path;
  for (const auto& e : j["entries"]) by_path[e["path"]] = e;
  const nlohmann::json& ro = by_path["readonly.txt"];
  EXPECT_EQ(ro["type"], "file");
  EXPECT_EQ(ro["mode"], 0444);
  EXPECT_EQ(ro["size"], 10);
  EXPECT_EQ(ro["mtime"], "2009-02-13 23:31:30");
  EXPECT_EQ(ro["mtime_ns"], 1'234'567'890'123'456'789);
  EXPECT_EQ(ro["uid"], ::getuid());
  EXPECT_EQ(ro["gid"], ::getgid());
  EXPECT_FALSE(ro.contains("target"));
  EXPECT_EQ(by_path["link-to-run"]["type"], "symlink");
  EXPECT_EQ(by_path["link-to-run"]["target"], "tools/run.sh");
  EXPECT_EQ(by_path["tools/run.sh"]["type"], "hardlink");
  EXPECT_EQ(by_path["tools/run.sh"]["target"], "tools/run-hard.sh");
  EXPECT_EQ(by_path["data/empty dir"]["type"], "dir");
}

TEST(LsFind, LsPathGivesThatEntryAndWhatIsUnderIt) {
  Backed b;
  RunResult file = b.db({"ls", b.name, "readonly.txt"});
  EXPECT_EQ(file.exit_code, 0) << file.err;
  EXPECT_EQ(file.out, "readonly.txt\n");
  RunResult dir = b.db({"ls", b.name, "./tools/"});
  EXPECT_EQ(dir.exit_code, 0) << dir.err;
  EXPECT_EQ(dir.out, "tools/\ntools/run-hard.sh\ntools/run.sh\n");
  RunResult sub = b.db({"--json", "ls", b.name, "data/runs/Proj'ect β/1000003/1000004/1000005"});
  ASSERT_EQ(sub.exit_code, 0) << sub.err;
  nlohmann::json j = nlohmann::json::parse(sub.out);
  EXPECT_EQ(j["path"], "data/runs/Proj'ect β/1000003/1000004/1000005");
  EXPECT_EQ(j["entries"].size(), 3u);
}

TEST(LsFind, LsUnknownPathIsNotFoundAndAPrefixOfANameIsNotAPath) {
  Backed b;
  for (std::string path : {"nope", "data/run", "tool"}) {
    RunResult r = b.db({"ls", b.name, path});
    EXPECT_EQ(r.exit_code, 1) << path;
    EXPECT_EQ(r.out, "") << path;
    EXPECT_NE(r.err.find(path + " is not in snapshot " + b.name + "."), std::string::npos) << r.err;
  }
  RunResult up = b.db({"ls", b.name, "../x"});
  EXPECT_EQ(up.exit_code, 2) << up.err;
}

TEST(LsFind, UnknownSnapshotNameSuggestsTheClosestForLsAndRestore) {
  Backed b;
  std::string typo = b.name;
  typo[typo.size() - 2] = typo[typo.size() - 2] == 'u' ? 'x' : 'u';
  RunResult ls = b.db({"--json", "ls", typo});
  EXPECT_EQ(ls.exit_code, 1);
  nlohmann::json j = nlohmann::json::parse(ls.out);
  EXPECT_EQ(j["kind"], "not_found");
  EXPECT_NE(j["error"].get<std::string>().find("Did you mean " + b.name + "?"), std::string::npos) << ls.out;
  RunResult restore = b.db({"restore", "-f", typo});
  EXPECT_EQ(restore.exit_code, 1);
  EXPECT_NE(restore.err.find("Did you mean " + b.name + "?"), std::string::npos) << restore.err;
  RunResult far = b.db({"ls", "zzz"});
  EXPECT_EQ(far.exit_code, 1);
  EXPECT_EQ(far.err.find("Did you mean"), std::string::npos) << far.err;
  RunResult usage = b.db({"ls"});
  EXPECT_EQ(usage.exit_code, 2);
}

TEST(LsFind, FindMatchesGlobsNewestSnapshotFirst) {
  Backed b;
  write(b.d.data / "new.txt", "new\n");
  std::string second = backup_snapshot(b.d.data, b.d.store);
  RunResult r = b.db({"--json", "find", "*.txt"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["snapshots"].size(), 2u) << r.out;
  EXPECT_EQ(j["snapshots"][0]["name"], second);
  EXPECT_EQ(j["snapshots"][0]["entries"].size(), 2u);
  EXPECT_EQ(j["snapshots"][1]["name"], b.name);
  EXPECT_EQ(j["snapshots"][1]["entries"].size(), 1u);
  EXPECT_EQ(j["snapshots"][1]["entries"][0]["path"], "readonly.txt");
  EXPECT_EQ(j["snapshots"][1]["entries"][0]["size"], 10);

  RunResult prose = b.db({"find", "new.tx?"});
  ASSERT_EQ(prose.exit_code, 0) << prose.err;
  std::vector<std::string> out = lines(prose.out);
  ASSERT_EQ(out.size(), 2u) << prose.out;
  EXPECT_EQ(out[0].rfind(second + "  (", 0), 0u) << prose.out;
  EXPECT_NE(out[1].find(" 4  "), std::string::npos) << prose.out;
  EXPECT_EQ(out[1].substr(out[1].size() - 9), "  new.txt");
}

TEST(LsFind, FindStarStopsAtSlashDoubleStarCrossesIt) {
  Backed b;
  auto paths = [&](const std::string& pattern) {
    RunResult r = b.db({"--json", "find", pattern});
    std::vector<std::string> found;
    if (r.exit_code != 0) return found;
    nlohmann::json j = nlohmann::json::parse(r.out);
    for (const auto& e : j["snapshots"][0]["entries"]) found.push_back(e["path"]);
    return found;
  };
  std::string agent = "data/runs/Proj'ect β/1000003/1000004/1000005/agent_data.json";
  EXPECT_EQ(paths("**/agent_data.json"), std::vector<std::string>{agent});
  EXPECT_EQ(paths("data/**/agent_data.json"), std::vector<std::string>{agent});
  EXPECT_EQ(paths("data/*/agent_data.json"), std::vector<std::string>{});
  EXPECT_EQ(paths("**/*.db"), (std::vector<std::string>{"database.db", "mock/mock.db"}));
  EXPECT_EQ(paths("*.db"), std::vector<std::string>{"database.db"});
  EXPECT_EQ(paths("tools/run?sh"), std::vector<std::string>{"tools/run.sh"});
  EXPECT_EQ(paths("tool?run.sh"), std::vector<std::string>{});  // ? does not match '/'
  EXPECT_EQ(paths("[lr]*"), (std::vector<std::string>{"link-to-run", "readonly.txt"}));
}

TEST(LsFind, FindWithNoMatchFailsWithOneLine) {
  Backed b;
  RunResult r = b.db({"find", "nothing*here"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("No snapshot holds a path matching nothing*here."), std::string::npos) << r.err;
  RunResult j = b.db({"--json", "find", "nothing*here"});
  EXPECT_EQ(j.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(j.out)["kind"], "not_found");
}

TEST(LsFind, LsAndFindReadOnlyTheStoreOnS3TooWithTheDataDirGone) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  std::string store = "s3://" + fresh_bucket() + "/ls";
  std::map<std::string, std::string> env = s3_env();
  env["XDG_CACHE_HOME"] = (tmp / "cache").string();
  env["TZ"] = "UTC";
  make_data_dir(data);
  RunResult backup = mdb(data, store, {"--json", "backup"}, env);
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  std::string name = nlohmann::json::parse(backup.out).value("snapshot", "");
  stdfs::remove_all(data);
  RunResult ls = mdb(data, store, {"ls", name, "tools"}, env);
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(ls.out, "tools/\ntools/run.sh\n");
  RunResult find = mdb(data, store, {"--json", "find", "**/assign_data.json"}, env);
  ASSERT_EQ(find.exit_code, 0) << find.err;
  EXPECT_EQ(nlohmann::json::parse(find.out)["snapshots"][0]["name"], name);
  EXPECT_FALSE(stdfs::exists(data));
}

}  // namespace
}  // namespace mdb::test
