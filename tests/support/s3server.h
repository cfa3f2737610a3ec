#pragma once
// The S3 server of the tests: a real radosgw (tools/ceph-server), never a fake. It is the one
// ctest's S3Server.Start fixture started (its settings in the file MDB_TEST_S3_ENV names), else one
// this process starts itself and stops at exit. When neither works (Ceph not installed, a
// daemon that does not come up) the test fails with the reason; it never skips.
#include <filesystem>
#include <map>
#include <string>

#include "platform/s3.h"
#include "tests/support/testenv.h"

namespace mdb::test {

// A server of its own (tools/ceph-server in a temp dir), for tests that break it (kill_rgw):
// the shared one is never disturbed. Stopped and removed when destroyed.
class CephServer {
 public:
  CephServer();
  ~CephServer();
  CephServer(const CephServer&) = delete;
  CephServer& operator=(const CephServer&) = delete;
  // The settings printed by `tools/ceph-server start` (AWS_ENDPOINT_URL=..., the keys).
  const std::map<std::string, std::string>& vars() const { return vars_; }
  fs::S3Settings settings() const;
  std::map<std::string, std::string> env() const;  // as s3_env()
  void kill_rgw();   // SIGKILLs radosgw alone
  void start_rgw();  // starts it again on the same port, returns once it serves

 private:
  void verb(const std::string& what);
  TempDir tmp_;
  std::filesystem::path dir_ = tmp_ / "ceph";
  std::map<std::string, std::string> vars_;
};

const fs::S3Settings& s3_server();
inline constexpr const char* kS3TestPassword = "s3 test store password";
// The environment variables a `mephisto` run needs to reach the server, and the store password.
std::map<std::string, std::string> s3_env();
// A bucket name that no other test (process) uses.
std::string fresh_bucket();

}  // namespace mdb::test
