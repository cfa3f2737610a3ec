// verify --read-data --repair through the real binary: damaged blobs are stored anew from the
// live data dir (re-hashed), the rest are dropped from the index and the snapshots they leave
// incomplete are named; a repair killed at any fault point leaves the store as before or after.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/sanitized.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

// A data dir with an incompressible run file, backed up, its blob damaged in the pack, then
// backed up again (the second snapshot reuses the damaged blob: the file cache matches).
struct Damaged {
  DataAndStore d;
  std::string payload = random_bytes(20000, 7);
  std::string first, second;
  std::map<std::string, Node> tree;
  Damaged() {
    make_data_dir(d.data);
    write(d.data / "data" / "media" / "clip.bin", payload);
    first = backup_snapshot(d.data, d.store);
    tree = describe(d.data);
    flip_in_packs(d.store, payload.substr(5000, 64));
    second = backup_snapshot(d.data, d.store);
  }
  RunResult run(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) const {
    return mdb(d.data, d.store, std::move(args), env);
  }
};

// `snapshot` restores exactly `tree` into a fresh data dir.
void expect_restores(const Damaged& s, const std::string& snapshot, const std::map<std::string, Node>& tree) {
  TempDir t;
  RunResult r = mdb(t / "data", s.d.store, {"restore", "-f", snapshot});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(tree, describe(t / "data")), "");
}

TEST(Heal, DamagedBlobIsStoredAnewFromTheDataDir) {
  Damaged s;
  RunResult r = s.run({"verify", "--read-data"});
  ASSERT_EQ(r.exit_code, 1) << "the second backup reused the damaged blob";
  EXPECT_NE(r.err.find("snapshot " + s.second + ": data/media/clip.bin"), std::string::npos) << r.err;

  r = s.run({"--json", "verify", "--read-data", "--repair"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["healed"].size(), 1u) << r.out;
  EXPECT_EQ(j["healed"][0]["path"], (s.d.data / "data" / "media" / "clip.bin").string());
  EXPECT_TRUE(j["unhealed"].empty());
  EXPECT_TRUE(j["incomplete_snapshots"].empty());
  EXPECT_EQ(j["ok"], true);

  r = s.run({"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("Note: pack "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("but the index uses none of its damaged blobs"), std::string::npos) << r.err;
  expect_restores(s, s.first, s.tree);
  expect_restores(s, s.second, s.tree);
  r = s.run({"prune", "--keep-last", "5"});  // the superseded damaged copy does not stop prune
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(s.run({"verify", "--read-data"}).exit_code, 0);
}

TEST(Heal, ContentNoLongerInTheDataDirIsDroppedAndTheSnapshotsNamed) {
  Damaged s;
  TempDir elsewhere;  // a data dir without the file: nothing there has the blob's content
  make_data_dir(elsewhere / "data");
  RunResult r = mdb(elsewhere / "data", s.d.store, {"--json", "verify", "--read-data", "--repair"});
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["healed"].empty());
  ASSERT_EQ(j["unhealed"].size(), 1u) << r.out;
  EXPECT_EQ(j["unhealed"][0]["uses"].size(), 2u);
  std::vector<std::string> incomplete = j["incomplete_snapshots"];
  std::vector<std::string> expected{s.first, s.second};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(incomplete, expected);
  EXPECT_NE(r.err.find("Could not heal blob"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Snapshots left incomplete (they cannot be restored whole): " + expected[0] + ", " +
                       expected[1]),
            std::string::npos)
      << r.err;

  // The blob is gone from the index, so the file cache entry of clip.bin (unchanged since)
  // no longer matches: the next backup reads and stores it anew, and every snapshot is whole.
  RunResult b = s.run({"--json", "backup"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  std::string third = nlohmann::json::parse(b.out)["snapshot"];
  EXPECT_GE(nlohmann::json::parse(b.out)["files_read"].get<int>(), 1);
  r = s.run({"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  expect_restores(s, third, s.tree);
  expect_restores(s, s.first, s.tree);
}

TEST(Heal, RepairNeedsReadData) {
  Damaged s;
  RunResult r = s.run({"verify", "--repair"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
}

// The fault points a repair passes, counted on a copy.
uint64_t count_points(const Damaged& s) {
  TempDir t;
  copy_tree(s.d.data, t / "data");
  copy_tree(s.d.store, t / "store");
  RunResult r =
      mdb(t / "data", t / "store", {"verify", "--read-data", "--repair"}, {{"MDB_FAULT_COUNT", (t / "count").string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::stoull(read(t / "count"));
}

TEST(Heal, KilledRepairLeavesTheStoreAsBeforeOrAfter) {
  Damaged s;
  uint64_t n = count_points(s);
  ASSERT_GT(n, 3u);
  std::set<uint64_t> points{1, n};
  const uint64_t inner = static_cast<uint64_t>(trials(6));
  for (uint64_t k = 1; k <= inner; ++k) points.insert(std::max<uint64_t>(1, n * k / (inner + 1)));
  for (uint64_t at : points) {
    SCOPED_TRACE("kill@" + std::to_string(at) + " of " + std::to_string(n));
    TempDir t;
    copy_tree(s.d.data, t / "data");
    copy_tree(s.d.store, t / "store");
    RunResult r = mdb(t / "data", t / "store", {"verify", "--read-data", "--repair"},
                      {{"MDB_FAULT", "kill@" + std::to_string(at)}});
    EXPECT_EQ(r.exit_code, -SIGKILL) << r.out << r.err;
    r = mdb(t / "data", t / "store", {"verify", "--read-data"});
    bool before = r.exit_code == 1 && r.err.find("data/media/clip.bin") != std::string::npos;
    EXPECT_TRUE(before || r.exit_code == 0) << r.out << r.err;
    r = mdb(t / "data", t / "store", {"verify", "--read-data", "--repair"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    TempDir restored;
    r = mdb(restored / "data", t / "store", {"restore", "-f", s.first});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(diff(s.tree, describe(restored / "data")), "");
  }
}

}  // namespace
}  // namespace mdb::test
