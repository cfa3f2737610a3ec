// A store on S3 (docs/S3.md) through the real binary, against the test radosgw: backup, snapshots,
// restore, verify; the local part (lock, index) in the cache dir, rebuilt from the bucket.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "tests/support/fault_proxy.h"
#include "tests/support/s3server.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

struct S3Dirs {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  stdfs::path cache = tmp / "cache";
  std::string store = "s3://" + fresh_bucket() + "/team/store";
  std::map<std::string, std::string> env() const {
    auto e = s3_env();
    e["XDG_CACHE_HOME"] = cache.string();
    return e;
  }
  RunResult run(std::vector<std::string> args) const { return mdb(data, store, std::move(args), env()); }
};

// Every file under `dir`, concatenated.
std::string all_bytes(const stdfs::path& dir) {
  std::string out;
  if (!stdfs::exists(dir)) return out;
  for (const auto& e : stdfs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) {
      std::ifstream in(e.path(), std::ios::binary);
      out += std::string(std::istreambuf_iterator<char>(in), {});
    }
  return out;
}

TEST(S3Store, BackupSnapshotsRestoreAndVerifyWork) {
  S3Dirs d;
  make_data_dir(d.data);
  auto before = describe(d.data);
  RunResult r = d.run({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  std::string name = j.value("snapshot", "");
  EXPECT_EQ(j.value("store", ""), d.store);

  r = d.run({"snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(name), std::string::npos) << r.out;

  write(d.data / "data" / "runs" / "Proj'ect β" / "1000003" / "1000004" / "assign_data.json", "changed");
  write(d.data / "later.txt", "later");
  r = d.run({"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(d.data)), "");

  for (std::vector<std::string> args : {std::vector<std::string>{"verify"}, {"verify", "--read-data"}}) {
    r = d.run(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  // The index is in the cache dir, under the store's id; nothing of the store is beside the data.
  ASSERT_TRUE(stdfs::exists(d.cache / "mephisto-db"));
  int stores = 0;
  for (const auto& e : stdfs::directory_iterator(d.cache / "mephisto-db")) {
    if (e.path().filename() == "tmp") continue;
    ++stores;
    EXPECT_TRUE(stdfs::exists(e.path() / "index" / "data.mdb")) << e.path();
  }
  EXPECT_EQ(stores, 1);
  for (const auto& e : stdfs::directory_iterator(d.tmp.path()))
    EXPECT_TRUE(e.path() == d.data || e.path() == d.cache) << e.path();
  // No credential reaches the cache.
  std::string secret = s3_env().at("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(all_bytes(d.cache).find(secret), std::string::npos);
}

TEST(S3Store, ADeletedCacheIsRebuiltByItselfFromTheBucket) {
  S3Dirs d;
  make_data_dir(d.data);
  auto before = describe(d.data);
  std::string name = nlohmann::json::parse(d.run({"--json", "backup"}).out).value("snapshot", "");
  ASSERT_FALSE(name.empty());
  stdfs::remove_all(d.cache);

  RunResult r = d.run({"snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
  stdfs::remove_all(d.cache);
  write(d.data / "data" / "runs" / "Proj'ect β" / "1000003" / "1000004" / "assign_data.json", "changed");
  write(d.data / "later.txt", "later");
  r = d.run({"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(d.data)), "");
  r = d.run({"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // verify --repair-index is the same rebuild, asked for.
  r = d.run({"verify", "--repair-index"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = d.run({"snapshots"});
  EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
}

TEST(S3Store, ASecondHostSeesTheFirstOnesSnapshotsAndBacksUpBesideThem) {
  S3Dirs d;
  make_data_dir(d.data);
  auto before = describe(d.data);
  std::string first = nlohmann::json::parse(d.run({"--json", "backup"}).out).value("snapshot", "");
  ASSERT_FALSE(first.empty());

  auto other = d.env();
  other["XDG_CACHE_HOME"] = (d.tmp / "other-host-cache").string();
  stdfs::path data2 = d.tmp / "data2";
  RunResult r = mdb(data2, d.store, {"snapshots"}, other);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(first), std::string::npos) << r.out;
  r = mdb(data2, d.store, {"restore", "-f", first}, other);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(data2)), "");

  write(data2 / "second.txt", "from the second host");
  r = mdb(data2, d.store, {"--json", "backup"}, other);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string second = nlohmann::json::parse(r.out).value("snapshot", "");
  // The first host's cache predates that backup; a fresh cache there sees both.
  stdfs::remove_all(d.cache);
  r = d.run({"snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(first), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(second), std::string::npos) << r.out;
}

// export -del and import take their automatic snapshot into the S3 store; either is undone from it.
TEST(S3Store, ExportDeleteAndImportTakeTheirSnapshotsIntoTheBucket) {
  S3Dirs d;
  RunResult r = run(MDB_SAMPLE_BINARY, {"--out", d.data.string(), "--task-runs", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto before = describe(d.data);
  stdfs::path outputs = d.tmp / "outputs";
  auto db = [&](std::vector<std::string> args) {
    std::vector<std::string> all = {"--data-dir", d.data.string(), "--outputs-dir", outputs.string(),
                                    "--store",    d.store,         "db"};
    all.insert(all.end(), args.begin(), args.end());
    return run_mephisto(all, "yes\n", d.env());
  };
  r = db({"--json", "export", "-del"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json exported = nlohmann::json::parse(r.out);
  std::string before_export = exported.value("snapshot_before", "");
  std::string zip = exported.value("file", "");
  ASSERT_FALSE(before_export.empty() || zip.empty()) << r.out;
  EXPECT_NE(diff(before, describe(d.data)), "");  // the exported runs are gone

  r = db({"--json", "import", "-f", zip});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string before_import = nlohmann::json::parse(r.out).value("snapshot_before", "");
  ASSERT_FALSE(before_import.empty()) << r.out;

  r = db({"--json", "snapshots"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json listed = nlohmann::json::parse(r.out);
  std::set<std::string> names;
  for (const auto& s : listed.at("snapshots")) names.insert(s.value("name", ""));
  EXPECT_EQ(names, (std::set<std::string>{before_export, before_import})) << r.out;
  r = db({"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = db({"restore", "-f", before_export});  // the undo export printed
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(d.data)), "");
}

TEST(S3Store, NoCredentialsOrABadLocationIsAUsageErrorNamingIt) {
  S3Dirs d;
  make_data_dir(d.data);
  auto env = d.env();
  env["AWS_ACCESS_KEY_ID"] = "";
  env["AWS_SECRET_ACCESS_KEY"] = "";
  RunResult r = mdb(d.data, d.store, {"backup"}, env);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("No S3 credentials"), std::string::npos) << r.err;

  r = mdb(d.data, "s3://Not_A_Bucket/x", {"backup"}, d.env());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("s3://Not_A_Bucket/x"), std::string::npos) << r.err;
  EXPECT_TRUE(stdfs::exists(d.data / "database.db"));
}

// libcurl is loaded when an S3 store is first used (platform/curl_lib.h): without it, the
// backup names the library and the package and changes nothing; local stores never need it.
TEST(S3Store, WithoutLibcurlABackupSaysWhatIsMissingAndChangesNothing) {
  S3Dirs d;
  make_data_dir(d.data);
  auto before = describe(d.data);
  auto env = d.env();
  env["MDB_LIBCURL"] = (d.tmp / "no-such-libcurl.so.4").string();
  RunResult r = mdb(d.data, d.store, {"backup"}, env);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("S3 stores need libcurl (the Debian package libcurl4): cannot load " +
                       (d.tmp / "no-such-libcurl.so.4").string()),
            std::string::npos)
      << r.err;
  EXPECT_EQ(diff(before, describe(d.data)), "");
  r = mdb(d.data, d.tmp / "local", {"backup"}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(S3Store, AWrongSecretFailsCleanlyAndIsNeverShown) {
  S3Dirs d;
  make_data_dir(d.data);
  auto before = describe(d.data);
  auto env = d.env();
  env["AWS_SECRET_ACCESS_KEY"] = "wrong-secret-0815";
  for (std::vector<std::string> args : {std::vector<std::string>{"backup"}, {"--json", "backup"}}) {
    RunResult r = mdb(d.data, d.store, args, env);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE((r.err + r.out).find("403"), std::string::npos) << r.err << r.out;
    EXPECT_EQ((r.err + r.out).find("0815"), std::string::npos) << r.err << r.out;
  }
  EXPECT_EQ(diff(before, describe(d.data)), "");
}

TEST(S3Store, ServerErrorsAreRetriedOrFailTheCommandCleanly) {
  S3Dirs d;
  make_data_dir(d.data);
  auto before = describe(d.data);
  std::string upstream = s3_env().at("AWS_ENDPOINT_URL");
  FaultProxy proxy(std::stoi(upstream.substr(upstream.rfind(':') + 1)));
  auto env = d.env();
  env["AWS_ENDPOINT_URL"] = proxy.endpoint();

  proxy.fail_next(1000, 503);  // more than any retries
  RunResult r = mdb(d.data, d.store, {"backup"}, env);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("HTTP 503"), std::string::npos) << r.err;
  EXPECT_EQ(diff(before, describe(d.data)), "");

  proxy.fail_next(3, 500);  // fewer than the retries
  r = mdb(d.data, d.store, {"--json", "backup"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string name = nlohmann::json::parse(r.out).value("snapshot", "");
  EXPECT_EQ(proxy.failed(), 5 + 3);  // the first request's 5 attempts, then the 3
  r = d.run({"verify", "--read-data"});  // straight to the server
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = d.run({"snapshots"});
  EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
}

}  // namespace
}  // namespace mdb::test
