// The backup walk on worker threads (issue 16): directories are listed ahead on MDB_THREADS
// threads, yet a backup of the same tree holds the same entries, in the same order, with the same
// content ids, whether it walked with one thread or several; and an incremental backup on several
// threads finds every unchanged file in the file cache; a directory it cannot open is named by its
// full path, however it was listed; and the listers hand the walk its directories in its order,
// none it leaves out, with any number of them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "platform/env.h"
#include "store/backup.h"
#include "store/store.h"
#include "store/walk.h"
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

// The walk, as the backup makes it, over the Lister's listings: every path in walk order.
void walk_with(store::Lister& lister, const store::Listing& l, const std::string& rel_dir,
               const std::function<bool(const std::string&)>& skipped, std::vector<std::string>& out) {
  for (const store::DirItem& it : l.items) {
    std::string rel = rel_dir.empty() ? it.name : rel_dir + "/" + it.name;
    if (skipped(rel)) continue;
    out.push_back(rel);
    if (!store::descends(it)) continue;
    store::Listing sub = lister.take(l, it.name, rel, [] { return stdfs::path("/x"); });
    walk_with(lister, sub, rel, skipped, out);
    lister.recycle(std::move(sub));
  }
}

// Listers taking directories in any order and any number still hand the walk each directory it
// goes into, in its order, and none it leaves out (a skipped one, with its subtree, would make
// take() meet a path it does not expect and throw); whatever the thread count, the walk sees
// the same paths. A tree with more directories than may wait at once, wide and deep.
TEST(WalkThreads, ListersHandTheWalkItsDirectoriesInOrder) {
  TempDir dir;
  stdfs::path root = dir / "t";
  for (int a = 0; a < 40; ++a) {
    stdfs::path d = root / ("a" + std::to_string(a));
    for (int b = 0; b < a % 7; ++b) write(d / ("b" + std::to_string(b)) / "f", "x");
    if (a % 5 == 0) stdfs::create_directories(d / "empty");
    stdfs::path deep = d;
    for (int k = 0; k < a % 4 * 3; ++k) deep /= "d";
    write(deep / "leaf", "y");
  }
  stdfs::create_directories(root / "skip" / "inner");
  auto skipped = [](const std::string& rel) { return rel == "skip" || rel == "a3/b1" || rel == "a12/d/d"; };
  std::vector<std::string> serial;
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    for (int round = 0; round < (threads == 1 ? 1 : 20); ++round) {
      SCOPED_TRACE(std::to_string(threads) + " threads, round " + std::to_string(round));
      store::Lister lister(threads, skipped);
      store::Listing top = store::list_dir(fs::File::open_dir(root));
      lister.start(top);
      std::vector<std::string> seen;
      walk_with(lister, top, "", skipped, seen);
      if (threads == 1) {
        serial = seen;
        ASSERT_GT(serial.size(), 250u);
        EXPECT_EQ(std::count(serial.begin(), serial.end(), "a3/b1"), 0);
        EXPECT_EQ(std::count(serial.begin(), serial.end(), "a12/d/d/d"), 0);
      } else {
        ASSERT_EQ(seen, serial);
      }
    }
  }
}

}  // namespace
}  // namespace mdb::test
