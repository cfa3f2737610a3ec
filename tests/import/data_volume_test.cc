// A data dir whose `data/` is its own filesystem (docs/mounts.md): import stages run files on
// that filesystem so the final renames work, and export -del moves run dirs into a trash there;
// nothing of ours is left in the mount afterwards. Mounts a tmpfs, so it runs as root, as CI does.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/import/import_util.h"

namespace mdb::test {
namespace {

TEST(DataVolume, ImportAndExportDeleteWorkWhenDataIsItsOwnFilesystem) {
  TempDir tmp;
  make_sample(tmp / "source", 1);
  stdfs::path zip = export_dump(tmp / "source", tmp / "outputs");
  auto expected = run_files(tmp / "source");
  ASSERT_GT(expected.size(), 5u);

  stdfs::path data = tmp / "data";
  make_sample(data, 2, {"--empty"});
  auto m = Mount::tmpfs(data / "data");

  RunResult r = import(data, zip);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(run_files(data), expected);  // nothing of ours (staging) left inside the mount
  EXPECT_TRUE(is_mount_point(data / "data"));

  r = run_mephisto({"--data-dir", data.string(), "--outputs-dir", (tmp / "outputs").string(), "db", "export", "-del"},
                   "yes\n");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(run_files(data), (std::map<std::string, std::string>{}));  // run dirs deleted, no trash left
  EXPECT_TRUE(is_mount_point(data / "data"));
  for (const auto& e : stdfs::directory_iterator(data / ".mephisto-db"))
    EXPECT_EQ(e.path().filename(), "lock") << "leftover " << e.path();
}

// Our folder at the top of a mount inside the data dir holds an import's staging, filled while the
// import's snapshot is taken: no snapshot holds it (nor what is in it), as none holds the data
// dir's own `.mephisto-db/`.
TEST(DataVolume, OurFolderAtTheTopOfAMountIsInNoSnapshot) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  make_sample(data, 2, {"--empty"});
  auto m = Mount::tmpfs(data / "data");
  write(data / "data/.mephisto-db/import-abc/runs/staged.json", "{}");
  write(data / "data/runs/kept.json", "{}");
  std::vector<std::string> base = {"--data-dir", data.string(), "--store", (tmp / "store").string(), "-y", "db"};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), base.begin(), base.end());
    return run_mephisto(args);
  };
  RunResult r = run({"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = run({"ls", "latest"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("data/runs/kept.json"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(".mephisto-db"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace mdb::test
