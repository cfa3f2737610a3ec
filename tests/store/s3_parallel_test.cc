// Packs uploaded in parallel (docs/S3.md, "Parallel uploads"), through the real binary and the
// fault proxy in front of the test radosgw: when one of several uploads under way fails, the
// backup fails naming that object and the HTTP status, no snapshot names a pack that is not
// there, the data dir is unchanged, and the next backup succeeds and restores exactly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/proxied_store.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

TEST(S3Parallel, OneFailedUploadAmongSeveralFailsTheBackupCleanlyAndTheNextSucceeds) {
  ProxiedStore s;
  const stdfs::path& data = s.data;
  const std::string& bucket = s.bucket;
  FaultProxy& proxy = s.proxy;
  make_data_dir(data);
  // Incompressible media of three packs (a pack is ~32 MiB): several uploads at once.
  for (int i = 0; i < 4; ++i)
    write(data / "data" / "media" / ("clip" + std::to_string(i) + ".bin"), random_bytes(24u << 20, 300 + i));
  auto before = describe(data);
  auto db = [&](std::vector<std::string> args) { return s.run(std::move(args)); };

  const std::string packs = "PUT /" + bucket + "/store/packs/";
  proxy.fail_request(packs, 1, 403);  // the second pack's upload; a 403 is not retried
  RunResult r = db({"backup"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(proxy.failed(), 1);
  EXPECT_GE(proxy.count(packs), 2);
  EXPECT_NE(r.err.find("s3://" + bucket + "/store/packs/"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HTTP 403"), std::string::npos) << r.err;
  EXPECT_EQ(diff(before, describe(data)), "");

  r = db({"--json", "snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).value("snapshots", nlohmann::json::array()).size(), 0u) << r.out;
  r = db({"verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  r = db({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string name = nlohmann::json::parse(r.out).value("snapshot", "");
  r = db({"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  write(data / "data" / "media" / "clip1.bin", "changed");
  r = db({"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(data)), "");
}

}  // namespace
}  // namespace mdb::test
