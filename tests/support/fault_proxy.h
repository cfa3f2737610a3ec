#pragma once
// A TCP proxy in front of the real test S3 server that fails chosen requests: the next
// `fail_next(n)` connections get their request read and answered with HTTP `status` (then
// closed), later ones are passed through byte for byte; `cut_next(n, bytes, ...)` drops the next
// n connections once `bytes` of a request or response passed; `delay` slows every piece passed
// on; `hold` stalls every connection until released. The server and its signatures stay real;
// only the network between is made to misbehave. It logs each request passed ("METHOD /path").
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mdb::test {

class FaultProxy {
 public:
  // Forwards to 127.0.0.1:`upstream_port`.
  explicit FaultProxy(int upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Also closes the connections being passed through, so the client's next request comes on a
  // new connection.
  void fail_next(int connections, int status = 503) {
    status_ = status;
    failures_ = connections;
    ++generation_;
  }
  int failed() const { return failed_; }
  // The request after the next `skip` ones whose "METHOD /path" starts with `prefix` is answered
  // with HTTP `status` before the server sees it (then the connection is closed); a 4xx is not
  // retried, so exactly that object fails.
  // With `min_range`, only requests whose Range asks for at least that many bytes count.
  void fail_request(const std::string& prefix, int skip, int status, uint64_t min_range = 0) {
    std::lock_guard<std::mutex> g(log_mu_);
    reject_prefix_ = prefix;
    reject_skip_ = skip;
    reject_status_ = status;
    reject_min_range_ = min_range;
  }
  // The next `connections` new connections are closed (both sides) once `bytes` bytes of the
  // request (upload) or of the response (download) passed. Closes the ones open now.
  void cut_next(int connections, uint64_t bytes, bool response) {
    cut_bytes_ = bytes;
    cut_response_ = response;
    cuts_ = connections;
    ++generation_;
  }
  int cut() const { return cut_done_; }
  // Every piece passed on (either way) waits this long first.
  void delay(std::chrono::milliseconds per_piece) { delay_ms_ = static_cast<int>(per_piece.count()); }
  // While held, nothing is passed on (connections stay open).
  void hold(bool held) { held_ = held; }
  // The first request after this whose "METHOD /path" starts with `prefix` holds the proxy
  // (as hold(true)) once its head has passed: the test then acts at that point of a command.
  void hold_at(const std::string& prefix) {
    std::lock_guard<std::mutex> g(log_mu_);
    hold_prefix_ = prefix;
  }
  bool held() const { return held_; }
  // The response to the first request after this whose "METHOD /path" starts with `prefix` and
  // whose Range asks for at least `min_range` bytes is held (its connection stalls), and those of
  // its retries (same path and range), until release_response(); other connections pass on.
  // arrived_while_held() counts the other requests with `prefix` that arrived meanwhile: a client
  // waiting for each answer before its next request sends none.
  void hold_response(const std::string& prefix, uint64_t min_range) {
    std::lock_guard<std::mutex> g(log_mu_);
    response_prefix_ = prefix;
    response_min_range_ = min_range;
  }
  bool response_held() const { return response_held_; }
  void release_response() {
    std::lock_guard<std::mutex> g(log_mu_);
    response_held_ = false;
    response_prefix_.clear();
  }
  int arrived_while_held() const {
    std::lock_guard<std::mutex> g(log_mu_);
    return while_held_;
  }
  // The held request ("METHOD /path FIRST-LAST") and those that arrived meanwhile ("METHOD /path").
  std::string held_request() const {
    std::lock_guard<std::mutex> g(log_mu_);
    return held_request_;
  }
  std::vector<std::string> requests_while_held() const {
    std::lock_guard<std::mutex> g(log_mu_);
    return while_held_log_;
  }
  // The requests passed through so far, "METHOD /path?query", in order of arrival.
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> g(log_mu_);
    return log_;
  }
  // How many of them start with `prefix` (e.g. "HEAD /bucket/store/packs/").
  int count(const std::string& prefix) const;
  // How many of them asked for a Range of at least `min_range` bytes.
  int count(const std::string& prefix, uint64_t min_range) const;
  // The bytes their Range headers asked for, in all (whole-object GETs count 0).
  uint64_t bytes_asked(const std::string& prefix) const;

 private:
  void serve();
  void handle(int client);
  void pass(int client, int up, int64_t cut_at);
  void log_request(const std::string& line, const std::string& range);

  int upstream_port_, listen_fd_ = -1, port_ = 0;
  std::atomic<int> failures_{0}, failed_{0}, status_{503};
  std::atomic<int> generation_{0};
  std::atomic<int> cuts_{0}, cut_done_{0}, delay_ms_{0};
  std::atomic<uint64_t> cut_bytes_{0};
  std::atomic<bool> cut_response_{false}, held_{false};
  bool rejects(const std::string& line, const std::string& range);
  bool holds_response(const std::string& line, const std::string& range);
  std::atomic<bool> response_held_{false};
  std::string response_prefix_;  // hold_response(), under log_mu_
  uint64_t response_min_range_ = 0;
  std::string held_request_;  // "METHOD /path FIRST-LAST" of the held one
  int while_held_ = 0;
  std::vector<std::string> while_held_log_;
  mutable std::mutex log_mu_;
  std::string reject_prefix_;  // fail_request(), under log_mu_
  int reject_skip_ = -1, reject_status_ = 0;
  uint64_t reject_min_range_ = 0;
  std::string hold_prefix_;  // hold_at(), under log_mu_
  std::vector<std::string> log_;
  std::vector<std::string> ranges_;  // each request's Range "FIRST-LAST", "" for none
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mdb::test
