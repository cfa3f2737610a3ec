#include "tests/support/testenv.h"

#include "formats/utf8.h"
#include "formats/zip.h"

#include <fcntl.h>
#include <poll.h>
#include <sqlite3.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace mdb::test {

stdfs::path mephisto_binary() { return MDB_BINARY; }
stdfs::path sample_binary() { return MDB_SAMPLE_BINARY; }
stdfs::path fixtures() { return stdfs::path(MDB_SOURCE_DIR) / "tests" / "fixtures" / "mephisto-1.5.2"; }

namespace {

// The child's stdout and stderr, read as they come.
class Output {
 public:
  Output(int fd_out, int fd_err) : fds_{pollfd{fd_out, POLLIN, 0}, pollfd{fd_err, POLLIN, 0}} {}
  // Reads until both pipes are closed, or until `stop()` holds (checked after each read).
  void drain(std::string& out, std::string& err, const std::function<bool()>& stop = {}) {
    char buf[65536];
    while (open_ > 0) {
      if (::poll(fds_.data(), fds_.size(), -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (size_t i = 0; i < fds_.size(); ++i) {
        if (fds_[i].fd < 0 || !(fds_[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::read(fds_[i].fd, buf, sizeof buf);
        if (n <= 0) {
          ::close(fds_[i].fd);
          fds_[i].fd = -1;
          --open_;
          continue;
        }
        (i == 0 ? out : err).append(buf, static_cast<size_t>(n));
      }
      if (stop && stop()) return;
    }
  }

 private:
  std::array<pollfd, 2> fds_;
  int open_ = 2;
};

// Waits until the child `pid` has a handler installed for `sig` (the SigCgt mask of
// /proc/PID/status) or has exited.
void wait_for_handler(pid_t pid, int sig) {
  for (;;) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    bool alive = false;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("State:", 0) == 0) alive = line.find("zombie") == std::string::npos;
      if (line.rfind("SigCgt:", 0) == 0 && (std::stoull(line.substr(7), nullptr, 16) >> (sig - 1)) & 1) return;
    }
    if (!alive) return;
    ::usleep(200);
  }
}

// `meanwhile` runs once stdout or stderr shows `until` (at once when `until` is empty) and gets
// the child's pid.
RunResult run_paused(const stdfs::path& binary, const std::vector<std::string>& args, const std::string& until,
                     const std::function<void(pid_t)>& meanwhile, const std::string& stdin_text,
                     const std::map<std::string, std::string>& env) {
  static TempDir home;  // an empty HOME: no stray ~/.mephisto/config.yml
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  vars["HOME"] = home.path().string();
  vars.erase("MEPHISTO_DATA_DIR");
  vars.erase("MEPHISTO_OUTPUTS_DIR");
  vars.erase("MEPHISTO_STORE");
  for (const auto& [k, v] : env) {
    if (v.empty()) vars.erase(k);
    else vars[k] = v;
  }
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{binary.string()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, binary.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) throw std::runtime_error("cannot run " + binary.string() + ": " + std::strerror(rc));
  // Small inputs only (prompts), so writing before draining cannot deadlock. A child that
  // exits without reading stdin must not kill the test with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  RunResult r;
  Output output(out[0], err[0]);
  if (meanwhile) {
    if (!until.empty())
      output.drain(r.out, r.err,
                   [&] { return r.out.find(until) != std::string::npos || r.err.find(until) != std::string::npos; });
    meanwhile(pid);
  }
  if (!stdin_text.empty()) {
    ssize_t ignored = ::write(in[1], stdin_text.data(), stdin_text.size());
    (void)ignored;
  }
  ::close(in[1]);
  output.drain(r.out, r.err);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.max_rss_kb = usage.ru_maxrss;
  return r;
}

}  // namespace

RunResult run(const stdfs::path& binary, const std::vector<std::string>& args, const std::string& stdin_text,
              const std::map<std::string, std::string>& env) {
  return run_paused(binary, args, "", {}, stdin_text, env);
}

RunResult run_mephisto_paused(const std::vector<std::string>& args, const std::string& until,
                              const std::function<void()>& meanwhile, const std::string& stdin_text,
                              const std::map<std::string, std::string>& env) {
  return run_paused(mephisto_binary(), args, until, [&](pid_t) { meanwhile(); }, stdin_text, env);
}

RunResult run_mephisto_signalled(const std::vector<std::string>& args, const std::string& until, int signal,
                                 const std::string& stdin_text, const std::map<std::string, std::string>& env) {
  auto send = [&](pid_t pid) {
    if (until.empty()) wait_for_handler(pid, signal);
    ::kill(pid, signal);
  };
  return run_paused(mephisto_binary(), args, until, send, stdin_text, env);
}

RunResult run_mephisto(const std::vector<std::string>& args, const std::string& stdin_text,
                       const std::map<std::string, std::string>& env) {
  return run(mephisto_binary(), args, stdin_text, env);
}

RunResult run_on_a_terminal(const std::vector<std::string>& args, bool stdout_too) {
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) throw std::runtime_error("openpty failed");
  std::vector<std::string> all = {mephisto_binary().string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (stdout_too)
    posix_spawn_file_actions_adddup2(&fa, slave, 1);
  else
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, slave, 2);
  posix_spawn_file_actions_addclose(&fa, master);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(slave);
  if (rc != 0) throw std::runtime_error("cannot run the binary");
  RunResult result;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) {
      result.out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO once the child has closed the terminal
    }
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return result;
}

ThreadsForTest::ThreadsForTest(const char* threads) { ::setenv("MDB_THREADS", threads, 1); }

ThreadsForTest::~ThreadsForTest() { ::unsetenv("MDB_THREADS"); }

TempDir::TempDir() {
  stdfs::path base = stdfs::path(MDB_BINARY_DIR) / "test-tmp";
  stdfs::create_directories(base);
  std::string templ = (base / "t-XXXXXX").string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!std::getenv("MDB_KEEP_TEST_DIRS")) stdfs::remove_all(path_, ec);
}

void unzip_to(const stdfs::path& zip, const stdfs::path& dir) {
  stdfs::create_directories(dir);
  RunResult r = run("/usr/bin/unzip", {"-q", "-o", zip.string(), "-d", dir.string()});
  if (r.exit_code != 0) throw std::runtime_error("unzip failed: " + r.err);
}

std::map<std::string, std::string> tree(const stdfs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = stdfs::recursive_directory_iterator(root); it != stdfs::recursive_directory_iterator(); ++it) {
    std::string rel = stdfs::relative(it->path(), root).string();
    if (it->is_symlink()) out[rel + "@"] = stdfs::read_symlink(it->path()).string();
    else if (it->is_directory()) out[rel + "/"] = "";
    else out[rel] = read(it->path());
  }
  return out;
}

std::vector<std::string> open_unnamed_files() {
  std::vector<std::string> found;
  for (const auto& fd : stdfs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    std::string target = stdfs::read_symlink(fd.path(), ec).string();
    if (!ec && target.ends_with(" (deleted)")) found.push_back(target);
  }
  return found;
}

std::string read(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const stdfs::path& p, const std::string& content) {
  stdfs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string sqlite_dump(const stdfs::path& db) {
  RunResult r = run("/usr/bin/sqlite3", {db.string(), ".dump"});
  if (r.exit_code != 0) throw std::runtime_error("sqlite3 .dump failed: " + r.err);
  return r.out;
}

SqliteLock::SqliteLock(const stdfs::path& db, const std::string& begin) {
  int ready[2], release[2];
  if (::pipe2(ready, O_CLOEXEC) || ::pipe2(release, O_CLOEXEC)) throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::close(ready[0]);
    ::close(release[1]);  // else the read below never sees the end of the pipe
    sqlite3* conn = nullptr;
    char ok = sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK &&
              sqlite3_exec(conn, begin.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    ssize_t ignored = ::write(ready[1], &ok, 1);
    char c;
    while (::read(release[0], &c, 1) > 0) {
    }
    (void)ignored;
    ::_exit(0);  // the kernel drops the lock
  }
  ::close(ready[1]);
  ::close(release[0]);
  release_ = release[1];
  char ok = 0;
  bool got = ::read(ready[0], &ok, 1) == 1;
  ::close(ready[0]);
  if (!got || !ok) {
    this->~SqliteLock();
    throw std::runtime_error("cannot lock " + db.string() + " with " + begin);
  }
}

SqliteLock::~SqliteLock() {
  if (release_ >= 0) ::close(release_);
  release_ = -1;
  if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

namespace {

void put16(std::string& s, uint32_t v) { s += char(v & 0xFF), s += char((v >> 8) & 0xFF); }
void put32(std::string& s, uint32_t v) { put16(s, v & 0xFFFF), put16(s, v >> 16); }

uint32_t crc32(std::string_view data) {
  uint32_t c = 0xFFFFFFFF;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320 & (0 - (c & 1)));
  }
  return ~c;
}

}  // namespace

std::string raw_zip(const std::vector<RawZipMember>& members) {
  std::string out, central;
  for (const RawZipMember& m : members) {
    uint32_t offset = static_cast<uint32_t>(out.size());
    uint32_t size = m.declared_size.value_or(static_cast<uint32_t>(m.data.size()));
    auto header = [&](std::string& s, bool local) {
      put32(s, local ? 0x04034b50 : 0x02014b50);
      if (!local) put16(s, 0x031E);  // made by: Unix, 3.0
      put16(s, 20), put16(s, utf8::valid(m.name) ? 0x0800 : 0), put16(s, 0);  // version, UTF-8 flag, stored
      put16(s, 0), put16(s, 0x21);                  // time, date
      put32(s, crc32(m.data)), put32(s, size), put32(s, size);
      put16(s, static_cast<uint32_t>(m.name.size())), put16(s, 0);
      if (!local) put16(s, 0), put16(s, 0), put16(s, 0), put32(s, m.unix_mode << 16), put32(s, offset);
      s += m.name;
    };
    header(out, true);
    out += m.data;
    header(central, false);
  }
  uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50), put16(out, 0), put16(out, 0);
  put16(out, static_cast<uint32_t>(members.size())), put16(out, static_cast<uint32_t>(members.size()));
  put32(out, static_cast<uint32_t>(central.size())), put32(out, cd_offset), put16(out, 0);
  return out;
}

std::map<std::string, std::string> logical_tree(const stdfs::path& root) {
  std::map<std::string, std::string> out;
  for (auto& [rel, content] : tree(root)) {
    if (rel.rfind(".mephisto-db/", 0) == 0) continue;
    bool db = rel.size() > 3 && rel.compare(rel.size() - 3, 3, ".db") == 0;
    out[rel] = db ? sqlite_dump(root / rel) : content;
  }
  return out;
}

std::string changed_paths(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b) {
  std::string out;
  for (const auto& [path, content] : a)
    if (auto it = b.find(path); it == b.end() || it->second != content) out += "  " + path + "\n";
  for (const auto& [path, content] : b)
    if (!a.count(path)) out += "  + " + path + "\n";
  return out;
}

}  // namespace mdb::test

namespace mdb::test {

namespace {

// The id of the mount at `path` (as /proc/self/mountinfo lists it).
uint64_t mount_id(const stdfs::path& path) {
  struct statx stx {};
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_MNT_ID, &stx) != 0) return 0;
  return stx.stx_mnt_id;
}

// Where the mount with id `id` is now (a command under test may have moved it), or empty.
stdfs::path mount_point_of(uint64_t id) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    uint64_t mid = 0, parent = 0;
    std::string devno, root, point;
    if (f >> mid >> parent >> devno >> root >> point && mid == id) {
      std::string out;  // undo the octal escapes of spaces and the like
      for (size_t i = 0; i < point.size(); ++i) {
        if (point[i] == '\\' && i + 3 < point.size()) {
          out += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
          i += 3;
        } else {
          out += point[i];
        }
      }
      return out;
    }
  }
  return {};
}

}  // namespace

bool is_mount_point(const stdfs::path& p) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.find(" " + p.string() + " ") != std::string::npos) return true;
  return false;
}

std::unique_ptr<Mount> Mount::bind(const stdfs::path& from, const stdfs::path& to) {
  if (::mount(from.c_str(), to.c_str(), nullptr, MS_BIND, nullptr) != 0)
    throw std::runtime_error("mount --bind " + from.string() + " " + to.string() + " failed: " +
                             std::strerror(errno) + " (these tests run as root, as CI does)");
  return std::unique_ptr<Mount>(new Mount(to, mount_id(to)));
}

std::unique_ptr<Mount> Mount::tmpfs(const stdfs::path& dir) {
  stdfs::create_directories(dir);
  if (::mount("none", dir.c_str(), "tmpfs", 0, "size=256m") != 0)
    throw std::runtime_error("mount -t tmpfs on " + dir.string() + " failed: " + std::strerror(errno) +
                             " (these tests run as root, as CI does)");
  return std::unique_ptr<Mount>(new Mount(dir, mount_id(dir)));
}

Mount::~Mount() {
  stdfs::path now = mount_point_of(id_);
  ::umount2((now.empty() ? path_ : now).c_str(), MNT_DETACH);
}

}  // namespace mdb::test
