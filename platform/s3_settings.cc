// Where the S3 client's endpoint, region and credentials come from: the AWS tools' conventions.
#include <cstdlib>

#include "platform/env.h"
#include "platform/s3.h"

namespace mdb::fs {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r");
  size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// The keys of `profile`'s section of an AWS credentials file (INI: [name], key = value).
void read_profile(const stdfs::path& file, const std::string& profile, S3Settings& out) {
  if (!fs::exists(file)) return;
  std::string text = fs::read_file(file), section;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = trim(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    size_t eq = line.find('=');
    if (section != profile || eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") out.access_key = value;
    if (key == "aws_secret_access_key") out.secret_key = value;
    if (key == "aws_session_token") out.session_token = value;
  }
}

}  // namespace

S3Settings s3_settings_from_environment() {
  S3Settings s;
  s.endpoint = env("AWS_ENDPOINT_URL_S3");
  if (s.endpoint.empty()) s.endpoint = env("AWS_ENDPOINT_URL");
  s.region = env("AWS_REGION");
  if (s.region.empty()) s.region = env("AWS_DEFAULT_REGION");
  if (s.region.empty()) s.region = "us-east-1";
  s.access_key = env("AWS_ACCESS_KEY_ID");
  s.secret_key = env("AWS_SECRET_ACCESS_KEY");
  s.session_token = env("AWS_SESSION_TOKEN");
  std::string profile = env("AWS_PROFILE");
  if (s.access_key.empty() || s.secret_key.empty()) {
    s.session_token.clear();
    std::string file = env("AWS_SHARED_CREDENTIALS_FILE");
    if (file.empty() && !env("HOME").empty()) file = env("HOME") + "/.aws/credentials";
    if (!file.empty()) read_profile(file, profile.empty() ? "default" : profile, s);
  }
  if (s.access_key.empty() || s.secret_key.empty())
    throw Error("No S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put them into the \"" +
                    (profile.empty() ? std::string("default") : profile) +
                    "\" profile of ~/.aws/credentials (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE).",
                ErrorKind::Usage);
  return s;
}

}  // namespace mdb::fs
