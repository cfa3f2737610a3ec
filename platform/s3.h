#pragma once
// A small S3 client on libcurl (docs/S3.md). libcurl signs every request itself
// (CURLOPT_AWS_SIGV4); we add what curl 7.88 leaves out: x-amz-content-sha256 (the body's real
// SHA-256, which the server then checks) and a sorted, percent-encoded query string (curl signs it
// as written). Easy handles are pooled so connections are reused, also across threads.
// Credentials are never put into a message.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "platform/env.h"

namespace mdb::fs {

struct S3Settings {
  std::string endpoint;  // "http://127.0.0.1:7480"; empty: AWS, https://BUCKET.s3.REGION.amazonaws.com
  std::string region = "us-east-1";
  std::string access_key, secret_key, session_token;
  bool verify_tls = true;
  int max_attempts = 5;  // for 5xx, timeouts and dropped connections
  std::chrono::milliseconds first_backoff{100};
};

// Settings by the AWS tools' conventions: AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (path-style
// addressing there); AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1; AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, else the AWS_PROFILE (default "default") section of
// AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials). Throws when there are no credentials.
S3Settings s3_settings_from_environment();

// An S3 request that failed for good (after the retries), or a bad answer.
class S3Error : public Error {
 public:
  S3Error(const std::string& message, long status, ErrorKind kind = ErrorKind::Io)
      : Error(message, kind), status_(status) {}
  long status() const { return status_; }  // the HTTP status, 0 when none came

 private:
  long status_;
};

struct S3Object {
  std::string key;
  uint64_t size = 0;
};

class S3Client {
 public:
  explicit S3Client(S3Settings settings);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Creates the bucket; one that exists and is ours already is fine.
  void create_bucket(const std::string& bucket);
  // Stores `body` under `key`. With `only_if_new` (If-None-Match: *) returns false, storing
  // nothing, when the key exists already.
  bool put(const std::string& bucket, const std::string& key, std::string_view body, bool only_if_new = false);
  // Stores the whole content of the open file `body` under `key`, read in pieces (hashed once,
  // then sent by curl's read callback): memory stays small whatever the object's size.
  void put_file(const std::string& bucket, const std::string& key, File& body);
  // The object's bytes (`length` from `offset`, fewer where it ends; all without a range), or
  // nothing when there is no such object. A whole object is checked against its ETag (the MD5
  // of a single-part upload).
  std::optional<std::string> get(const std::string& bucket, const std::string& key,
                                 std::optional<std::pair<uint64_t, uint64_t>> range = std::nullopt);
  std::optional<uint64_t> size(const std::string& bucket, const std::string& key);
  // Deleting a missing key is no error.
  void remove(const std::string& bucket, const std::string& key);
  // Every object whose key starts with `prefix`, in key order; none when there is no such bucket.
  std::vector<S3Object> list(const std::string& bucket, const std::string& prefix);

  // "s3://bucket/key", for messages.
  static std::string where(const std::string& bucket, const std::string& key);

  struct Request;
  struct Response;
  class Handle;

 private:
  Response perform(const Request& req);
  Response attempt(Handle& handle, const Request& req);
  std::string url_of(const std::string& bucket, const std::string& key, const std::string& query) const;

  S3Settings settings_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;  // curl easy handles, each keeping its connection
};

// RFC 3986 percent-encoding as SigV4 wants it (unreserved kept, the rest %XX); '/' kept when
// `keep_slash`.
std::string uri_encode(std::string_view s, bool keep_slash);

}  // namespace mdb::fs
