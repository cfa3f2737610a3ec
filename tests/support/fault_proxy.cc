#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace mdb::test {

namespace {

uint64_t range_length(const std::string& range) {  // of "FIRST-LAST"; 0 for "" (a whole object)
  size_t dash = range.find('-');
  if (dash == std::string::npos) return 0;
  return std::stoull(range.substr(dash + 1)) + 1 - std::stoull(range);
}

bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads one request (headers, then Content-Length bytes of body).
void read_request(int fd) {
  std::string got;
  char buf[65536];
  size_t header_end = std::string::npos;
  while (header_end == std::string::npos) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) return;
    got.append(buf, static_cast<size_t>(r));
    header_end = got.find("\r\n\r\n");
  }
  size_t length = 0;
  for (const char* name : {"\r\nContent-Length:", "\r\ncontent-length:"}) {
    size_t at = got.find(name);
    if (at != std::string::npos && at < header_end) length = std::stoul(got.substr(at + std::string(name).size()));
  }
  size_t have = got.size() - header_end - 4;
  while (have < length) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) return;
    have += static_cast<size_t>(r);
  }
}

// Finds the requests in the bytes a client sends: headers up to a blank line, then
// Content-Length bytes of body (what the S3 client sends; it never uses chunked bodies).
class RequestLog {
 public:
  // `on_request` gets the request line and its Range header's "FIRST-LAST" ("": none).
  explicit RequestLog(std::function<void(const std::string&, const std::string&)> on_request)
      : on_request_(std::move(on_request)) {}
  void feed(std::string_view bytes) {
    while (!bytes.empty()) {
      if (body_left_ > 0) {
        size_t n = std::min<uint64_t>(body_left_, bytes.size());
        body_left_ -= n;
        bytes.remove_prefix(n);
        continue;
      }
      head_.append(bytes);
      bytes = {};
      size_t end = head_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      std::string rest = head_.substr(end + 4);
      std::string line = head_.substr(0, head_.find("\r\n"));
      on_request_(line.substr(0, line.rfind(' ')), range_of(head_.substr(0, end + 2)));  // without " HTTP/1.1"
      body_left_ = content_length(head_.substr(0, end + 2));
      head_.clear();
      feed(rest);
      return;
    }
  }

 private:
  static uint64_t content_length(const std::string& head) {
    for (const char* name : {"\r\nContent-Length:", "\r\ncontent-length:"}) {
      size_t at = head.find(name);
      if (at != std::string::npos) return std::stoull(head.substr(at + std::string(name).size()));
    }
    return 0;
  }
  static std::string range_of(const std::string& head) {  // "FIRST-LAST" of "Range: bytes=FIRST-LAST"
    for (const char* name : {"\r\nRange: bytes=", "\r\nrange: bytes="}) {
      size_t at = head.find(name);
      if (at == std::string::npos) continue;
      at += std::string(name).size();
      return head.substr(at, head.find("\r\n", at) - at);
    }
    return "";
  }
  std::function<void(const std::string&, const std::string&)> on_request_;
  std::string head_;
  uint64_t body_left_ = 0;
};

}  // namespace

FaultProxy::FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listen_fd_, 64) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("the fault proxy could not listen");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void FaultProxy::serve() {
  std::vector<std::thread> workers;
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) continue;
    workers.emplace_back([this, client] { handle(client); });
  }
  for (std::thread& w : workers) w.join();
}

void FaultProxy::handle(int client) {
  if (failures_.fetch_sub(1) > 0) {
    read_request(client);
    std::string reply = "HTTP/1.1 " + std::to_string(status_.load()) +
                        " Injected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    send_all(client, reply.data(), reply.size());
    ++failed_;
    ::close(client);
    return;
  }
  int up = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
  if (up < 0 || ::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (up >= 0) ::close(up);
    ::close(client);
    return;
  }
  int64_t cut_at = cuts_.fetch_sub(1) > 0 ? static_cast<int64_t>(cut_bytes_.load()) : -1;
  pass(client, up, cut_at);
  ::close(up);
  ::close(client);
}

// Both directions until either side closes, the proxy stops or fail_next()/cut_next() is called;
// with `cut_at` >= 0, until that many bytes went the chosen way.
void FaultProxy::pass(int client, int up, int64_t cut_at) {
  int generation = generation_;
  bool cut_response = cut_response_;
  uint64_t passed[2] = {0, 0};  // client -> server, server -> client
  bool reject = false, mine_held = false;  // mine_held: this connection's response is held
  RequestLog requests([&](const std::string& line, const std::string& range) {
    reject = reject || rejects(line, range);
    mine_held = mine_held || holds_response(line, range);
  });
  pollfd fds[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
  char buf[65536];
  while (!stop_ && generation == generation_) {
    if (held_ || (mine_held && response_held_)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (::poll(fds, 2, 50) <= 0 || generation != generation_) continue;
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      size_t room = sizeof buf;
      int way = cut_response ? 1 : 0;
      if (cut_at >= 0 && i == way) room = std::min<uint64_t>(room, static_cast<uint64_t>(cut_at) - passed[i]);
      ssize_t r = room == 0 ? 0 : ::recv(fds[i].fd, buf, room, 0);
      if (r <= 0) {
        if (room == 0) ++cut_done_;
        return;
      }
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
      if (i == 0) requests.feed(std::string_view(buf, static_cast<size_t>(r)));
      if (reject) {  // the request's head is not passed on: the server never sees it
        std::string reply = "HTTP/1.1 " + std::to_string(reject_status_) +
                            " Injected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send_all(client, reply.data(), reply.size());
        ++failed_;
        return;
      }
      if (!send_all(fds[1 - i].fd, buf, static_cast<size_t>(r))) return;
      passed[i] += static_cast<uint64_t>(r);
      if (cut_at >= 0 && i == way && passed[i] >= static_cast<uint64_t>(cut_at)) {
        ++cut_done_;
        return;
      }
    }
  }
}

void FaultProxy::log_request(const std::string& line, const std::string& range) {
  std::lock_guard<std::mutex> g(log_mu_);
  log_.push_back(line);
  ranges_.push_back(range);
}

// Logs the request, holds the proxy when hold_at() chose it, and says whether fail_request()
// chose it.
bool FaultProxy::rejects(const std::string& line, const std::string& range) {
  log_request(line, range);
  std::lock_guard<std::mutex> g(log_mu_);
  if (!hold_prefix_.empty() && line.rfind(hold_prefix_, 0) == 0) {
    held_ = true;
    hold_prefix_.clear();
  }
  if (reject_skip_ < 0 || line.rfind(reject_prefix_, 0) != 0 || range_length(range) < reject_min_range_) return false;
  return reject_skip_-- == 0;
}

// Whether the request `line` with Range `range` is the one whose response is held, or a retry of
// it (the same object and range: also held, so a retry after a stall does not count as another).
bool FaultProxy::holds_response(const std::string& line, const std::string& range) {
  std::lock_guard<std::mutex> g(log_mu_);
  if (response_prefix_.empty() || line.rfind(response_prefix_, 0) != 0) return false;
  if (response_held_) {
    if (line + " " + range == held_request_) return true;
    ++while_held_;
    while_held_log_.push_back(line);
    return false;
  }
  if (range.empty() || range_length(range) < response_min_range_) return false;
  held_request_ = line + " " + range;
  response_held_ = true;
  return true;
}

int FaultProxy::count(const std::string& prefix, uint64_t min_range) const {
  std::lock_guard<std::mutex> g(log_mu_);
  int n = 0;
  for (size_t i = 0; i < log_.size(); ++i)
    n += log_[i].rfind(prefix, 0) == 0 && range_length(ranges_[i]) >= min_range;
  return n;
}

uint64_t FaultProxy::bytes_asked(const std::string& prefix) const {
  std::lock_guard<std::mutex> g(log_mu_);
  uint64_t n = 0;
  for (size_t i = 0; i < log_.size(); ++i)
    if (log_[i].rfind(prefix, 0) == 0) n += range_length(ranges_[i]);
  return n;
}

int FaultProxy::count(const std::string& prefix) const {
  int n = 0;
  for (const std::string& r : requests()) n += r.rfind(prefix, 0) == 0;
  return n;
}

}  // namespace mdb::test
