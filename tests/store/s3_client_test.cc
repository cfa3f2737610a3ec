// The S3 client (platform/s3.h) against the test radosgw: what the store's S3 backend relies on
// beyond the backend contract.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "platform/s3.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/s3server.h"
#include "tests/support/testenv.h"

namespace mdb::fs {
namespace {

namespace t = mdb::test;

TEST(S3Client, AConditionalPutStoresOnlyANewKey) {
  S3Client c(t::s3_server());
  std::string bucket = t::fresh_bucket();
  c.create_bucket(bucket);
  c.create_bucket(bucket);  // ours already: fine
  EXPECT_TRUE(c.put(bucket, "lock", "first", true));
  EXPECT_FALSE(c.put(bucket, "lock", "second", true));
  EXPECT_EQ(c.get(bucket, "lock"), "first");
  EXPECT_TRUE(c.put(bucket, "lock", "replaced"));
  EXPECT_EQ(c.get(bucket, "lock"), "replaced");
}

TEST(S3Client, KeysWithAnyCharacterRoundTrip) {
  S3Client c(t::s3_server());
  std::string bucket = t::fresh_bucket();
  c.create_bucket(bucket);
  std::string key = "dir with space/ä+&=?#%~x.json";
  c.put(bucket, key, "v");
  EXPECT_EQ(c.get(bucket, key), "v");
  std::vector<S3Object> all = c.list(bucket, "dir with space/");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].key, key);
  EXPECT_EQ(all[0].size, 1u);
}

TEST(S3Client, AListingGoesOnPastAThousandKeys) {
  S3Client c(t::s3_server());
  std::string bucket = t::fresh_bucket();
  c.create_bucket(bucket);
  for (int i = 0; i < 1003; ++i) c.put(bucket, "p/" + std::to_string(100000 + i), "x");
  c.put(bucket, "q/other", "y");
  EXPECT_TRUE(c.list(t::fresh_bucket(), "").empty());  // no such bucket: nothing in it
  std::vector<S3Object> all = c.list(bucket, "p/");
  ASSERT_EQ(all.size(), 1003u);
  EXPECT_EQ(all.front().key, "p/100000");
  EXPECT_EQ(all.back().key, "p/101002");
}

TEST(S3Client, AWrongSecretIsRefusedAndNoMessageNamesIt) {
  S3Settings s = t::s3_server();
  s.secret_key = "not-the-secret-4711";
  S3Client c(s);
  try {
    c.create_bucket(t::fresh_bucket());
    FAIL() << "a wrong secret was accepted";
  } catch (const S3Error& e) {
    EXPECT_EQ(e.status(), 403);
    EXPECT_NE(std::string(e.what()).find("SignatureDoesNotMatch"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("4711"), std::string::npos) << e.what();
  }
}

TEST(S3Client, AnUnreachableServerIsRetriedABoundedNumberOfTimesThenAnIoError) {
  S3Settings s = t::s3_server();
  s.endpoint = "http://127.0.0.1:1";  // nothing listens there
  s.max_attempts = 3;
  s.first_backoff = std::chrono::milliseconds(1);
  S3Client c(s);
  try {
    c.get("some-bucket", "key");
    FAIL() << "no error";
  } catch (const S3Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("after 3 attempts"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("s3://some-bucket/key"), std::string::npos) << e.what();
  }
}

int port_of(const std::string& endpoint) { return std::stoi(endpoint.substr(endpoint.rfind(':') + 1)); }

TEST(S3Client, InjectedServerErrorsAreRetriedAndTheRequestSucceeds) {
  t::FaultProxy proxy(port_of(t::s3_server().endpoint));
  S3Settings s = t::s3_server();
  s.endpoint = proxy.endpoint();
  s.first_backoff = std::chrono::milliseconds(1);
  S3Client c(s);
  std::string bucket = t::fresh_bucket();
  c.create_bucket(bucket);
  for (int status : {500, 503}) {
    proxy.fail_next(2, status);
    EXPECT_TRUE(c.put(bucket, "k" + std::to_string(status), std::string(200000, 'x')));
  }
  EXPECT_EQ(proxy.failed(), 4);
  S3Client direct(t::s3_server());
  EXPECT_EQ(direct.get(bucket, "k503"), std::string(200000, 'x'));
}

TEST(S3Client, ServerErrorsPastTheRetriesFailNamingTheStatus) {
  t::FaultProxy proxy(port_of(t::s3_server().endpoint));
  S3Settings s = t::s3_server();
  s.endpoint = proxy.endpoint();
  s.first_backoff = std::chrono::milliseconds(1);
  s.max_attempts = 3;
  S3Client c(s);
  std::string bucket = t::fresh_bucket();
  c.create_bucket(bucket);
  proxy.fail_next(100, 503);
  try {
    c.put(bucket, "k", "v");
    FAIL() << "no error";
  } catch (const S3Error& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_NE(std::string(e.what()).find("HTTP 503 (after 3 attempts)"), std::string::npos) << e.what();
  }
  // The first attempt may also have found its kept-alive connection closed by fail_next().
  EXPECT_GE(proxy.failed(), 2);
  proxy.fail_next(0);
  S3Client direct(t::s3_server());
  EXPECT_FALSE(direct.get(bucket, "k"));  // nothing was stored
}

// Restores the variables a test changes.
class ScopedEnv {
 public:
  void set(const std::string& name, const std::string& value) {
    if (!saved_.count(name)) {
      const char* old = ::getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (value.empty()) ::unsetenv(name.c_str()); else ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    for (auto& [name, value] : saved_)
      if (value) ::setenv(name.c_str(), value->c_str(), 1); else ::unsetenv(name.c_str());
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST(S3Settings, FollowTheAwsConventions) {
  t::TempDir home;
  {
    std::ofstream f(home / "credentials");
    f << "[default]\naws_access_key_id = default-id\naws_secret_access_key = default-secret\n\n"
         "# a comment\n[backup]\naws_access_key_id=backup-id\naws_secret_access_key= backup-secret \n"
         "aws_session_token = backup-token\n";
  }
  ScopedEnv env;
  for (const char* v : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
                        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"})
    env.set(v, "");
  env.set("AWS_SHARED_CREDENTIALS_FILE", (home / "credentials").string());
  S3Settings s = s3_settings_from_environment();
  EXPECT_EQ(s.endpoint, "");  // AWS itself
  EXPECT_EQ(s.region, "us-east-1");
  EXPECT_EQ(s.access_key, "default-id");
  EXPECT_EQ(s.secret_key, "default-secret");

  env.set("AWS_PROFILE", "backup");
  env.set("AWS_DEFAULT_REGION", "eu-west-1");
  env.set("AWS_ENDPOINT_URL", "http://generic:1");
  s = s3_settings_from_environment();
  EXPECT_EQ(s.endpoint, "http://generic:1");
  EXPECT_EQ(s.region, "eu-west-1");
  EXPECT_EQ(s.access_key, "backup-id");
  EXPECT_EQ(s.secret_key, "backup-secret");
  EXPECT_EQ(s.session_token, "backup-token");

  env.set("AWS_ENDPOINT_URL_S3", "http://s3-only:2");
  env.set("AWS_REGION", "eu-central-1");
  env.set("AWS_ACCESS_KEY_ID", "env-id");
  env.set("AWS_SECRET_ACCESS_KEY", "env-secret");
  s = s3_settings_from_environment();
  EXPECT_EQ(s.endpoint, "http://s3-only:2");
  EXPECT_EQ(s.region, "eu-central-1");
  EXPECT_EQ(s.access_key, "env-id");
  EXPECT_EQ(s.session_token, "");  // the profile's token belongs to the profile's keys

  env.set("AWS_ACCESS_KEY_ID", "");
  env.set("AWS_PROFILE", "nobody");
  try {
    s3_settings_from_environment();
    FAIL() << "no credentials, no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("\"nobody\" profile"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mdb::fs
