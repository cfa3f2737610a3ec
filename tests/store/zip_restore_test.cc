// Restore from backup zips (ours and the original's) and `backup --zip`.
#include <gtest/gtest.h>
#include <zip.h>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

// What a zip holds, as tree() describes a directory (files by content, dirs as "x/").
std::map<std::string, std::string> zip_contents(const stdfs::path& zip) {
  TempDir t;
  unzip_to(zip, t / "x");
  return tree(t / "x");
}

std::vector<stdfs::path> fixture_backup_zips() {
  std::vector<stdfs::path> out;
  for (const auto& e : stdfs::recursive_directory_iterator(fixtures()))
    if (e.path().extension() == ".zip" && e.path().parent_path().filename() == "backups") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ZipRestore, EveryFixtureBackupRestoresToExactlyItsContents) {
  auto zips = fixture_backup_zips();
  ASSERT_GE(zips.size(), 10u);
  TempDir t;
  stdfs::path data = t / "data", store = t / "store";
  make_data_dir(data);  // something else first: all of it must go
  for (const stdfs::path& zip : zips) {
    SCOPED_TRACE(zip.string());
    RunResult r = mdb(data, store, {"restore", "-f", zip.string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("Started restoring from backup " + zip.string()), std::string::npos) << r.out;
    auto got = tree(data);
    got.erase(".mephisto-db/");
    got.erase(".mephisto-db/lock");
    EXPECT_EQ(got, zip_contents(zip));
  }
}

TEST(ZipRestore, IntoAFreshDirNeedsNoStore) {
  TempDir t;
  stdfs::path zip = fixture_backup_zips().front();
  RunResult r = mdb(t / "data", t / "store", {"restore", "-f", zip.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = tree(t / "data");
  got.erase(".mephisto-db/");
  got.erase(".mephisto-db/lock");
  EXPECT_EQ(got, zip_contents(zip));
  EXPECT_FALSE(stdfs::exists(t / "store"));
}

TEST(ZipRestore, BareNameResolvesInTheBackupFolder) {
  TempDir t;
  stdfs::path data = t / "data", store = t / "store", outputs = t / "outputs";
  make_data_dir(data);
  stdfs::path zip = fixture_backup_zips().front();
  stdfs::create_directories(outputs / "backup");
  stdfs::copy_file(zip, outputs / "backup" / zip.filename());
  RunResult r = run_mephisto({"--data-dir", data.string(), "--store", store.string(), "--outputs-dir", outputs.string(),
                              "db", "restore", "-f", zip.filename().string()},
                             "yes\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = tree(data);
  EXPECT_TRUE(got.count("database.db"));
  EXPECT_FALSE(got.count("tools/run.sh"));
}

TEST(ZipRestore, BackupZipIsTheSnapshotAndRestores) {
  TempDir t;
  stdfs::path data = t / "data", store = t / "store", outputs = t / "outputs";
  make_data_dir(data);
  auto before = describe(data);
  RunResult r = run_mephisto({"--data-dir", data.string(), "--store", store.string(), "--outputs-dir", outputs.string(),
                              "db", "backup", "--zip"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto pos = r.out.find("Finished successfully, saved to file: ");
  ASSERT_NE(pos, std::string::npos) << r.out;
  stdfs::path zip = r.out.substr(pos + 38, r.out.find('\n', pos) - pos - 38);
  EXPECT_EQ(zip.parent_path(), outputs / "backup");
  EXPECT_NE(r.out.find("saved to snapshot: " + zip.stem().string()), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("link-to-run (a symlink)"), std::string::npos) << r.err;
  auto contents = zip_contents(zip);
  EXPECT_EQ(contents["tools/run.sh"], "#!/bin/sh\necho hi\n");
  EXPECT_EQ(contents.count("data/empty dir/"), 1u);

  stdfs::remove_all(data);
  r = mdb(data, store, {"restore", "-f", zip.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto after = describe(data, false);
  for (auto& [k, n] : describe(data, false)) (void)k, (void)n;
  for (auto& [k, n] : before) {
    if (n.kind == 'l') continue;  // not in a zip
    ASSERT_TRUE(after.count(k)) << k;
    EXPECT_EQ(after[k].content, n.content) << k;  // DBs logically equal, files byte for byte
  }
}

// A zip with one member of the given name and external attributes.
void write_zip(const stdfs::path& path, const std::vector<std::pair<std::string, uint32_t>>& members) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(z, nullptr);
  static const char kData[] = "x";
  for (const auto& [name, attrs] : members) {
    zip_source_t* src = zip_source_buffer(z, kData, 1, 0);
    zip_int64_t i = zip_file_add(z, name.c_str(), src, ZIP_FL_ENC_UTF_8);
    ASSERT_GE(i, 0) << name;
    if (attrs) zip_file_set_external_attributes(z, static_cast<zip_uint64_t>(i), 0, ZIP_OPSYS_UNIX, attrs << 16);
  }
  ASSERT_EQ(zip_close(z), 0);
}

TEST(ZipRestore, HostileZipsAreRefusedBeforeAnythingIsWritten) {
  TempDir t;
  stdfs::path data = t / "data", store = t / "store";
  make_data_dir(data);
  auto before = describe(data);
  struct Case {
    std::vector<std::pair<std::string, uint32_t>> members;
    std::string expect;
  };
  std::vector<Case> cases = {
      {{{"database.db", 0}, {"../evil.txt", 0}}, "evil.txt"},
      {{{"database.db", 0}, {"/etc/evil", 0}}, "/etc/evil"},
      {{{"database.db", 0}, {"link", 0120777}}, "link"},
      {{{"runs/x/dump.json", 0}}, "is not a Mephisto backup"},
  };
  for (const Case& c : cases) {
    stdfs::path zip = t / "bad.zip";
    write_zip(zip, c.members);
    RunResult r = mdb(data, store, {"restore", "-f", zip.string()});
    EXPECT_EQ(r.exit_code, 1) << c.expect;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_EQ(diff(before, describe(data)), "");
    EXPECT_FALSE(stdfs::exists(t / "evil.txt"));
  }
  EXPECT_FALSE(stdfs::exists(store));  // nothing written to the store either
}

}  // namespace
}  // namespace mdb::test
