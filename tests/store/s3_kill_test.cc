// radosgw killed (SIGKILL) in the middle of a restore and of a prune (docs/S3.md, "Faults"),
// through the real binary, on a server of the test's own behind the fault proxy: the proxy holds
// every connection at the command's first request of the chosen kind, radosgw is killed, the
// proxy lets go. The command fails cleanly (restore: the data dir unchanged; prune: the store
// consistent, every snapshot kept whole), and with radosgw started again the next run succeeds.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/fault_proxy.h"
#include "tests/support/s3server.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

struct Killed {
  CephServer server;
  TempDir tmp;
  stdfs::path data = tmp / "data";
  std::string bucket = fresh_bucket();
  std::string store = "s3://" + bucket + "/store";
  FaultProxy proxy{[this] {
    std::string url = server.vars().at("AWS_ENDPOINT_URL");
    return std::stoi(url.substr(url.rfind(':') + 1));
  }()};
  std::map<std::string, std::string> env() const {
    auto e = server.env();
    e["XDG_CACHE_HOME"] = (tmp / "cache").string();
    e["AWS_ENDPOINT_URL"] = proxy.endpoint();
    return e;
  }
  RunResult db(std::vector<std::string> args) const { return mdb(data, store, std::move(args), env()); }
  // Runs `args`; at the first request starting with `method` + " /BUCKET/store/packs/", radosgw
  // is killed.
  RunResult killed_at(const std::string& method, std::vector<std::string> args) {
    std::vector<std::string> full = {"--data-dir", data.string(), "--store", store, "db"};
    full.insert(full.end(), args.begin(), args.end());
    proxy.hold_at(method + " /" + bucket + "/store/packs/");
    bool killed = false;
    std::thread killer([&] {
      // A bound on the wait, not a timed assertion: not held after 200 s, the test fails.
      for (int i = 0; i < 4000 && !proxy.held(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!proxy.held()) return;
      server.kill_rgw();
      killed = true;
      proxy.hold(false);
    });
    RunResult r = run_mephisto(full, "yes\n", env());
    killer.join();
    EXPECT_TRUE(killed) << "the command sent no " << method << " of a pack: " << r.out << r.err;
    return r;
  }
  Killed() { make_data_dir(data); }
};

std::string snapshot_of(const RunResult& r) { return nlohmann::json::parse(r.out).value("snapshot", ""); }

TEST(S3Kills, RadosgwKilledMidRestoreFailsItWithTheDataDirUnchangedAndTheNextRestoreSucceeds) {
  Killed k;
  for (int i = 0; i < 2; ++i)
    write(k.data / "data" / "media" / ("clip" + std::to_string(i) + ".bin"), random_bytes(12u << 20, 400 + i));
  auto before = describe(k.data);
  RunResult r = k.db({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string name = snapshot_of(r);
  write(k.data / "data" / "media" / "clip0.bin", "changed");
  write(k.data / "data" / "media" / "clip1.bin", "changed too");
  auto changed = describe(k.data);

  r = k.killed_at("GET", {"restore", "-f", name});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("s3://" + k.bucket + "/store/"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Nothing was changed."), std::string::npos) << r.err;
  EXPECT_EQ(diff(changed, describe(k.data)), "");

  k.server.start_rgw();
  r = k.db({"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(k.data)), "");
}

TEST(S3Kills, RadosgwKilledMidPruneFailsItWithTheStoreConsistentAndTheNextPruneSucceeds) {
  Killed k;
  // Two backups; the first one's clip0 is then dead weight in packs mostly dead: prune rewrites
  // them (a pack PUT, where radosgw is killed) and deletes the old ones.
  write(k.data / "data" / "media" / "clip0.bin", random_bytes(24u << 20, 500));
  write(k.data / "data" / "media" / "clip1.bin", random_bytes(24u << 20, 501));
  RunResult r = k.db({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  write(k.data / "data" / "media" / "clip0.bin", random_bytes(1u << 20, 502));
  r = k.db({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string kept = snapshot_of(r);
  auto before = describe(k.data);

  r = k.killed_at("PUT", {"prune", "--keep-last", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(k.data)), "");

  k.server.start_rgw();
  r = k.db({"verify", "--read-data"});  // every kept snapshot's blobs there and intact
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = k.db({"prune", "--keep-last", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = k.db({"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = k.db({"--json", "snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).value("snapshots", nlohmann::json::array()).size(), 1u) << r.out;
  write(k.data / "data" / "media" / "clip1.bin", "changed");
  r = k.db({"restore", "-f", kept});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(k.data)), "");
}

}  // namespace
}  // namespace mdb::test
