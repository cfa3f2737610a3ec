#include "tests/support/s3server.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include "tests/support/testenv.h"

namespace mdb::test {

namespace {

std::map<std::string, std::string> parse_assignments(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

stdfs::path ceph_server_tool() { return stdfs::path(MDB_SOURCE_DIR) / "tools" / "ceph-server"; }

// The variables of a started server as fs::S3Settings, or as the environment of a `mephisto` run.
fs::S3Settings settings_of(const std::map<std::string, std::string>& v) {
  fs::S3Settings s;
  s.endpoint = v.at("AWS_ENDPOINT_URL");
  s.access_key = v.at("AWS_ACCESS_KEY_ID");
  s.secret_key = v.at("AWS_SECRET_ACCESS_KEY");
  s.region = v.at("AWS_REGION");
  return s;
}

std::map<std::string, std::string> env_of(std::map<std::string, std::string> env) {
  env["AWS_ENDPOINT_URL_S3"] = "";
  env["AWS_SESSION_TOKEN"] = "";
  env["AWS_PROFILE"] = "";
  // An S3 store is encrypted unless made with --no-encryption (docs/SECURITY.md): every S3 test
  // runs on an encrypted store, with this password.
  env["MEPHISTO_PASSWORD"] = kS3TestPassword;
  return env;
}

const std::map<std::string, std::string>& server_vars() {
  static std::map<std::string, std::string> vars = [] {
    const char* file = std::getenv("MDB_TEST_S3_ENV");
    if (file && *file) {
      std::ifstream in(file);
      if (!in) throw std::runtime_error(std::string("MDB_TEST_S3_ENV names ") + file + ", which cannot be read");
      std::stringstream text;
      text << in.rdbuf();
      return parse_assignments(text.str());
    }
    static CephServer own;  // stopped at exit
    return own.vars();
  }();
  if (!vars.count("AWS_ENDPOINT_URL")) throw std::runtime_error("the test S3 server printed no AWS_ENDPOINT_URL");
  return vars;
}

}  // namespace

CephServer::CephServer() {
  RunResult r = run(ceph_server_tool(), {"start", dir_.string()});
  if (r.exit_code != 0)
    throw std::runtime_error("the test S3 server (tools/ceph-server) did not start: " + r.err + r.out);
  vars_ = parse_assignments(r.out);
  if (!vars_.count("AWS_ENDPOINT_URL")) throw std::runtime_error("the test S3 server printed no AWS_ENDPOINT_URL");
}

CephServer::~CephServer() { run(ceph_server_tool(), {"stop", dir_.string()}); }

fs::S3Settings CephServer::settings() const { return settings_of(vars_); }
std::map<std::string, std::string> CephServer::env() const { return env_of(vars_); }
void CephServer::kill_rgw() { verb("kill-rgw"); }
void CephServer::start_rgw() { verb("start-rgw"); }

void CephServer::verb(const std::string& what) {
  RunResult r = run(ceph_server_tool(), {what, dir_.string()});
  if (r.exit_code != 0) throw std::runtime_error("tools/ceph-server " + what + " failed: " + r.err + r.out);
}

const fs::S3Settings& s3_server() {
  static fs::S3Settings settings = settings_of(server_vars());
  return settings;
}

std::map<std::string, std::string> s3_env() { return env_of(server_vars()); }

std::string fresh_bucket() {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device()();
  return "mdb-test-" + std::to_string(::getpid()) + "-" + std::to_string(salt % 100000) + "-" +
         std::to_string(counter++);
}

}  // namespace mdb::test
