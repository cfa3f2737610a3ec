// Connections dropped in the middle of a transfer, and slow ones (docs/S3.md, "Faults"), through
// the real binary and the fault proxy in front of the test radosgw: an upload or download cut
// short is retried and the command succeeds with every byte right, or, cut every time, fails
// cleanly with the data dir unchanged. A download cut short is never taken for the object.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/proxied_store.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

struct Remote : ProxiedStore {
  Remote() {
    make_data_dir(data);
    // Incompressible, so the pack is ~4 MiB on the wire both ways.
    write(data / "data" / "media" / "clip.bin", random_bytes(4u << 20, 5));
  }
};

TEST(S3TransferFaults, UploadsCutShortAreRetriedAndTheBackupReadsBackWhole) {
  Remote s;
  auto before = describe(s.data);
  // The next four connections dropped 1 MiB into what the client sends (some are the lock's or
  // the reads', which never send that much; the upload threads connect anew): fewer than the 5
  // attempts, so the pack's upload gets through.
  s.proxy.cut_next(4, 1u << 20, false);
  RunResult r = s.run({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_GE(s.proxy.cut(), 1);
  std::string bucket = s.store.substr(5, s.store.find('/', 5) - 5);
  fs::S3Client client(s3_server());
  size_t packs = client.list(bucket, "store/packs/").size();
  EXPECT_GT(s.proxy.count("PUT /" + bucket + "/store/packs/"), static_cast<int>(packs));  // the cut one again
  std::string name = nlohmann::json::parse(r.out).value("snapshot", "");
  r = s.run({"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  write(s.data / "data" / "media" / "clip.bin", "changed");
  r = s.run({"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(s.data)), "");
}

TEST(S3TransferFaults, DownloadsCutShortAreRetriedOrFailTheRestoreCleanly) {
  Remote s;
  auto before = describe(s.data);
  RunResult r = s.run({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string name = nlohmann::json::parse(r.out).value("snapshot", "");
  write(s.data / "data" / "media" / "clip.bin", "changed");
  auto changed = describe(s.data);

  // Cut on every connection, 64 KiB into a response: the 4 MiB file never arrives whole.
  s.proxy.cut_next(1000000, 64u << 10, true);
  r = s.run({"restore", "-f", name});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("after 5 attempts"), std::string::npos) << r.err;
  EXPECT_EQ(diff(changed, describe(s.data)), "");

  s.proxy.cut_next(2, 64u << 10, true);  // fewer cuts than the retries
  r = s.run({"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_GE(s.proxy.cut(), 2);
  EXPECT_EQ(diff(before, describe(s.data)), "");
}

TEST(S3TransferFaults, ASlowConnectionOnlyTakesLonger) {
  Remote s;
  auto before = describe(s.data);
  s.proxy.delay(std::chrono::milliseconds(2));  // before every piece passed on, both ways
  RunResult r = s.run({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string name = nlohmann::json::parse(r.out).value("snapshot", "");
  write(s.data / "data" / "media" / "clip.bin", "changed");
  r = s.run({"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(s.data)), "");
}

}  // namespace
}  // namespace mdb::test
