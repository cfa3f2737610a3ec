// verify, verify --repair-index, prune and verify -f through the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "store/index.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using Dirs = DataAndStore;

std::string backup(const Dirs& d) { return backup_snapshot(d.data, d.store); }

TEST(Verify, CleanStoreVerifies) {
  Dirs d;
  make_data_dir(d.data);
  backup(d);
  RunResult r = mdb(d.data, d.store, {"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("No problems found."), std::string::npos) << r.out;
  r = mdb(d.data, d.store, {"verify", "--read-data-subset", "50"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(Verify, FlippedByteIsFoundAndBlocksRestore) {
  Dirs d;
  make_data_dir(d.data);
  std::string payload = random_bytes(20000, 1);
  write(d.data / "data" / "media" / "clip.bin", payload);
  std::string name = backup(d);
  flip_in_packs(d.store, payload.substr(5000, 64));

  RunResult r = mdb(d.data, d.store, {"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("snapshot " + name + ": data/media/clip.bin: "), std::string::npos) << r.err;
  r = mdb(d.data, d.store, {"verify"});  // the pack checksum alone finds it too
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("data/media/clip.bin"), std::string::npos) << r.err;

  write(d.data / "after.txt", "x");
  stdfs::remove(d.data / "data" / "media" / "clip.bin");
  auto before = describe(d.data);
  r = mdb(d.data, d.store, {"restore", "-f", name, "--only", "data/media/clip.bin"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not match its id"), std::string::npos) << r.err;
  EXPECT_EQ(diff(before, describe(d.data)), "");
  r = mdb(d.data, d.store, {"restore", "-f", name});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(diff(before, describe(d.data)), "");
  r = mdb(d.data, d.store, {"--json", "snapshots"});
  EXPECT_EQ(nlohmann::json::parse(r.out)["snapshots"].size(), 1u) << "a failed restore took no snapshot";
}

// A flipped byte in a pack's own checksum: every blob is intact, nothing is lost, so it is a
// note naming the pack (exit 0), and restore is exact.
TEST(Verify, DamagedPackChecksumWithIntactBlobsIsANote) {
  Dirs d;
  make_data_dir(d.data);
  std::string name = backup(d);
  auto tree = describe(d.data);
  stdfs::path pack;
  for (const auto& e : stdfs::directory_iterator(d.store / "packs"))
    if (pack.empty() || stdfs::file_size(e.path()) > stdfs::file_size(pack)) pack = e.path();
  std::string bytes = read(pack);
  bytes[bytes.size() - 20] ^= 0x04;  // the trailer: pack checksum (16 bytes), then "MDBPEND1"
  stdfs::permissions(pack, stdfs::perms(0644));
  write(pack, bytes);
  RunResult r = mdb(d.data, d.store, {"verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("Note: pack " + pack.filename().string() + " is damaged: checksum mismatch, in bytes that "
                       "hold no blob"),
            std::string::npos)
      << r.err;
  stdfs::remove_all(d.data);
  r = mdb(d.data, d.store, {"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(tree, describe(d.data)), "");
}

TEST(Verify, RepairIndexRebuildsADeletedIndex) {
  Dirs d;
  make_data_dir(d.data);
  std::string first = backup(d);
  write(d.data / "more.txt", "more");
  std::string second = backup(d);
  auto expected = mdb(d.data, d.store, {"--json", "snapshots"}).out;
  stdfs::remove_all(d.store / "index");

  RunResult r = mdb(d.data, d.store, {"snapshots"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--repair-index"), std::string::npos) << r.err;
  r = mdb(d.data, d.store, {"verify", "--repair-index"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(mdb(d.data, d.store, {"--json", "snapshots"}).out, expected);

  auto now = describe(d.data);
  stdfs::remove(d.data / "more.txt");
  r = mdb(d.data, d.store, {"restore", "-f", second});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(diff(now, describe(d.data)), "");
}

TEST(Prune, ForgetsOldSnapshotsAndReclaimsSpace) {
  Dirs d;
  make_data_dir(d.data);
  write(d.data / "big1.bin", random_bytes(300000, 2));
  backup(d);
  stdfs::remove(d.data / "big1.bin");
  write(d.data / "big2.bin", random_bytes(300000, 3));
  std::string kept = backup(d);
  auto expected = describe(d.data);

  RunResult r = mdb(d.data, d.store, {"--json", "prune", "--keep-last", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["kept"], nlohmann::json::array({kept}));
  EXPECT_EQ(j["forgotten"].size(), 1u);
  EXPECT_LT(j["bytes_after"].get<uint64_t>() + 250000, j["bytes_before"].get<uint64_t>()) << r.out;

  r = mdb(d.data, d.store, {"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  stdfs::remove_all(d.data);
  r = mdb(d.data, d.store, {"restore", "-f", kept});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(diff(expected, describe(d.data)), "");
  // Repairing after a prune does not bring forgotten snapshots back.
  r = mdb(d.data, d.store, {"verify", "--repair-index"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(mdb(d.data, d.store, {"--json", "snapshots"}).out)["snapshots"].size(), 1u)
      << "only the kept backup (a restore into a missing data dir saves nothing first)";
}

// Prune takes blobs out (which renews the blobs' epoch) and then drops the file cache records
// that name them: every record left names indexed blobs only, so prune puts the epoch they carry
// back, and the next backup trusts them without checking and stamping each one anew.
TEST(Prune, LeavesTheFileCacheTrustedAndDropsTheRecordsOfWhatItTookOut) {
  Dirs d;
  make_data_dir(d.data);
  write(d.data / "big1.bin", random_bytes(300000, 2));
  ::usleep(100'000);  // older than the racy window: every file goes into the file cache
  backup(d);
  stdfs::remove(d.data / "big1.bin");
  write(d.data / "big2.bin", random_bytes(300000, 3));
  ::usleep(100'000);
  backup(d);
  RunResult r = mdb(d.data, d.store, {"--json", "prune", "--keep-last", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(nlohmann::json::parse(r.out)["forgotten"].size(), 1u) << r.out;

  store::Index index = store::Index::open(d.store / "index", false);
  store::Txn t = index.read();
  uint64_t epoch = index.blobs_epoch(t);
  size_t records = 0, trusted = 0, naming_missing = 0;
  index.for_each_filecache(t, [&](std::string_view, const store::FileCacheRecord& rec) {
    ++records;
    trusted += rec.epoch == epoch ? 1 : 0;
    for (const store::BlobId& c : rec.chunks) naming_missing += index.has_blob(t, c) ? 0 : 1;
    return true;
  });
  EXPECT_GT(records, 5u);
  EXPECT_EQ(trusted, records);
  EXPECT_EQ(naming_missing, 0u);  // big1.bin's record went with its blob
  r = mdb(d.data, d.store, {"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["files_read"], 0) << r.out;
}

TEST(Prune, KeepWithinAndBadDurations) {
  Dirs d;
  make_data_dir(d.data);
  backup(d);
  RunResult r = mdb(d.data, d.store, {"--json", "prune", "--keep-within", "1d12h"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["forgotten"].size(), 0u);
  r = mdb(d.data, d.store, {"prune", "--keep-within", "soon"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--keep-within soon"), std::string::npos) << r.err;
}

TEST(VerifyZip, BackupZips) {
  TempDir t;
  stdfs::path zip = fixtures() / "s1_realistic_export" / "backups" / "2026_11_25_15_40_27_mephisto_backup.zip";
  RunResult r = run_mephisto({"--data-dir", (t / "d").string(), "db", "verify", "-f", zip.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("No problems found."), std::string::npos) << r.out;

  std::string bytes = read(zip);
  for (size_t i = 100; i + 4000 < bytes.size(); i += 997) bytes[i] ^= 0x55;  // damage members, keep the directory
  write(t / "bad.zip", bytes);
  r = run_mephisto({"--data-dir", (t / "d").string(), "db", "verify", "-f", (t / "bad.zip").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
}

// The members are read on worker threads and judged in zip order, the databases among them: the
// report of a damaged zip is the same with one thread and with three.
TEST(VerifyZip, ADamagedBackupZipIsReportedAlikeWithAnyNumberOfThreads) {
  TempDir t;
  std::string bytes = read(fixtures() / "s1_realistic_export" / "backups" / "2026_11_25_15_40_27_mephisto_backup.zip");
  for (size_t i = 100; i < bytes.size() / 2; i += 997) bytes[i] ^= 0x55;  // damage members, far from the directory
  write(t / "bad.zip", bytes);
  std::string report;
  for (const char* threads : {"1", "3"}) {
    RunResult r = run_mephisto({"--data-dir", (t / "d").string(), "db", "verify", "-f", (t / "bad.zip").string()}, "",
                               {{"MDB_THREADS", threads}});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("Problem: "), std::string::npos) << r.err;
    std::string err = r.err;  // without the database copies' paths, in a temp dir of each run's own
    for (size_t at; (at = err.find(" (extracting to ")) != std::string::npos;) err.erase(at, err.find(')', at) + 1 - at);
    if (report.empty())
      report = err;
    else
      EXPECT_EQ(err, report) << "the report differs between one thread and three";
  }
}

// The databases are checked from copies in the cache dir, so no data dir needs to be
// configured, and the copies are gone afterwards.
TEST(VerifyZip, ABackupZipNeedsNoDataDir) {
  TempDir t;
  stdfs::path zip = fixtures() / "s1_realistic_export" / "backups" / "2026_11_25_15_40_27_mephisto_backup.zip";
  RunResult r = run_mephisto({"db", "verify", "-f", zip.string()}, "",
                             {{"MEPHISTO_DATA_DIR", ""}, {"XDG_CACHE_HOME", (t / "cache").string()}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("No problems found."), std::string::npos) << r.out;
  ASSERT_TRUE(stdfs::is_directory(t / "cache" / "mephisto-db" / "tmp"));
  EXPECT_TRUE(stdfs::is_empty(t / "cache" / "mephisto-db" / "tmp")) << "the database copies are left behind";
  EXPECT_FALSE(stdfs::exists(t / "outputs"));
}

}  // namespace
}  // namespace mdb::test
