#include "tests/support/tree_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>

#include "datadir/datadir.h"
#include "datadir/registry.h"

namespace mdb::test {

namespace {

int64_t mtime_of(const struct stat& st) { return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec; }

void walk(const stdfs::path& root, const stdfs::path& rel, bool with_dir_mtimes, std::map<std::string, Node>& out) {
  for (const auto& e : stdfs::directory_iterator(root / rel)) {
    stdfs::path r = rel / e.path().filename();
    if (r == ".mephisto-db") continue;
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) != 0) throw std::runtime_error("lstat " + e.path().string());
    Node n;
    n.mode = st.st_mode & 07777;
    n.mtime_ns = mtime_of(st);
    if (S_ISLNK(st.st_mode)) {
      n.kind = 'l';
      n.mode = 0;
      n.content = stdfs::read_symlink(e.path()).string();
    } else if (S_ISDIR(st.st_mode)) {
      n.kind = 'd';
      if (!with_dir_mtimes) n.mtime_ns = 0;
      walk(root, r, with_dir_mtimes, out);
    } else if (e.path().extension() == ".db") {
      n.content = sqlite_dump(e.path());
      n.mtime_ns = 0;  // a DB is restored logically equal, not byte-equal
    } else {
      n.content = read(e.path());
    }
    out[r.string()] = n;
  }
}

}  // namespace

std::map<std::string, Node> describe(const stdfs::path& root, bool with_dir_mtimes) {
  std::map<std::string, Node> out;
  walk(root, "", with_dir_mtimes, out);
  return out;
}

std::string diff(const std::map<std::string, Node>& a, const std::map<std::string, Node>& b) {
  std::ostringstream out;
  for (const auto& [k, n] : a) {
    auto it = b.find(k);
    if (it == b.end())
      out << "only in first: " << k << "\n";
    else if (!(it->second == n))
      out << "differs: " << k << " (kind " << n.kind << "/" << it->second.kind << ", mode " << std::oct << n.mode << "/"
          << it->second.mode << std::dec << ", mtime " << n.mtime_ns << "/" << it->second.mtime_ns << ", content "
          << n.content.size() << "/" << it->second.content.size() << " bytes)\n";
  }
  for (const auto& [k, n] : b)
    if (!a.count(k)) out << "only in second: " << k << "\n";
  return out.str();
}

void set_mtime(const stdfs::path& p, int64_t ns) {
  struct timespec t[2] = {{0, UTIME_OMIT},
                          {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)}};
  if (::utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW) != 0)
    throw std::runtime_error("utimensat " + p.string());
}

void sqlite_exec(const stdfs::path& db, const std::string& sql) {
  RunResult r = run("/usr/bin/sqlite3", {db.string(), sql});
  if (r.exit_code != 0) throw std::runtime_error("sqlite3 failed: " + r.err);
}

void make_data_dir(const stdfs::path& root) {
  stdfs::create_directories(root);
  mdb::create_database(root / "database.db", mdb::DbId::Mephisto);
  mdb::create_database(root / "mock" / "mock.db", mdb::DbId::Mock);
  sqlite_exec(root / "database.db",
              "INSERT INTO projects(project_id, project_name) VALUES (1000001, 'Proj''ect β');"
              "INSERT INTO requesters(requester_id, requester_name, provider_type) VALUES (1000002, 'req', 'mock');");
  stdfs::path run = root / "data" / "runs" / "Proj'ect β" / "1000003";
  write(run / "1000004" / "assign_data.json", "{\"a\": 1}");
  write(run / "1000004" / "1000005" / "agent_data.json", std::string(3000, 'x'));
  write(run / "1000004" / "1000005" / "upload – naïve's \"file\".bin", std::string("\0\1\2\3", 4));
  stdfs::create_directories(root / "data" / "empty dir");
  write(root / "tools" / "run.sh", "#!/bin/sh\necho hi\n");
  stdfs::permissions(root / "tools" / "run.sh", stdfs::perms(0755));
  write(root / "readonly.txt", "read only\n");
  stdfs::permissions(root / "readonly.txt", stdfs::perms(0444));
  stdfs::create_symlink("tools/run.sh", root / "link-to-run");
  stdfs::create_symlink("does/not/exist", root / "dangling");
  set_mtime(root / "readonly.txt", 1'234'567'890'123'456'789);
}

void copy_tree(const stdfs::path& from, const stdfs::path& to) {
  RunResult r = run("/bin/cp", {"-a", from.string(), to.string()});
  if (r.exit_code != 0) throw std::runtime_error("cp -a failed: " + r.err);
}

RunResult mdb(const stdfs::path& data, const stdfs::path& store, std::vector<std::string> args,
              const std::map<std::string, std::string>& env) {
  std::vector<std::string> all = {"--data-dir", data.string(), "--store", store.string(), "db"};
  all.insert(all.end(), args.begin(), args.end());
  return run_mephisto(all, "yes\n", env);
}

std::string backup_snapshot(const stdfs::path& data, const stdfs::path& store) {
  RunResult r = mdb(data, store, {"--json", "backup"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out).value("snapshot", "");
}

void flip_in_packs(const stdfs::path& store, const std::string& needle) {
  for (const auto& e : stdfs::directory_iterator(store / "packs")) {
    std::string bytes = read(e.path());
    size_t pos = bytes.find(needle);
    if (pos == std::string::npos) continue;
    bytes[pos + needle.size() / 2] ^= 0x20;
    stdfs::permissions(e.path(), stdfs::perms(0644));
    write(e.path(), bytes);
    return;
  }
  ADD_FAILURE() << "content not found in any pack of " << store;
}

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

void SchemaCheck::add(const RunResult& r) {
  write(dir_ / (std::to_string(outputs_.size()) + ".json"), r.out);
  outputs_.push_back(r.out);
}

nlohmann::json SchemaCheck::parse(const RunResult& r, int exit_code) {
  add(r);
  EXPECT_EQ(r.exit_code, exit_code) << r.out << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception&) {
    ADD_FAILURE() << "not JSON: " << r.out << r.err;
    return nlohmann::json::object();
  }
}

SchemaCheck::~SchemaCheck() {
  std::vector<std::string> args = {(stdfs::path(MDB_SOURCE_DIR) / "tools" / "check_json_schema").string(),
                                   (stdfs::path(MDB_SOURCE_DIR) / "docs" / "json-schema.json").string()};
  for (size_t i = 0; i < outputs_.size(); ++i) args.push_back((dir_ / (std::to_string(i) + ".json")).string());
  RunResult v = run("/usr/bin/python3", args);
  EXPECT_EQ(v.exit_code, 0) << "docs/json-schema.json rejects an object:\n" << v.out << v.err;
}

}  // namespace mdb::test
