// Prune on a store whose index is a cache (docs/S3.md, "Prune"): the index objects are rewritten
// to name only the packs that stay BEFORE any pack is deleted, so a prune that fails or dies among
// its deletions leaves packs that no index object names (taken in from their footers, freed by the
// next prune), never an index object that names a pack that is gone, which every reader would take
// for a lost pack (damage). Through the real binary, the fault proxy in front of the test radosgw
// failing the second pack DELETE.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/proxied_store.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

TEST(S3PruneOrder, APruneFailingAmongItsDeletionsLeavesNoIndexObjectNamingAGonePack) {
  ProxiedStore s;
  const stdfs::path& data = s.data;
  make_data_dir(data);
  // Three packs (~32 MiB each) of media that the second backup no longer has: prune deletes them.
  for (int i = 0; i < 3; ++i)
    write(data / "data" / "media" / ("clip" + std::to_string(i) + ".bin"), random_bytes(24u << 20, 700 + i));
  auto db = [&](std::vector<std::string> args) { return s.run(std::move(args)); };
  ASSERT_EQ(db({"backup"}).exit_code, 0);
  stdfs::remove_all(data / "data" / "media");
  RunResult r = db({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string kept = nlohmann::json::parse(r.out).value("snapshot", "");
  auto before = describe(data);

  const std::string deletes = "DELETE /" + s.bucket + "/store/packs/";
  s.proxy.fail_request(deletes, 1, 403);  // the second pack's deletion; a 403 is not retried
  r = db({"prune", "--keep-last", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  ASSERT_EQ(s.proxy.failed(), 1) << "prune deleted fewer than two packs: " << r.out << r.err;
  EXPECT_NE(r.err.find("HTTP 403"), std::string::npos) << r.err;

  // This host and a new one (an empty cache) both find every pack an index object names.
  for (const char* cache : {"cache", "cache2"}) {
    s.cache = cache;
    r = db({"verify", "--read-data"});
    EXPECT_EQ(r.exit_code, 0) << cache << ": " << r.out << r.err;
  }
  write(data / "notes.txt", "changed");
  r = db({"restore", "-f", kept});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(data)), "");
  r = db({"--json", "prune", "--keep-last", "1"});  // frees the pack left behind
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_GE(nlohmann::json::parse(r.out).value("packs_deleted", 0), 1) << r.out;
  r = db({"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace mdb::test
