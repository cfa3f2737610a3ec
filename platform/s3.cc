#include "platform/s3.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <tuple>

#include "formats/hash.h"
#include "platform/curl_lib.h"

namespace mdb::fs {

namespace {

struct SlistFree {
  void operator()(curl_slist* l) const { curl().slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistFree>;

void add_header(Slist& list, const std::string& header) {
  curl_slist* grown = curl().slist_append(list.get(), header.c_str());
  if (!grown) throw std::bad_alloc();
  list.release();
  list.reset(grown);
}

std::string md5_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_md5(), nullptr))
    throw Error("OpenSSL could not compute an MD5");
  return store::hex(std::string_view(reinterpret_cast<const char*>(digest), len));
}

size_t collect_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

bool has_name(std::string_view line, std::string_view name) {  // `name` lowercase, with its ':'
  return line.size() > name.size() && std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
           return a == std::tolower(static_cast<unsigned char>(b));
         });
}

// What is between the first <tag> and its </tag> in `xml` from `from`, as it is; `end` is set
// past the close. S3's answers are flat enough that no XML library is needed.
std::string_view xml_section(std::string_view xml, std::string_view tag, size_t from = 0, size_t* end = nullptr) {
  std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  size_t a = xml.find(open, from);
  if (a == std::string_view::npos) return {};
  a += open.size();
  size_t b = xml.find(close, a);
  if (b == std::string_view::npos) return {};
  if (end) *end = b + close.size();
  return xml.substr(a, b - a);
}

// The text of the first <tag>...</tag>, entities decoded.
std::string xml_text(std::string_view xml, std::string_view tag) {
  std::string out;
  std::string_view raw = xml_section(xml, tag);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out += raw[i];
      continue;
    }
    static const std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool known = false;
    for (const auto& [name, c] : kEntities)
      if (raw.substr(i, name.size()) == name) {
        out += c;
        i += name.size() - 1;
        known = true;
        break;
      }
    if (!known) out += '&';
  }
  return out;
}

bool retryable(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    default: return false;
  }
}

bool retryable(long status) { return status == 500 || status == 502 || status == 503 || status == 504; }

const char* const kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace

// One curl easy handle; it keeps its connection open between requests (curl_easy_reset does not
// close it).
class S3Client::Handle {
 public:
  Handle() : curl_(curl().easy_init()) {
    if (!curl_) throw Error("libcurl could not make a handle");
  }
  ~Handle() { curl().easy_cleanup(curl_); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  CURL* get() { return curl_; }

 private:
  CURL* curl_;
};

struct S3Client::Request {
  std::string method;  // GET HEAD PUT DELETE
  std::string bucket, key, query;
  std::string_view body;
  std::vector<std::string> headers;
  File* file = nullptr;  // a PUT's body read from this file instead (put_file)
  uint64_t file_size = 0;
  std::string file_sha256{};
};

namespace {

// A PUT body read from a file by curl's read callback; `offset` restarts at 0 every attempt.
struct FileBody {
  File* file;
  uint64_t offset = 0;
};

size_t read_file_body(char* buf, size_t size, size_t n, void* p) {
  auto* body = static_cast<FileBody*>(p);
  try {
    size_t got = body->file->pread(buf, size * n, body->offset);
    body->offset += got;
    return got;
  } catch (const std::exception&) {
    return CURL_READFUNC_ABORT;  // the transfer fails, and the put with it
  }
}

int seek_file_body(void* p, curl_off_t offset, int origin) {
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  static_cast<FileBody*>(p)->offset = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// The SHA-256 (hex) and size of the whole file, read in 1 MiB pieces.
std::pair<std::string, uint64_t> file_sha256(File& file) {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || !EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr)) throw Error("OpenSSL could not start a SHA-256");
  std::string buf(1u << 20, '\0');
  uint64_t offset = 0;
  for (size_t got; (got = file.pread(buf.data(), buf.size(), offset)) > 0; offset += got)
    EVP_DigestUpdate(ctx.get(), buf.data(), got);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!EVP_DigestFinal_ex(ctx.get(), digest, &len)) throw Error("OpenSSL could not compute a SHA-256");
  return {store::hex(std::string_view(reinterpret_cast<const char*>(digest), len)), offset};
}

}  // namespace

struct S3Client::Response {
  long status = 0;
  std::string body, etag;
  curl_off_t content_length = -1;
};

namespace {

// Keeps the ETag, and sizes the body for its Content-Length (up to a pack's size): a 4 MiB
// read-ahead window is then held in 4 MiB, not in the 8 MiB of a string grown by doubling.
size_t collect_header(char* data, size_t size, size_t n, void* out) {
  auto* resp = static_cast<S3Client::Response*>(out);
  std::string_view line(data, size * n);
  if (has_name(line, "etag:")) {
    std::string value(line.substr(5));
    value.erase(std::remove_if(value.begin(), value.end(), [](char c) { return c == '"' || std::isspace(c); }),
                value.end());
    resp->etag = value;
  } else if (has_name(line, "content-length:")) {
    uint64_t length = std::strtoull(std::string(line.substr(15)).c_str(), nullptr, 10);
    if (length <= (64u << 20)) resp->body.reserve(length);
  }
  return size * n;
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

S3Client::S3Client(S3Settings settings) : settings_(std::move(settings)) { curl(); }  // a missing libcurl is told at once

S3Client::~S3Client() = default;

std::string S3Client::where(const std::string& bucket, const std::string& key) {
  return "s3://" + bucket + (key.empty() ? "" : "/" + key);
}

std::string S3Client::url_of(const std::string& bucket, const std::string& key, const std::string& query) const {
  std::string url;
  if (settings_.endpoint.empty()) {  // AWS: virtual-hosted style
    url = "https://" + bucket + ".s3." + settings_.region + ".amazonaws.com/" + uri_encode(key, true);
  } else {  // any other endpoint: path style
    url = settings_.endpoint;
    while (!url.empty() && url.back() == '/') url.pop_back();
    url += "/" + bucket;
    if (!key.empty()) url += "/" + uri_encode(key, true);
  }
  if (!query.empty()) url += "?" + query;
  return url;
}

S3Client::Response S3Client::attempt(Handle& handle, const Request& req) {
  CURL* c = handle.get();
  curl().easy_reset(c);
  Response resp;
  std::string url = url_of(req.bucket, req.key, req.query);
  std::string sigv4 = "aws:amz:" + settings_.region + ":s3";
  curl().easy_setopt(c, CURLOPT_URL, url.c_str());
  curl().easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl().easy_setopt(c, CURLOPT_USERNAME, settings_.access_key.c_str());
  curl().easy_setopt(c, CURLOPT_PASSWORD, settings_.secret_key.c_str());
  curl().easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl().easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  // A stalled transfer (under 1 KB/s for 30 s) is a timeout, which is retried.
  curl().easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl().easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  curl().easy_setopt(c, CURLOPT_SSL_VERIFYPEER, settings_.verify_tls ? 1L : 0L);
  curl().easy_setopt(c, CURLOPT_SSL_VERIFYHOST, settings_.verify_tls ? 2L : 0L);
  curl().easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
  curl().easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  curl().easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_header);
  curl().easy_setopt(c, CURLOPT_HEADERDATA, &resp);

  Slist headers;
  FileBody file_body{req.file};
  std::string sha = req.file ? req.file_sha256 : req.body.empty() ? kEmptySha256 : store::sha256(req.body).hex();
  add_header(headers, "x-amz-content-sha256: " + sha);
  if (!settings_.session_token.empty()) add_header(headers, "x-amz-security-token: " + settings_.session_token);
  for (const std::string& h : req.headers) add_header(headers, h);
  if (req.method == "PUT") {
    // The body as POSTFIELDS, so curl's signature covers the same bytes the hash header names.
    // (No "Expect:" to drop 100-continue: curl 7.88 signs the removed header, and the server
    // then rejects the signature.)
    add_header(headers, "Content-Type: application/octet-stream");
    if (req.file) {  // curl reads it; the hash header above is what it signs as the payload's
      curl().easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl().easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.file_size));
      curl().easy_setopt(c, CURLOPT_READFUNCTION, read_file_body);
      curl().easy_setopt(c, CURLOPT_READDATA, &file_body);
      curl().easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_file_body);
      curl().easy_setopt(c, CURLOPT_SEEKDATA, &file_body);
    } else {
      curl().easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
      curl().easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl().easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    }
  } else if (req.method == "HEAD") {
    curl().easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    curl().easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl().easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());

  CURLcode rc = curl().easy_perform(c);
  if (rc != CURLE_OK) {
    resp.status = -static_cast<long>(rc);  // a transport failure, not an HTTP status
    // It names the endpoint (scheme, host and port): the server that could not be reached.
    resp.body = std::string(curl().easy_strerror(rc)) + " at " + url.substr(0, url.find('/', url.find("//") + 2));
    return resp;
  }
  curl().easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  curl().easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &resp.content_length);
  return resp;
}

S3Client::Response S3Client::perform(const Request& req) {
  std::unique_ptr<Handle> handle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      handle = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!handle) handle = std::make_unique<Handle>();
  Response resp;
  auto backoff = settings_.first_backoff;
  for (int i = 1;; ++i) {
    resp = attempt(*handle, req);
    bool again = resp.status < 0 ? retryable(static_cast<CURLcode>(-resp.status)) : retryable(resp.status);
    if (!again || i >= settings_.max_attempts) break;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(handle));
  return resp;
}

namespace {

[[noreturn]] void fail(const std::string& method, const std::string& where, long status, const std::string& body,
                       int attempts) {
  std::string why;
  if (status < 0) {
    why = body;  // curl's words for the transport failure
  } else {
    why = "HTTP " + std::to_string(status);
    std::string code = xml_text(body, "Code"), message = xml_text(body, "Message");
    if (!code.empty()) why += " " + code;
    if (!message.empty()) why += ": " + message;
  }
  bool retried = status < 0 ? retryable(static_cast<CURLcode>(-status)) : retryable(status);
  if (retried) why += " (after " + std::to_string(attempts) + " attempts)";
  ErrorKind kind = ErrorKind::Io;
  if (status == 404) kind = ErrorKind::NotFound;
  throw S3Error("S3 " + method + " " + where + " failed: " + why + ".", status < 0 ? 0 : status, kind);
}

}  // namespace

void S3Client::create_bucket(const std::string& bucket) {
  Response r = perform({"PUT", bucket, "", "", "", {}});
  if (r.status == 200) return;
  if (r.status == 409 && xml_text(r.body, "Code") == "BucketAlreadyOwnedByYou") return;
  fail("PUT", where(bucket, ""), r.status, r.body, settings_.max_attempts);
}

bool S3Client::put(const std::string& bucket, const std::string& key, std::string_view body, bool only_if_new) {
  Request req{"PUT", bucket, key, "", body, {}};
  if (only_if_new) req.headers.push_back("If-None-Match: *");
  Response r = perform(req);
  if (r.status == 200) return true;
  if (only_if_new && r.status == 412) return false;
  fail("PUT", where(bucket, key), r.status, r.body, settings_.max_attempts);
}

void S3Client::put_file(const std::string& bucket, const std::string& key, File& body) {
  Request req{"PUT", bucket, key, "", "", {}};
  req.file = &body;
  std::tie(req.file_sha256, req.file_size) = file_sha256(body);
  Response r = perform(req);
  if (r.status != 200) fail("PUT", where(bucket, key), r.status, r.body, settings_.max_attempts);
}

std::optional<std::string> S3Client::get(const std::string& bucket, const std::string& key,
                                         std::optional<std::pair<uint64_t, uint64_t>> range) {
  Request req{"GET", bucket, key, "", "", {}};
  if (range) {
    if (range->second == 0) return std::string();
    req.headers.push_back("Range: bytes=" + std::to_string(range->first) + "-" +
                          std::to_string(range->first + range->second - 1));
  }
  Response r = perform(req);
  if (r.status == 404) return std::nullopt;
  if (r.status == 416) return std::string();  // the range starts at or past the end
  if (r.status != 200 && r.status != 206) fail("GET", where(bucket, key), r.status, r.body, settings_.max_attempts);
  if (r.status == 200 && r.etag.size() == 32 && md5_hex(r.body) != r.etag)
    throw S3Error("S3 GET " + where(bucket, key) + " returned bytes that do not match the object's ETag.", 200,
                  ErrorKind::Damaged);
  return std::move(r.body);
}

std::optional<uint64_t> S3Client::size(const std::string& bucket, const std::string& key) {
  Response r = perform({"HEAD", bucket, key, "", "", {}});
  if (r.status == 404) return std::nullopt;
  if (r.status != 200 || r.content_length < 0) fail("HEAD", where(bucket, key), r.status, r.body, settings_.max_attempts);
  return static_cast<uint64_t>(r.content_length);
}

void S3Client::remove(const std::string& bucket, const std::string& key) {
  Response r = perform({"DELETE", bucket, key, "", "", {}});
  if (r.status == 204 || r.status == 200 || r.status == 404) return;
  fail("DELETE", where(bucket, key), r.status, r.body, settings_.max_attempts);
}

std::vector<S3Object> S3Client::list(const std::string& bucket, const std::string& prefix) {
  std::vector<S3Object> out;
  std::string token;
  for (;;) {
    // Sorted by name and percent-encoded: curl signs the query string as written.
    std::string query;
    if (!token.empty()) query += "continuation-token=" + uri_encode(token, false) + "&";
    query += "list-type=2&prefix=" + uri_encode(prefix, false);
    Response r = perform({"GET", bucket, "", query, "", {}});
    if (r.status == 404 && xml_text(r.body, "Code") == "NoSuchBucket") break;  // holds nothing
    if (r.status != 200) fail("GET", where(bucket, prefix) + " (list)", r.status, r.body, settings_.max_attempts);
    size_t pos = 0, end = 0;
    for (;;) {
      std::string_view contents = xml_section(r.body, "Contents", pos, &end);
      if (contents.empty()) break;
      pos = end;
      out.push_back({xml_text(contents, "Key"), std::stoull("0" + xml_text(contents, "Size"))});
    }
    if (xml_text(r.body, "IsTruncated") != "true") break;
    token = xml_text(r.body, "NextContinuationToken");
    if (token.empty()) throw S3Error("S3 list of " + where(bucket, prefix) + " is truncated without a token.", 200);
  }
  std::sort(out.begin(), out.end(), [](const S3Object& a, const S3Object& b) { return a.key < b.key; });
  return out;
}

}  // namespace mdb::fs
