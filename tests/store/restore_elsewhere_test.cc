// restore --target and restore --dry-run through the real binary (docs/cli.md): a snapshot or
// a backup zip restored into another, new or empty, directory with the same metadata as a
// normal restore, while every byte of the live data dir stays as it was and no snapshot is
// taken; and a dry run that names the entries a restore would add, remove and change, which
// the real restore then does. Every --json object is validated against docs/json-schema.json.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using Json = nlohmann::json;

struct Site {
  DataAndStore d;
  SchemaCheck schema;
  stdfs::path elsewhere = d.tmp / "elsewhere";
  Site() { make_data_dir(d.data); }
  Json json(std::vector<std::string> args, int exit_code = 0) {
    args.insert(args.begin(), "--json");
    SCOPED_TRACE(args[1]);
    return schema.parse(mdb(d.data, d.store, args), exit_code);
  }
  size_t snapshot_count() { return json({"snapshots"})["snapshots"].size(); }
};

// The paths of `changes` whose change is `what` ("added", "removed", "changed").
std::vector<std::string> paths(const Json& changes, const std::string& what) {
  std::vector<std::string> out;
  for (const Json& c : changes)
    if (c["change"] == what) out.push_back(c["path"].get<std::string>());
  return out;
}

TEST(RestoreTarget, FillsANewDirectoryAndLeavesEveryByteOfTheDataDirAsItWas) {
  Site s;
  auto as_backed_up = describe(s.d.data);
  std::string name = backup_snapshot(s.d.data, s.d.store);
  write(s.d.data / "later.txt", "written after the backup");
  write(s.d.data / "readonly.txt.new", "x");
  auto live_bytes = tree(s.d.data);
  auto live = describe(s.d.data);
  size_t snapshots = s.snapshot_count();

  // No prompt (nothing that exists is changed): no "yes" needed, none asked for.
  RunResult r = run_mephisto({"--json", "--data-dir", s.d.data.string(), "--store", s.d.store.string(), "db",
                              "restore", "-f", name, "--target", s.elsewhere.string()});
  s.schema.add(r);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["target"], s.elsewhere.string());
  EXPECT_EQ(j["snapshot"], name);
  EXPECT_FALSE(j.contains("snapshot_before")) << r.out;
  EXPECT_EQ(diff(describe(s.elsewhere), as_backed_up), "");  // modes, mtimes, links, databases
  EXPECT_EQ(tree(s.d.data), live_bytes) << "restore --target changed the data dir";
  EXPECT_EQ(diff(describe(s.d.data), live), "");
  EXPECT_FALSE(stdfs::exists(s.d.data / ".mephisto-db" / "journal"));
  EXPECT_EQ(s.snapshot_count(), snapshots) << "restore --target took a snapshot";

  // An existing empty directory, and --only.
  stdfs::path empty = s.d.tmp / "empty";
  stdfs::create_directories(empty);
  j = s.json({"restore", "-f", name, "--target", empty.string(), "--only", "tools"});
  EXPECT_EQ(tree(empty / "tools"), tree(s.d.data / "tools"));
  EXPECT_FALSE(stdfs::exists(empty / "database.db"));
  EXPECT_EQ(tree(s.d.data), live_bytes);
}

TEST(RestoreTarget, RefusesANonEmptyDirectoryAndTheDataDirOrAnythingInIt) {
  Site s;
  std::string name = backup_snapshot(s.d.data, s.d.store);
  auto live_bytes = tree(s.d.data);
  write(s.elsewhere / "mine.txt", "keep me");
  Json j = s.json({"restore", "-f", name, "--target", s.elsewhere.string()}, 1);
  EXPECT_NE(j["error"].get<std::string>().find("is not empty"), std::string::npos) << j.dump();
  EXPECT_EQ(tree(s.elsewhere), (std::map<std::string, std::string>{{"mine.txt", "keep me"}}));
  for (const stdfs::path& inside : {s.d.data, s.d.data / "data" / "new", s.d.data / ".." / "data" / "x"}) {
    j = s.json({"restore", "-f", name, "--target", inside.string()}, 2);
    EXPECT_NE(j["error"].get<std::string>().find("never touches the data directory"), std::string::npos) << j.dump();
  }
  EXPECT_EQ(tree(s.d.data), live_bytes);
  EXPECT_EQ(s.snapshot_count(), 1u);
}

TEST(RestoreDryRun, NamesWhatARestoreWouldAddRemoveAndChangeAndTheRestoreDoesIt) {
  Site s;
  auto as_backed_up = describe(s.d.data);
  std::string name = backup_snapshot(s.d.data, s.d.store);
  write(s.d.data / "later.txt", "12345");                // would be removed
  stdfs::remove(s.d.data / "tools" / "run.sh");           // would be added
  stdfs::permissions(s.d.data / "readonly.txt", stdfs::perms::owner_write, stdfs::perm_options::add);
  write(s.d.data / "readonly.txt", "a longer text now");  // would be changed
  auto live_bytes = tree(s.d.data);
  auto live = describe(s.d.data);

  Json dry = s.json({"restore", "-f", name, "--dry-run"});
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(paths(dry["changes"], "added"), (std::vector<std::string>{"tools/run.sh"}));
  EXPECT_EQ(paths(dry["changes"], "removed"), (std::vector<std::string>{"later.txt"}));
  EXPECT_EQ(paths(dry["changes"], "changed"), (std::vector<std::string>{"readonly.txt"}));
  ASSERT_EQ(dry["changes"].size(), 3u) << dry.dump();
  EXPECT_EQ(dry["changes"][1]["size_before"], 5);  // later.txt, as diff gives it
  EXPECT_TRUE(dry["changes"][1]["size_after"].is_null());
  EXPECT_EQ(dry["changes"][2]["size_before"], 17);
  EXPECT_EQ(dry["changes"][2]["size_after"], 10);
  EXPECT_EQ(dry["changes"][2]["type"], "file");
  EXPECT_EQ(dry["bytes_removed"], 5);
  EXPECT_EQ(dry["bytes_changed"], 10);  // the snapshot's readonly.txt
  EXPECT_EQ(tree(s.d.data), live_bytes) << "a dry run changed the data dir";
  EXPECT_EQ(diff(describe(s.d.data), live), "");
  EXPECT_EQ(s.snapshot_count(), 1u) << "a dry run took a snapshot";

  RunResult text = mdb(s.d.data, s.d.store, {"restore", "-f", name, "--dry-run", "-v", "1"});
  EXPECT_NE(text.out.find("would add 1 entries (" + std::to_string(dry["bytes_added"].get<uint64_t>()) + " B), "
                          "remove 1 (5 B) and change 1 (10 B)."),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("  + tools/run.sh\n  - later.txt\n  M readonly.txt\nDry run: nothing was changed."),
            std::string::npos)
      << text.out;

  s.json({"restore", "-f", name});
  EXPECT_EQ(diff(describe(s.d.data), as_backed_up), "");
  Json again = s.json({"restore", "-f", name, "--dry-run"});
  EXPECT_TRUE(again["changes"].empty()) << again.dump();

  // Into a new directory: everything is added.
  Json into = s.json({"restore", "-f", name, "--dry-run", "--target", s.elsewhere.string()});
  EXPECT_EQ(paths(into["changes"], "added").size(), s.json({"ls", name})["entries"].size());
  EXPECT_EQ(into["changes"].size(), s.json({"ls", name})["entries"].size());
  EXPECT_FALSE(stdfs::exists(s.elsewhere));
}

}  // namespace
}  // namespace mdb::test
