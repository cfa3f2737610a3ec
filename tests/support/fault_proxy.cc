#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

namespace mdb::test {

namespace {

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
  // Both directions until either side closes, the proxy stops or fail_next() is called.
  int generation = generation_;
  pollfd fds[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
  char buf[65536];
  while (!stop_ && generation == generation_) {
    if (::poll(fds, 2, 50) <= 0 || generation != generation_) continue;
    bool done = false;
    for (int i = 0; i < 2 && !done; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = ::recv(fds[i].fd, buf, sizeof buf, 0);
      done = r <= 0 || !send_all(fds[1 - i].fd, buf, static_cast<size_t>(r));
    }
    if (done) break;
  }
  ::close(up);
  ::close(client);
}

}  // namespace mdb::test
