// An S3 store is encrypted unless made with --no-encryption (docs/SECURITY.md), through the real
// binary against the test radosgw: its objects hold no plaintext, and it needs its password.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "platform/s3.h"
#include "tests/support/s3server.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

const std::string kSecretText = "worker A3X9 uploaded: confidential interview transcript";

struct S3Dirs {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  std::string bucket = fresh_bucket();
  std::string store = "s3://" + bucket + "/enc";
  std::map<std::string, std::string> env(const std::string& password = kS3TestPassword) const {
    auto e = s3_env();
    e["XDG_CACHE_HOME"] = (tmp / "cache").string();
    e["MEPHISTO_PASSWORD"] = password;
    return e;
  }
  // Every object of the store, concatenated, and their count.
  std::pair<std::string, size_t> objects() const {
    fs::S3Client c(s3_server());
    std::string all;
    std::vector<fs::S3Object> list = c.list(bucket, "enc/");
    for (const fs::S3Object& o : list) all += c.get(bucket, o.key).value_or("");
    return {all, list.size()};
  }
};

TEST(S3Encryption, AnS3StoreIsEncryptedByDefaultAndHoldsNoPlaintext) {
  S3Dirs d;
  make_data_dir(d.data);
  write(d.data / "data" / "runs" / "transcript-file.txt", kSecretText);
  auto before = describe(d.data);
  RunResult r = mdb(d.data, d.store, {"--json", "backup"}, d.env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string name = nlohmann::json::parse(r.out).value("snapshot", "");
  auto [bytes, count] = d.objects();
  EXPECT_GE(count, 3u);  // the config and at least two packs
  EXPECT_NE(bytes.find("\"encryption\""), std::string::npos);
  for (const std::string& plain : {kSecretText, std::string("transcript-file"), name, std::string(kS3TestPassword)})
    EXPECT_EQ(bytes.find(plain), std::string::npos) << plain;

  // Its password is needed; a wrong one changes nothing; the right one restores exactly.
  r = mdb(d.data, d.store, {"snapshots"}, d.env(""));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = mdb(d.data, d.store, {"backup"}, d.env("wrong"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("Wrong password"), std::string::npos) << r.err;
  EXPECT_EQ(d.objects().second, count);
  write(d.data / "data" / "runs" / "transcript-file.txt", "changed");
  r = mdb(d.data, d.store, {"restore", "-f", name}, d.env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(diff(before, describe(d.data)), "");
  // The cache (index rebuilt from the bucket) opens with the password too.
  stdfs::remove_all(d.tmp / "cache");
  r = mdb(d.data, d.store, {"verify", "--read-data"}, d.env());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(S3Encryption, NoEncryptionMakesAPlainS3StoreAndNoPasswordMakesNone) {
  S3Dirs d;
  make_data_dir(d.data);
  RunResult r = mdb(d.data, d.store, {"backup"}, d.env(""));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("is to be encrypted"), std::string::npos) << r.err;
  EXPECT_EQ(d.objects().second, 0u);
  r = mdb(d.data, d.store, {"--no-encryption", "backup"}, d.env(""));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(d.objects().first.find("\"encryption\""), std::string::npos);
  EXPECT_EQ(mdb(d.data, d.store, {"snapshots"}, d.env("")).exit_code, 0);
}

// copy --to between stores of different keys (docs/COPY.md): a local store under key A into the
// bucket under key B, and back into a local store under key C; each opens with its own password only.
TEST(S3Encryption, CopyBetweenKeysToS3AndBack) {
  S3Dirs d;
  make_data_dir(d.data);
  write(d.data / "data" / "runs" / "transcript-file.txt", kSecretText);
  auto before = describe(d.data);
  stdfs::path local = d.tmp / "local";
  std::map<std::string, std::string> a = d.env("password A"), b = d.env("password B");
  RunResult r = mdb(d.data, local, {"--json", "--encrypt", "backup"}, a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string name = nlohmann::json::parse(r.out).value("snapshot", "");
  a["MEPHISTO_TO_PASSWORD"] = "password B";
  r = mdb(d.data, local, {"copy", "--to", d.store}, a);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto [bytes, count] = d.objects();
  for (const std::string& plain : {kSecretText, std::string("transcript-file"), name})
    EXPECT_EQ(bytes.find(plain), std::string::npos) << plain;
  r = mdb(d.data, d.store, {"snapshots"}, d.env("password A"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("Wrong password"), std::string::npos) << r.err;
  stdfs::path back = d.tmp / "back";
  b["MEPHISTO_TO_PASSWORD"] = "password C";
  r = mdb(d.data, d.store, {"copy", "--to", back.string()}, b);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  TempDir t;
  r = mdb(t / "data", back, {"restore", "-f", name}, d.env("password C"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(t / "data")), "");
}

}  // namespace
}  // namespace mdb::test
