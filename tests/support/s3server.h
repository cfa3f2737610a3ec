#pragma once
// The S3 server of the tests: a real radosgw (tools/ceph-server), never a fake. It is the one
// ctest's S3Server.Start fixture started (its settings in the file MDB_TEST_S3_ENV names), else one
// this process starts itself and stops at exit. When neither works (Ceph not installed, a
// daemon that does not come up) the test fails with the reason; it never skips.
#include <map>
#include <string>

#include "platform/s3.h"

namespace mdb::test {

const fs::S3Settings& s3_server();
// The environment variables a `mephisto` run needs to reach the server.
std::map<std::string, std::string> s3_env();
// A bucket name that no other test (process) uses.
std::string fresh_bucket();

}  // namespace mdb::test
