#pragma once
// A store in a fresh bucket of the test radosgw, reached through a FaultProxy, and a data dir
// beside it: what the S3 fault tests share. The cache dir is the test's own.
#include <map>
#include <string>
#include <vector>

#include "tests/support/fault_proxy.h"
#include "tests/support/s3server.h"
#include "tests/support/tree_util.h"

namespace mdb::test {

// The port of the test radosgw (s3_env()'s endpoint), for a FaultProxy in front of it.
inline int s3_server_port() {
  std::string url = s3_env().at("AWS_ENDPOINT_URL");
  return std::stoi(url.substr(url.rfind(':') + 1));
}

struct ProxiedStore {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  std::string bucket = fresh_bucket();
  std::string store = "s3://" + bucket + "/store";
  FaultProxy proxy{s3_server_port()};
  std::string cache = "cache";  // another name is another host's cache

  std::map<std::string, std::string> env() const {
    auto e = s3_env();
    e["XDG_CACHE_HOME"] = (tmp / cache).string();
    e["AWS_ENDPOINT_URL"] = proxy.endpoint();
    return e;
  }
  // `mephisto --data-dir data --store store db ARGS` through the proxy.
  RunResult run(std::vector<std::string> args) const { return mdb(data, store, std::move(args), env()); }
};

}  // namespace mdb::test
