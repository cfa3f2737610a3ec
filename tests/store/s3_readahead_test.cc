// The read-ahead of a restore from S3 (docs/S3.md, "Read-ahead"), through the real binary and the
// fault proxy in front of the test radosgw: the next windows of a pack are fetched while the
// restore waits for the current one (GETs overlap), the restore is still byte-exact, and a
// prefetch cut short every time fails the restore cleanly, naming the object.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/proxied_store.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

struct Remote : ProxiedStore {
  std::string name;  // of the snapshot taken
  // Incompressible media of 16 MiB: one pack of four read-ahead windows.
  Remote() {
    make_data_dir(data);
    write(data / "data" / "media" / "clip.bin", random_bytes(16u << 20, 14));
    RunResult r = run({"--json", "backup"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    name = nlohmann::json::parse(r.out).value("snapshot", "");
  }
};

TEST(S3ReadAhead, ARestoreFetchesTheNextWindowsWhileOneIsOnTheWire) {
  Remote s;
  auto before = describe(s.data);
  write(s.data / "data" / "media" / "clip.bin", "changed");
  const std::string packs = "GET /" + s.bucket + "/store/packs/";
  s.proxy.hold_response(packs, 4u << 20);  // the first window's answer does not come
  RunResult r;
  std::thread restore([&] { r = s.run({"restore", "-f", s.name}); });
  // Waits for the state, never for a time: a restore that waits for each answer before the next
  // GET sends no other pack GET while one is held, and this loop ends at its bound.
  for (int i = 0; i < 3000 && !(s.proxy.response_held() && s.proxy.arrived_while_held() > 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  bool held = s.proxy.response_held();
  int overlapping = s.proxy.arrived_while_held();
  s.proxy.release_response();
  restore.join();
  EXPECT_TRUE(held);
  EXPECT_GE(overlapping, 1);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(s.data)), "");
}

TEST(S3ReadAhead, APrefetchCutShortEveryTimeFailsTheRestoreCleanly) {
  Remote s;
  write(s.data / "data" / "media" / "clip.bin", "changed");
  RunResult r = s.run({"backup"});  // the snapshot restore takes first is then already there
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto changed = describe(s.data);
  s.proxy.cut_next(1000000, 1u << 20, true);  // only answers over 1 MiB (the windows) are cut
  r = s.run({"restore", "-f", s.name});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("after 5 attempts"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("s3://" + s.bucket + "/store/packs/"), std::string::npos) << r.err;
  EXPECT_EQ(diff(changed, describe(s.data)), "");
}

}  // namespace
}  // namespace mdb::test
