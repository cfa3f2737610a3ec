// The backup walk on worker threads (issue 16): directories are listed ahead on MDB_THREADS
// threads, yet a backup of the same tree holds the same entries, in the same order, with the same
// content ids, whether it walked with one thread or several; and an incremental backup on several
// threads finds every unchanged file in the file cache; a directory it cannot open is named by its
// full path, however it was listed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "platform/env.h"
#include "store/backup.h"
#include "store/store.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

const std::map<std::string, std::string> kUtc = {{"TZ", "UTC"}};

// A sample data dir (several hundred files) with deep, wide and empty directories and a symlink added.
void make_tree(const stdfs::path& data) {
  RunResult r = run(sample_binary(), {"--out", data.string(), "--seed", "11", "--task-runs", "4", "--units-per-run",
                                      "12", "--media-fraction", "0.3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  stdfs::path deep = data / "extra";
  for (int i = 0; i < 12; ++i) deep /= "d" + std::to_string(i);
  stdfs::create_directories(deep);
  write(deep / "leaf.txt", "deep");
  for (int i = 0; i < 150; ++i) write(data / "extra" / "wide" / ("f" + std::to_string(i)), std::to_string(i * i));
  stdfs::create_directories(data / "extra" / "empty");
  stdfs::create_symlink("wide/f1", data / "extra" / "link");
}

std::string listing(const stdfs::path& data, const stdfs::path& store, const std::string& threads) {
  std::map<std::string, std::string> env = kUtc;
  env["MDB_THREADS"] = threads;
  RunResult b = mdb(data, store, {"--json", "backup"}, env);
  EXPECT_EQ(b.exit_code, 0) << b.err;
  std::string name = nlohmann::json::parse(b.out).value("snapshot", "");
  RunResult ls = mdb(data, store, {"--json", "ls", name}, kUtc);
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  nlohmann::json j = nlohmann::json::parse(ls.out);
  return j["entries"].dump(1);
}

TEST(WalkThreads, OneOrManyThreadsGiveTheSameManifest) {
  DataAndStore d;
  make_tree(d.data);
  std::string one = listing(d.data, d.tmp / "store1", "1");
  std::string many = listing(d.data, d.tmp / "store3", "3");
  EXPECT_GT(one.size(), 10000u);
  EXPECT_NE(one.find("d11/leaf.txt"), std::string::npos);
  EXPECT_EQ(one, many);
}

TEST(WalkThreads, AnIncrementalOnManyThreadsReadsOnlyWhatChanged) {
  DataAndStore d;
  make_tree(d.data);
  // Older than the racy window (kRacyWindowNs), so the first backup caches every file it read.
  ::usleep(100'000);
  std::map<std::string, std::string> env = kUtc;
  env["MDB_THREADS"] = "4";
  ASSERT_EQ(mdb(d.data, d.store, {"backup"}, env).exit_code, 0);
  write(d.data / "extra" / "wide" / "f7", "changed");
  RunResult r = mdb(d.data, d.store, {"--json", "backup"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  // The changed file, and the databases (copied under a read transaction), are read; nothing else.
  EXPECT_LE(j["files_read"].get<int>(), 8) << r.out;
  EXPECT_GE(j["files_read"].get<int>(), 1) << r.out;
}

// Fails opening one directory as an unreadable one would (EACCES; the tests may run as root, whom
// permissions do not stop).
class RefusingDir : public fs::EnvWrapper {
 public:
  RefusingDir(fs::Env& target, std::string name) : EnvWrapper(target), name_(std::move(name)) {}
  int openat(int dirfd, const std::string& name, int flags, mode_t mode, const stdfs::path& path) override {
    if (name == name_ && (flags & O_DIRECTORY)) {
      errno = EACCES;
      return -1;
    }
    return EnvWrapper::openat(dirfd, name, flags, mode, path);
  }

 private:
  std::string name_;
};

// Listings made ahead name their directory by its own name only (store/walk.h); what the backup
// reports must still be the full path, with one thread or several, deep in a job's subtree or not.
TEST(WalkThreads, ADirectoryThatCannotBeOpenedIsNamedByItsFullPath) {
  for (const char* threads : {"1", "3"}) {
    for (const stdfs::path& rel : {stdfs::path("top"), stdfs::path("a") / "b" / "c" / "top"}) {
      SCOPED_TRACE(std::string(threads) + " threads, " + rel.string());
      TempDir dir;
      stdfs::path data = dir / "data";
      write(data / rel / "inside.txt", "x");
      write(data / "other" / "f.txt", "y");
      ThreadsForTest with(threads);
      RefusingDir refusing(fs::env(), "top");
      std::string message;
      {
        fs::UseEnv use(refusing);
        store::Store store(dir / "store", store::Store::Mode::Write, "test");
        store::BackupRequest req;
        req.root = data;
        req.name = "one";
        store::Reporter quiet;
        try {
          store::backup(store, req, quiet);
        } catch (const fs::IoError& e) {
          message = e.what();
        }
      }
      EXPECT_NE(message.find("cannot open directory " + (data / rel).string()), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace mdb::test
