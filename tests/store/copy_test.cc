// `mephisto db copy --to STORE [NAME...]` (docs/COPY.md) through the real binary: snapshots copied
// between local stores and to S3 and back restore exactly; what the target holds is skipped; a
// copy killed at any write leaves the target listing only complete snapshots.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/s3server.h"
#include "tests/support/sanitized.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using nlohmann::json;

// A data dir with two backups in `store`: the first of the tree as `first_tree` describes it.
struct TwoBackups {
  DataAndStore d;
  std::string first, second;
  std::map<std::string, Node> first_tree, second_tree;
  TwoBackups() {
    make_data_dir(d.data);
    first_tree = describe(d.data);
    first = backup_snapshot(d.data, d.store);
    write(d.data / "data" / "runs" / "added.json", "{\"later\": true}");
    second_tree = describe(d.data);
    second = backup_snapshot(d.data, d.store);
  }
};

size_t packs_in(const stdfs::path& store) {
  size_t n = 0;
  for (const auto& e : stdfs::recursive_directory_iterator(store / "packs"))
    if (e.is_regular_file()) ++n;
  return n;
}

// Restores `name` of `store` into a new data dir and describes it.
std::map<std::string, Node> restored(const stdfs::path& store, const std::string& name,
                                     const std::map<std::string, std::string>& env = {}) {
  TempDir t;
  RunResult r = mdb(t / "data", store, {"restore", "-f", name}, env);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return describe(t / "data");
}

TEST(Copy, EverySnapshotCopiedRestoresExactlyAndASecondCopySkipsThem) {
  TwoBackups s;
  stdfs::path target = s.d.tmp / "target";
  RunResult r = mdb(s.d.data, s.d.store, {"--json", "copy", "--to", target.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["to"], target.string());
  ASSERT_EQ(j["snapshots"].size(), 2u) << r.out;
  EXPECT_EQ(j["snapshots"][0]["name"], s.first);
  EXPECT_EQ(j["snapshots"][0]["copied_as"], s.first);
  EXPECT_FALSE(j["snapshots"][0]["skipped"].get<bool>());
  EXPECT_GT(j["snapshots"][0]["bytes_new"].get<uint64_t>(), 0u);
  // The second backup shares all but one file with the first: little is new in the target.
  EXPECT_LT(j["snapshots"][1]["bytes_new"].get<uint64_t>(), j["snapshots"][0]["bytes_new"].get<uint64_t>() / 4)
      << r.out;

  EXPECT_EQ(diff(s.first_tree, restored(target, s.first)), "");
  EXPECT_EQ(diff(s.second_tree, restored(target, s.second)), "");
  r = mdb(s.d.data, target, {"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  size_t packs = packs_in(target);
  r = mdb(s.d.data, s.d.store, {"copy", "--to", target.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Skipped " + s.first + ": " + target.string() + " already holds it."), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("0 snapshots copied to " + target.string() + ", 2 already there."), std::string::npos)
      << r.out;
  EXPECT_EQ(packs_in(target), packs) << "a copy of what is there wrote packs";
}

TEST(Copy, NamedSnapshotsOnlyAndTheDataDirIsNeverRead) {
  TwoBackups s;
  stdfs::path target = s.d.tmp / "target";
  // The data dir is moved away: copy reads the store alone.
  stdfs::rename(s.d.data, s.d.tmp / "elsewhere");
  RunResult r = mdb(s.d.data, s.d.store, {"copy", "--to", target.string(), s.second.substr(0, 30)});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // a prefix of a name is not a name (nor an id prefix)
  size_t suggestion = r.err.find("Did you mean ");
  ASSERT_NE(suggestion, std::string::npos) << r.err;
  EXPECT_NE(r.err.find(s.second, suggestion), std::string::npos) << r.err;
  EXPECT_FALSE(stdfs::exists(target)) << "a failed lookup created the target";
  r = mdb(s.d.data, s.d.store, {"copy", "--to", target.string(), s.second});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = mdb(s.d.data, target, {"--json", "snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  ASSERT_EQ(j["snapshots"].size(), 1u) << r.out;
  EXPECT_EQ(j["snapshots"][0]["name"], s.second);
  EXPECT_EQ(diff(s.second_tree, restored(target, s.second)), "");
}

TEST(Copy, IntoItselfIsAUsageErrorAlsoThroughAnotherPath) {
  TwoBackups s;
  stdfs::create_directory_symlink(s.d.store, s.d.tmp / "link");
  for (const stdfs::path& to : {s.d.store, s.d.tmp / "link", s.d.tmp / "." / "store"}) {
    RunResult r = mdb(s.d.data, s.d.store, {"copy", "--to", to.string()});
    EXPECT_EQ(r.exit_code, 2) << to << r.out << r.err;
    EXPECT_NE(r.err.find("that is the store the snapshots are in"), std::string::npos) << r.err;
  }
}

TEST(Copy, ASnapshotOfTheSameNameButOtherContentIsCopiedUnderANewName) {
  TwoBackups s;
  DataAndStore other;
  make_data_dir(other.data);
  write(other.data / "only_here.txt", "other host");
  std::string theirs = backup_snapshot(other.data, other.store);
  // Give the other store's snapshot the first one's name by copying it under that name: the
  // names of two data dirs' backups can meet in one target.
  stdfs::path target = s.d.tmp / "target";
  ASSERT_EQ(mdb(other.data, other.store, {"copy", "--to", target.string()}).exit_code, 0);
  RunResult r = mdb(s.d.data, s.d.store, {"--json", "copy", "--to", target.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  if (theirs == s.first) {  // made in the same second: the interesting case
    json j = json::parse(r.out);
    EXPECT_EQ(j["snapshots"][0]["copied_as"], s.first + "_2") << r.out;
  }
  r = mdb(s.d.data, target, {"--json", "snapshots"});
  EXPECT_EQ(json::parse(r.out)["snapshots"].size(), 3u) << r.out;
}

// The fault points a copy passes, counted on a copy of the stores.
uint64_t count_points(const TwoBackups& s) {
  TempDir t;
  copy_tree(s.d.store, t / "store");
  RunResult r = mdb(s.d.data, t / "store", {"copy", "--to", (t / "target").string()},
                    {{"MDB_FAULT_COUNT", (t / "count").string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::stoull(read(t / "count"));
}

TEST(Copy, KilledAtAnyWriteTheTargetListsOnlyCompleteSnapshotsAndTheNextCopyFinishes) {
  TwoBackups s;
  uint64_t n = count_points(s);
  ASSERT_GT(n, 3u);
  std::set<uint64_t> points{1, n};
  const uint64_t inner = static_cast<uint64_t>(trials(8));
  for (uint64_t k = 1; k <= inner; ++k) points.insert(std::max<uint64_t>(1, n * k / (inner + 1)));
  for (uint64_t at : points) {
    SCOPED_TRACE("kill@" + std::to_string(at) + " of " + std::to_string(n));
    TempDir t;
    stdfs::path target = t / "target";
    RunResult r = mdb(s.d.data, s.d.store, {"copy", "--to", target.string()},
                      {{"MDB_FAULT", "kill@" + std::to_string(at)}});
    EXPECT_EQ(r.exit_code, -SIGKILL) << r.out << r.err;
    if (stdfs::exists(target / "config")) {
      r = mdb(s.d.data, target, {"--json", "snapshots"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      json listed = json::parse(r.out);  // kept: a loop over a temporary's member would outlive it
      for (const json& snap : listed["snapshots"]) {
        std::string name = snap["name"];
        EXPECT_EQ(diff(name == s.first ? s.first_tree : s.second_tree, restored(target, name)), "") << name;
      }
    }
    r = mdb(s.d.data, s.d.store, {"copy", "--to", target.string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    r = mdb(s.d.data, target, {"verify", "--read-data"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(diff(s.second_tree, restored(target, s.second)), "");
  }
}

TEST(Copy, ToS3AndBackRestoresExactly) {
  TwoBackups s;
  std::map<std::string, std::string> env = s3_env();
  env["XDG_CACHE_HOME"] = (s.d.tmp / "cache").string();
  std::string bucket = "s3://" + fresh_bucket() + "/copied";
  RunResult r = mdb(s.d.data, s.d.store, {"copy", "--to", bucket}, env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = mdb(s.d.data, bucket, {"verify", "--read-data"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  stdfs::path back = s.d.tmp / "back";
  r = mdb(s.d.data, bucket, {"copy", "--to", back.string(), s.first}, env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The bucket is encrypted (an S3 store is by default), so its copy is too, with its password.
  EXPECT_EQ(diff(s.first_tree, restored(back, s.first, env)), "");
  EXPECT_EQ(diff(s.second_tree, restored(bucket, s.second, env)), "");
  // No credential in what the command printed.
  std::string secret = env.at("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ((r.out + r.err).find(secret), std::string::npos);
}

}  // namespace
}  // namespace mdb::test
