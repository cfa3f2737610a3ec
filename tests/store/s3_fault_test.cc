// radosgw killed (SIGKILL) in the middle of a backup to S3 and started again (docs/S3.md,
// "Faults"), through the real binary, on a server of the test's own (the shared one is never
// disturbed): the backup fails cleanly naming the endpoint, the data dir is unchanged, no
// snapshot names a missing object, prune collects the packs it left, and the next backup
// succeeds and reads back whole.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/s3server.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

TEST(S3Faults, RadosgwKilledMidBackupFailsItCleanlyAndTheNextBackupSucceeds) {
  CephServer server;
  TempDir tmp;
  stdfs::path data = tmp / "data";
  std::string bucket = fresh_bucket();
  std::string store = "s3://" + bucket + "/store";
  auto env = server.env();
  env["XDG_CACHE_HOME"] = (tmp / "cache").string();
  make_data_dir(data);
  // Incompressible media of several packs (a pack is ~32 MiB), so the backup is still
  // uploading when the first pack is in the bucket.
  for (int i = 0; i < 6; ++i)
    write(data / "data" / "media" / ("clip" + std::to_string(i) + ".bin"), random_bytes(24u << 20, 100 + i));
  auto before = describe(data);
  std::vector<std::string> backup = {"--data-dir", data.string(), "--store", store, "db", "backup"};

  fs::S3Client client(server.settings());
  bool killed = false;
  RunResult r = run_mephisto_paused(
      backup, "",
      [&] {
        // A bound on the wait, not a timed assertion: without a pack after 200 s, the test fails.
        for (int i = 0; i < 4000 && !killed; ++i) {
          if (!client.list(bucket, "store/packs/").empty()) {
            server.kill_rgw();
            killed = true;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      },
      "", env);
  ASSERT_TRUE(killed) << "no pack reached the bucket: " << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(server.vars().at("AWS_ENDPOINT_URL")), std::string::npos) << r.err;
  EXPECT_EQ(diff(before, describe(data)), "");

  server.start_rgw();
  auto db = [&](std::vector<std::string> args) { return mdb(data, store, std::move(args), env); };
  r = db({"--json", "snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).value("snapshots", nlohmann::json::array()).size(), 0u) << r.out;
  r = db({"verify"});  // every snapshot's blobs exist (there are none yet) and every pack is intact
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  // prune collects the packs the failed backup left (no index object names them; their footers
  // are read), and nothing else is there.
  size_t orphans = client.list(bucket, "store/packs/").size();
  EXPECT_GT(orphans, 0u);
  r = db({"prune"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Deleted " + std::to_string(orphans) + " packs"), std::string::npos) << r.out;
  EXPECT_TRUE(client.list(bucket, "store/packs/").empty());
  EXPECT_TRUE(client.list(bucket, "store/locks/").empty());

  r = db({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string name = nlohmann::json::parse(r.out).value("snapshot", "");
  r = db({"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  write(data / "data" / "media" / "clip0.bin", "changed");
  r = db({"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(data)), "");
}

}  // namespace
}  // namespace mdb::test
