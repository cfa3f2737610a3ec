// Many hosts, one bucket (docs/S3.md): index objects, caches kept current, lock objects, prune,
// two backups at the same time. Through the real binary against the test radosgw; each "host" is
// a data dir and a cache dir (XDG_CACHE_HOME) of its own.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "platform/lock.h"
#include "store/remote_index.h"
#include "store/remote_lock.h"
#include "store/s3_backend.h"
#include "tests/support/proxied_store.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

struct Host {
  stdfs::path data, cache;
  std::map<std::string, std::string> env;
};

struct Bucket {
  TempDir tmp;
  std::string bucket = fresh_bucket();
  std::string prefix = "team/store/";
  std::string store = "s3://" + bucket + "/team/store";
  fs::S3Client client{s3_server()};

  Host host(const std::string& name, const std::string& endpoint = "") {
    Host h{tmp / (name + "-data"), tmp / (name + "-cache"), s3_env()};
    h.env["XDG_CACHE_HOME"] = h.cache.string();
    if (!endpoint.empty()) h.env["AWS_ENDPOINT_URL"] = endpoint;
    return h;
  }
  RunResult run(const Host& h, std::vector<std::string> args) const { return mdb(h.data, store, std::move(args), h.env); }
  std::vector<fs::S3Object> objects(const std::string& kind) { return client.list(bucket, prefix + kind + "/"); }
  std::set<std::string> packs() {
    std::set<std::string> out;
    for (const fs::S3Object& o : objects("packs")) out.insert(o.key);
    return out;
  }
  uint64_t pack_bytes() {
    uint64_t n = 0;
    for (const fs::S3Object& o : objects("packs")) n += o.size;
    return n;
  }
  // Stores a lock object as another command would.
  void put_lock(const std::string& name, store::LockInfo l) {
    client.put(bucket, prefix + "locks/" + name, l.encode());
  }
};

std::string snapshot_of(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  if (r.exit_code != 0) return "";
  return nlohmann::json::parse(r.out).value("snapshot", "");
}

store::LockInfo lock_info(bool exclusive, const std::string& command, const std::string& host, int64_t pid,
                          int64_t age_seconds) {
  int64_t now = static_cast<int64_t>(::time(nullptr));
  return store::LockInfo{exclusive, command, host, pid, now - age_seconds, now - age_seconds};
}

TEST(S3Hosts, ANewHostListsAndRestoresFromIndexObjectsWithoutReadingPackFooters) {
  Bucket b;
  Host one = b.host("one");
  make_data_dir(one.data);
  write(one.data / "data" / "media" / "clip.bin", random_bytes(3u << 20, 7));
  auto before = describe(one.data);
  std::string name = snapshot_of(b.run(one, {"--json", "backup"}));
  ASSERT_FALSE(name.empty());
  size_t packs = b.packs().size();
  ASSERT_GE(packs, 2u);  // the data's, the snapshot record's
  ASSERT_EQ(b.objects("indexes").size(), 1u);

  FaultProxy proxy(s3_server_port());  // counts the new host's requests
  Host two = b.host("two", proxy.endpoint());
  RunResult r = b.run(two, {"snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
  r = b.run(two, {"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(two.data)), "");
  // A footer is read after a HEAD for the pack's size: none was sent; the index object was read once.
  EXPECT_EQ(proxy.count("HEAD /" + b.bucket + "/" + b.prefix + "packs/"), 0);
  EXPECT_EQ(proxy.count("GET /" + b.bucket + "/" + b.prefix + "indexes/"), 1);

  // Without index objects a new host reads every pack's footer instead, and sees the same.
  for (const fs::S3Object& o : b.objects("indexes")) b.client.remove(b.bucket, o.key);
  Host three = b.host("three", proxy.endpoint());
  int heads = proxy.count("HEAD /" + b.bucket + "/" + b.prefix + "packs/");
  r = b.run(three, {"snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
  EXPECT_EQ(proxy.count("HEAD /" + b.bucket + "/" + b.prefix + "packs/") - heads, static_cast<int>(packs));
}

TEST(S3Hosts, AHostWhoseCacheExistsSeesTheOthersSnapshotsAndWhatTheyPruned) {
  Bucket b;
  Host one = b.host("one"), two = b.host("two");
  make_data_dir(one.data);
  std::string first = snapshot_of(b.run(one, {"--json", "backup"}));
  copy_tree(one.data, two.data);
  write(two.data / "only-on-two.txt", "the second host's own file");
  auto two_before = describe(two.data);
  std::string second = snapshot_of(b.run(two, {"--json", "backup"}));
  ASSERT_FALSE(first.empty() || second.empty());

  RunResult r = b.run(one, {"snapshots"});  // its cache predates the second backup
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(first), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(second), std::string::npos) << r.out;
  r = b.run(one, {"restore", "-f", second});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(two_before, describe(one.data)), "");

  // The second host backs up again and prunes its older backup: the first host's cache drops it.
  write(two.data / "only-on-two.txt", "changed");
  std::string third = snapshot_of(b.run(two, {"--json", "backup"}));
  r = b.run(two, {"prune", "--keep-last", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(b.objects("indexes").size(), 1u);  // consolidated
  r = b.run(one, {"snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find(second + " "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(third), std::string::npos) << r.out;
  r = b.run(one, {"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(b.objects("locks").empty());
}

TEST(S3Hosts, LockObjectsKeepPruneFromBackupsAndBackupsFromPruneUntilStale) {
  Bucket b;
  Host one = b.host("one");
  make_data_dir(one.data);
  // Plain: the lock objects planted below are written as plaintext (an encrypted store's are
  // sealed: one the store cannot open is an unreadable lock).
  ASSERT_FALSE(snapshot_of(b.run(one, {"--json", "--no-encryption", "backup"})).empty());
  auto before = describe(one.data);
  std::set<std::string> packs = b.packs();

  b.put_lock("held-by-a-backup", lock_info(false, "backup", "other-host", 4242, 0));
  RunResult r = b.run(one, {"prune"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("prune: the store is in use by backup on host other-host, pid 4242, since"), std::string::npos)
      << r.err;
  EXPECT_EQ(b.packs(), packs);
  r = b.run(one, {"backup"});  // shared with the other backup
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  packs = b.packs();

  b.put_lock("held-by-a-backup", lock_info(true, "prune", "other-host", 4242, 0));
  write(one.data / "new.txt", "new");
  before = describe(one.data);
  for (std::vector<std::string> args : {std::vector<std::string>{"backup"}, {"prune"}}) {
    r = b.run(one, args);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find(": the store is locked by prune on host other-host, pid 4242"), std::string::npos) << r.err;
  }
  EXPECT_EQ(b.packs(), packs);
  EXPECT_EQ(diff(before, describe(one.data)), "");

  // Not refreshed for longer than the stale time: removed by the next command.
  b.put_lock("held-by-a-backup", lock_info(true, "prune", "other-host", 4242, 3600));
  r = b.run(one, {"backup"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // Of a dead process on this host: removed at once.
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  b.put_lock("of-a-dead-process", lock_info(true, "prune", store::host_name(), child, 0));
  r = b.run(one, {"prune"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(b.objects("locks").empty());
}

TEST(S3Hosts, ABackupHoldingItsSharedLockMakesPruneOnAnotherHostFailNotDelete) {
  Bucket b;
  Host one = b.host("one");
  make_data_dir(one.data);
  ASSERT_FALSE(snapshot_of(b.run(one, {"--json", "backup"})).empty());
  FaultProxy proxy(s3_server_port());
  Host two = b.host("two", proxy.endpoint());
  copy_tree(one.data, two.data);
  write(two.data / "data" / "media" / "two.bin", random_bytes(1u << 20, 3));
  RunResult backup;
  std::thread running([&] { backup = b.run(two, {"--json", "backup"}); });
  // A bound on the wait, not a timed assertion.
  for (int i = 0; i < 3000 && b.objects("locks").empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  proxy.hold(true);  // the backup stalls, holding its lock
  bool locked = !b.objects("locks").empty();
  std::set<std::string> packs = b.packs();
  RunResult prune = b.run(one, {"prune"});
  proxy.hold(false);
  running.join();
  ASSERT_TRUE(locked) << backup.err;
  EXPECT_EQ(prune.exit_code, 1) << prune.out << prune.err;
  EXPECT_NE(prune.err.find("prune: the store is in use by backup on host"), std::string::npos) << prune.err;
  for (const std::string& p : packs) EXPECT_TRUE(b.packs().count(p)) << p;
  std::string name = snapshot_of(backup);
  RunResult r = b.run(one, {"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = b.run(one, {"snapshots"});
  EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
}

// Two hosts make the store and back up into it at the same time (two processes): one config,
// both snapshots, each host verifies and restores both; what their data dirs share is stored
// once by the time prune has run (concurrent backups cannot see each other's blobs, so each
// stores its own copy first; prune keeps one).
TEST(S3Hosts, TwoHostsBackingUpAtTheSameTimeShareOneStoreAndStoreSharedDataOnce) {
  Bucket b;  // no store yet: both make it
  Host one = b.host("one"), two = b.host("two");
  make_data_dir(one.data);
  write(one.data / "data" / "media" / "shared.bin", random_bytes(6u << 20, 11));
  copy_tree(one.data, two.data);
  write(one.data / "only-on-one.txt", "the first host's own file");
  write(two.data / "only-on-two.txt", "the second host's own file");
  auto one_before = describe(one.data), two_before = describe(two.data);

  RunResult r1, r2;
  // Plain: the test reads the index objects itself.
  std::thread a([&] { r1 = b.run(one, {"--json", "--no-encryption", "backup"}); });
  std::thread c([&] { r2 = b.run(two, {"--json", "--no-encryption", "backup"}); });
  a.join();
  c.join();
  ASSERT_FALSE(snapshot_of(r1).empty() || snapshot_of(r2).empty());
  // By id: when both backups ran in one second they chose one name, and the snapshot of the
  // higher id is then named NAME_<8 hex digits of its id> on every host.
  std::string s1 = nlohmann::json::parse(r1.out).value("id", ""), s2 = nlohmann::json::parse(r2.out).value("id", "");
  EXPECT_EQ(b.client.list(b.bucket, b.prefix + "config").size(), 1u);
  // Both caches are named by the one store id.
  auto store_dirs = [](const Host& h) {
    std::set<std::string> ids;
    for (const auto& e : stdfs::directory_iterator(h.cache / "mephisto-db"))
      if (e.path().filename() != "tmp") ids.insert(e.path().filename().string());
    return ids;
  };
  EXPECT_EQ(store_dirs(one), store_dirs(two));
  EXPECT_EQ(store_dirs(one).size(), 1u);

  for (const Host* h : {&one, &two}) {
    RunResult r = b.run(*h, {"--json", "snapshots"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out);
    std::set<std::string> ids;
    for (const auto& s : j.at("snapshots")) ids.insert(s.value("id", ""));
    EXPECT_EQ(ids, (std::set<std::string>{s1, s2})) << r.out;
    r = b.run(*h, {"verify", "--read-data"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  // Each stored the shared 6 MiB when the backups overlapped (one that started after the other
  // committed stores it no more: the machine's load decides); after prune one copy is left.
  EXPECT_GT(b.pack_bytes(), 6u << 20);
  RunResult r = b.run(one, {"prune"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_LT(b.pack_bytes(), (6u << 20) + (1u << 20)) << r.out;
  std::vector<fs::S3Object> index = b.objects("indexes");
  ASSERT_EQ(index.size(), 1u);
  store::IndexObject all = store::IndexObject::decode(*b.client.get(b.bucket, index[0].key), "index");
  std::set<std::string> ids;
  for (const store::IndexedPack& p : all.packs)
    for (const store::PackEntry& e : p.entries) EXPECT_TRUE(ids.insert(e.id.hex()).second) << e.id.hex();

  // Each host restores its own snapshot exactly, and the other's.
  write(one.data / "only-on-one.txt", "changed");
  write(two.data / "only-on-two.txt", "changed");
  std::string mine[2] = {s1, s2};
  const Host* hosts[2] = {&one, &two};
  for (int i = 0; i < 2; ++i) {
    r = b.run(*hosts[i], {"restore", "-f", mine[i]});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  EXPECT_EQ(diff(one_before, describe(one.data)), "");
  EXPECT_EQ(diff(two_before, describe(two.data)), "");
  Host three = b.host("three");
  r = b.run(three, {"restore", "-f", s2});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(two_before, describe(three.data)), "");
  EXPECT_TRUE(b.objects("locks").empty());
}

TEST(S3Hosts, ALockIsRefreshedWhileHeldAndRemovedAfter) {
  Bucket b;
  ::setenv("MEPHISTO_LOCK_REFRESH_SECONDS", "1", 1);
  auto backend = std::make_unique<store::S3Backend>(b.store, s3_server());
  backend->create_layout();
  std::string first;
  {
    auto lock = backend->lock(false, "backup");
    std::vector<fs::S3Object> held = b.objects("locks");
    ASSERT_EQ(held.size(), 1u);
    first = *b.client.get(b.bucket, held[0].key);
    // Bounded wait for a refresh (every second here).
    std::string now = first;
    for (int i = 0; i < 300 && now == first; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      now = *b.client.get(b.bucket, held[0].key);
    }
    store::LockInfo a = store::LockInfo::decode(first, "lock"), c = store::LockInfo::decode(now, "lock");
    EXPECT_GT(c.refreshed, a.refreshed);
    EXPECT_EQ(c.since, a.since);
  }
  ::unsetenv("MEPHISTO_LOCK_REFRESH_SECONDS");
  EXPECT_TRUE(b.objects("locks").empty());
}


int occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Reading commands hold a shared lock on a shared store; without --retry-lock a taken lock fails
// the command at once, with it the command waits (saying so once) and goes on once it is released.
TEST(S3Hosts, AReadMeetingAnExclusiveLockFailsAtOnceOrWaitsWithRetryLockUntilItIsReleased) {
  Bucket b;
  Host one = b.host("one");
  make_data_dir(one.data);
  write(one.data / "data" / "media" / "clip.bin", random_bytes(1u << 20, 5));
  auto backed_up = describe(one.data);
  // Plain: the lock object planted below is plaintext.
  std::string name = snapshot_of(b.run(one, {"--json", "--no-encryption", "backup"}));
  ASSERT_FALSE(name.empty());
  write(one.data / "data" / "media" / "clip.bin", "changed after the backup");
  auto changed = describe(one.data);
  b.put_lock("prune-elsewhere", lock_info(true, "prune", "other-host", 4242, 5));

  for (std::vector<std::string> args : {std::vector<std::string>{"restore", "-f", name}, {"ls", name}, {"verify"}}) {
    RunResult r = b.run(one, args);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(occurrences(r.err, args[0] + ": the store is locked by prune on host other-host, pid 4242, since "), 1)
        << r.err;
    EXPECT_EQ(r.err.find("Waiting"), std::string::npos) << r.err;
  }
  RunResult r = b.run(one, {"--retry-lock", "1s", "restore", "-f", name});  // the time runs out
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(occurrences(r.err, "Waiting up to 1s (--retry-lock): restore: the store is locked by prune on host "
                               "other-host, pid 4242, since "), 1)
      << r.err;
  EXPECT_EQ(occurrences(r.err, "Try again when it has finished."), 1) << r.err;  // the final error's, not the wait's
  EXPECT_EQ(diff(changed, describe(one.data)), "");
  r = b.run(one, {"--retry-lock", "5x", "restore", "-f", name});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--retry-lock 5x: give a duration such as 30s, 5m, 1h or 1m30s."), std::string::npos) << r.err;

  // Waiting: the restore met the lock once it removed its own lock object again (through the
  // proxy's log); the other host's lock is then released and the restore goes on.
  FaultProxy proxy(s3_server_port());
  Host via = one;
  via.env["AWS_ENDPOINT_URL"] = proxy.endpoint();
  RunResult waited;
  std::thread running([&] { waited = b.run(via, {"--retry-lock", "5m", "restore", "-f", name}); });
  const std::string gave_up = "DELETE /" + b.bucket + "/" + b.prefix + "locks/";
  // A bound on the wait, not a timed assertion.
  for (int i = 0; i < 6000 && proxy.count(gave_up) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  bool met = proxy.count(gave_up) > 0;
  b.client.remove(b.bucket, b.prefix + "locks/prune-elsewhere");
  running.join();
  ASSERT_TRUE(met) << waited.err;
  EXPECT_EQ(waited.exit_code, 0) << waited.out << waited.err;
  EXPECT_EQ(occurrences(waited.err, "Waiting up to 5m (--retry-lock): restore: the store is locked by prune on host "
                                    "other-host, pid 4242, since "), 1)
      << waited.err;
  EXPECT_EQ(diff(backed_up, describe(one.data)), "");
  EXPECT_TRUE(b.objects("locks").empty());
}

TEST(S3Hosts, PruneRefusesWhileARestoreOnAnotherHostHoldsItsSharedLock) {
  Bucket b;
  Host one = b.host("one");
  make_data_dir(one.data);
  auto before = describe(one.data);
  std::string first = snapshot_of(b.run(one, {"--json", "backup"}));
  write(one.data / "new.txt", "new");
  ASSERT_FALSE(first.empty() || snapshot_of(b.run(one, {"--json", "backup"})).empty());

  FaultProxy proxy(s3_server_port());
  Host two = b.host("two", proxy.endpoint());
  proxy.hold_at("GET /" + b.bucket + "/" + b.prefix + "packs/");  // the restore stalls, holding its lock
  RunResult restore;
  std::thread running([&] { restore = b.run(two, {"restore", "-f", first}); });
  for (int i = 0; i < 6000 && !proxy.held(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  bool held = proxy.held();
  std::set<std::string> packs = b.packs();
  RunResult prune = b.run(one, {"prune", "--keep-last", "1"});  // would forget the one being restored
  proxy.hold(false);
  running.join();
  ASSERT_TRUE(held) << restore.err;
  EXPECT_EQ(prune.exit_code, 1) << prune.out << prune.err;
  EXPECT_NE(prune.err.find("prune: the store is in use by restore on host "), std::string::npos) << prune.err;
  EXPECT_EQ(b.packs(), packs);
  EXPECT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_EQ(diff(before, describe(two.data)), "");
  RunResult r = b.run(one, {"prune", "--keep-last", "1"});  // the restore has ended
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(b.objects("locks").empty());
}

// --no-lock (restic's): a reading command makes no lock object, so it works with read-only
// credentials and beside an exclusive lock; a command that writes the store locks it all the same.
TEST(S3Hosts, NoLockReadsWithoutALockObjectAndWritersStillLock) {
  Bucket b;
  Host one = b.host("one");
  make_data_dir(one.data);
  auto backed_up = describe(one.data);
  std::string name = snapshot_of(b.run(one, {"--json", "--no-encryption", "backup"}));
  ASSERT_FALSE(name.empty());
  b.put_lock("prune-elsewhere", lock_info(true, "prune", "other-host", 4242, 5));

  FaultProxy proxy(s3_server_port());
  Host via = one;
  via.env["AWS_ENDPOINT_URL"] = proxy.endpoint();
  const stdfs::path target = b.tmp / "target";
  EXPECT_EQ(b.run(via, {"ls", name}).exit_code, 1);  // without --no-lock the lock is in the way
  int locks_before = proxy.count("PUT /" + b.bucket + "/" + b.prefix + "locks/");
  for (std::vector<std::string> args : {std::vector<std::string>{"--no-lock", "ls", name},
                                        {"--no-lock", "snapshots"},
                                        {"--no-lock", "restore", "-f", name, "--target", target.string()}}) {
    RunResult r = b.run(via, args);
    EXPECT_EQ(r.exit_code, 0) << args[1] << ": " << r.out << r.err;
  }
  EXPECT_EQ(proxy.count("PUT /" + b.bucket + "/" + b.prefix + "locks/"), locks_before);
  EXPECT_EQ(diff(backed_up, describe(target)), "");
  RunResult w = b.run(one, {"--no-lock", "backup"});
  EXPECT_EQ(w.exit_code, 1) << w.out << w.err;
  EXPECT_NE(w.err.find("backup: the store is locked by prune on host other-host"), std::string::npos) << w.err;
  EXPECT_EQ(b.objects("locks").size(), 1u);
}

}  // namespace
}  // namespace mdb::test
