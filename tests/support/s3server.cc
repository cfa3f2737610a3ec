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

// A server this process started; stopped (and its directory removed) at exit.
class OwnServer {
 public:
  OwnServer() {
    RunResult r = run(stdfs::path(MDB_SOURCE_DIR) / "tools" / "ceph-server", {"start", (dir_ / "ceph").string()});
    if (r.exit_code != 0)
      throw std::runtime_error("the test S3 server (tools/ceph-server) did not start: " + r.err + r.out);
    vars = parse_assignments(r.out);
  }
  ~OwnServer() { run(stdfs::path(MDB_SOURCE_DIR) / "tools" / "ceph-server", {"stop", (dir_ / "ceph").string()}); }
  std::map<std::string, std::string> vars;

 private:
  TempDir dir_;
};

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
    static OwnServer own;
    return own.vars;
  }();
  if (!vars.count("AWS_ENDPOINT_URL")) throw std::runtime_error("the test S3 server printed no AWS_ENDPOINT_URL");
  return vars;
}

}  // namespace

const fs::S3Settings& s3_server() {
  static fs::S3Settings settings = [] {
    const auto& v = server_vars();
    fs::S3Settings s;
    s.endpoint = v.at("AWS_ENDPOINT_URL");
    s.access_key = v.at("AWS_ACCESS_KEY_ID");
    s.secret_key = v.at("AWS_SECRET_ACCESS_KEY");
    s.region = v.at("AWS_REGION");
    return s;
  }();
  return settings;
}

std::map<std::string, std::string> s3_env() {
  std::map<std::string, std::string> env = server_vars();
  env["AWS_ENDPOINT_URL_S3"] = "";
  env["AWS_SESSION_TOKEN"] = "";
  env["AWS_PROFILE"] = "";
  return env;
}

std::string fresh_bucket() {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device()();
  return "mdb-test-" + std::to_string(::getpid()) + "-" + std::to_string(salt % 100000) + "-" +
         std::to_string(counter++);
}

}  // namespace mdb::test
