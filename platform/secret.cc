#include "platform/secret.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/error.h"

namespace mdb::fs {

namespace {

std::string first_line(std::string s) {
  size_t end = s.find('\n');
  if (end != std::string::npos) s.resize(end);
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

std::string read_secret_file(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw Error("Cannot read the password file " + path + ": " + std::strerror(errno) + ".");
  return first_line(read_all(f.fd));
}

std::string run_secret_command(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "re");
  if (!p) throw Error("Cannot run the password command: " + std::string(std::strerror(errno)) + ".");
  std::string out = read_all(::fileno(p));
  int status = ::pclose(p);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error("The password command failed (" +
                (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status)) : std::string("killed")) +
                "); no password was read.");
  return first_line(out);
}

std::optional<std::string> prompt_secret(const std::string& prompt) {
  Fd tty{::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)};
  if (tty.fd < 0 || !::isatty(tty.fd)) return std::nullopt;
  termios old{};
  if (::tcgetattr(tty.fd, &old) != 0) return std::nullopt;
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  (void)!::write(tty.fd, prompt.data(), prompt.size());
  ::tcsetattr(tty.fd, TCSAFLUSH, &quiet);
  std::string line;
  char c;
  while (::read(tty.fd, &c, 1) == 1 && c != '\n') line += c;
  ::tcsetattr(tty.fd, TCSAFLUSH, &old);
  return first_line(line);
}

}  // namespace mdb::fs
