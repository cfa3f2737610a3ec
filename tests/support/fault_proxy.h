#pragma once
// A TCP proxy in front of the real test S3 server that fails chosen requests: the next
// `fail_next(n)` connections get their request read and answered with HTTP `status` (then
// closed), later ones are passed through byte for byte. The server and its signatures stay
// real; only the network between is made to misbehave.
#include <atomic>
#include <string>
#include <thread>

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

 private:
  void serve();
  void handle(int client);

  int upstream_port_, listen_fd_ = -1, port_ = 0;
  std::atomic<int> failures_{0}, failed_{0}, status_{503};
  std::atomic<int> generation_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mdb::test
