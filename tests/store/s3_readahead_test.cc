// The read-ahead of a restore from S3 (docs/S3.md, "Read-ahead"), through the real binary and the
// fault proxy in front of the test radosgw: the next windows of a pack, and those of the next
// pack, are fetched while the restore waits for the current one (GETs overlap), the restore is
// still byte-exact, a prefetch that fails is retried or fails the restore cleanly, naming the
// object, and `restore --only` asks for the bytes it restores only.
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

// Two snapshots: the first holds a.bin (1 MiB, incompressible) and the small files in one pack,
// the second adds b.bin (1 MiB) in a pack of its own, so restoring it reads both packs, the small
// files after b.bin in path order from the first again.
struct TwoPacks : ProxiedStore {
  std::string name;  // of the second snapshot
  stdfs::path media = data / "data" / "media";
  TwoPacks() {
    make_data_dir(data);
    write(media / "a.bin", random_bytes(1u << 20, 21));
    EXPECT_EQ(run({"backup"}).exit_code, 0);
    write(media / "b.bin", random_bytes(1u << 20, 22));
    RunResult r = run({"--json", "backup"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    name = nlohmann::json::parse(r.out).value("snapshot", "");
  }
  std::string packs() const { return "GET /" + bucket + "/store/packs/"; }
  // Changes both files and backs that up, so the snapshot `restore -f` takes first adds nothing
  // the test's proxy settings could meet.
  void change() {
    write(media / "a.bin", "changed a");
    write(media / "b.bin", "changed b");
    EXPECT_EQ(run({"backup"}).exit_code, 0);
  }
  // Whether a staging dir of a restore is left beside the data dir.
  bool staging_left() const {
    for (const auto& e : stdfs::directory_iterator(tmp.path()))
      if (e.path().filename().string().rfind(".data.mdb-restore-", 0) == 0) return true;
    return false;
  }
};

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {digits[c >> 4], digits[c & 15]};
  return out;
}

std::string path_of(const std::string& request) {  // "GET /b/k FIRST-LAST" -> "GET /b/k"
  return request.substr(0, request.find(' ', request.find(' ') + 1));
}

TEST(S3ReadAhead, TheNextPacksWindowIsFetchedWhileThisPacksWindowIsHeld) {
  TwoPacks s;
  auto before = describe(s.data);
  s.change();
  s.proxy.hold_response(s.packs(), 512u << 10);  // the first window's answer (either pack's) does not come
  RunResult r;
  std::thread restore([&] { r = s.run({"restore", "-f", s.name}); });
  // Waits for the state, never for a time: a restore that fetches ahead only within the pack being
  // read sends no GET of another pack while one is held, and this loop ends at its bound.
  auto other_pack = [&] {
    if (!s.proxy.response_held()) return false;
    std::string held = path_of(s.proxy.held_request());
    for (const std::string& q : s.proxy.requests_while_held())
      if (q.rfind(s.packs(), 0) == 0 && q != held) return true;
    return false;
  };
  for (int i = 0; i < 3000 && !other_pack(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  bool fetched_ahead = other_pack();
  s.proxy.release_response();
  restore.join();
  EXPECT_TRUE(fetched_ahead) << "held: " << s.proxy.held_request();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(s.data)), "");
}

TEST(S3ReadAhead, AFailedPrefetchIsRetriedAndARefusedOneFailsTheRestoreCleanly) {
  TwoPacks s;
  auto before = describe(s.data);
  s.change();
  auto changed = describe(s.data);
  s.proxy.fail_request(s.packs(), 0, 403, 512u << 10);  // a window GET is refused: not retried
  RunResult r = s.run({"restore", "-f", s.name});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("HTTP 403"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("s3://" + s.bucket + "/store/packs/"), std::string::npos) << r.err;
  EXPECT_EQ(diff(changed, describe(s.data)), "");
  EXPECT_FALSE(s.staging_left());
  s.proxy.fail_request(s.packs(), 0, 500, 512u << 10);  // a server error: retried
  r = s.run({"restore", "-f", s.name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(s.proxy.failed(), 2);
  EXPECT_EQ(diff(before, describe(s.data)), "");
}

TEST(S3ReadAhead, RestoreOnlyAsksForTheBytesItRestores) {
  ProxiedStore s;
  make_data_dir(s.data);
  stdfs::path media = s.data / "data" / "media";
  for (char c : std::string("abc")) write(media / (std::string(1, c) + ".bin"), random_bytes(1u << 20, c));
  RunResult r = s.run({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string name = nlohmann::json::parse(r.out).value("snapshot", "");
  write(media / "b.bin", "changed");
  ASSERT_EQ(s.run({"backup"}).exit_code, 0);
  const std::string packs = "GET /" + s.bucket + "/store/packs/";
  uint64_t asked = s.proxy.bytes_asked(packs);
  r = s.run({"restore", "-f", name, "--only", "data/media/b.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(read(media / "b.bin"), random_bytes(1u << 20, 'b'));
  EXPECT_EQ(read(media / "a.bin"), random_bytes(1u << 20, 'a'));
  // b.bin's blob (1 MiB and its record) and the manifest's parts; not a.bin's nor c.bin's.
  uint64_t restored = s.proxy.bytes_asked(packs) - asked;
  EXPECT_GE(restored, 1u << 20);
  EXPECT_LT(restored, (1u << 20) + (256u << 10));
}

TEST(S3ReadAhead, TheManifestsNextPartIsFetchedWhileOneIsRead) {
  ProxiedStore s;
  make_data_dir(s.data);
  // Over 4096 entries: a manifest of two parts at least; long random names keep every part over
  // 2 KiB compressed, and the snapshot record under it.
  for (int i = 0; i < 4200; ++i)
    write(s.data / "data" / "many" / (hex(random_bytes(100, 1000 + i)) + std::to_string(i)), "x");
  RunResult r = s.run({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string name = nlohmann::json::parse(r.out).value("snapshot", "");
  // `ls` reads the record and the manifest's parts only: the first pack GET of 2 KiB or more is
  // a part's, held; a reader fetching one part at a time then sends no other until released.
  s.proxy.hold_response("GET /" + s.bucket + "/store/packs/", 2u << 10);
  std::thread ls([&] { r = s.run({"ls", name}); });
  for (int i = 0; i < 3000 && !(s.proxy.response_held() && s.proxy.arrived_while_held() > 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  bool held = s.proxy.response_held();
  int overlapping = s.proxy.arrived_while_held();
  s.proxy.release_response();
  ls.join();
  EXPECT_TRUE(held);
  EXPECT_GE(overlapping, 1) << s.proxy.held_request();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("4199"), std::string::npos);
}

}  // namespace
}  // namespace mdb::test
