// Error kinds through the real binary (docs/EXIT_CODES.md "Error kinds"): --json names the kind,
// the exit code follows from it, the command adds what became of the data as the last
// sentence, and advice that names a CLI command is worded by the command, not the store.
#include <gtest/gtest.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using Dirs = DataAndStore;

struct Failed {
  int exit_code;
  std::string kind, error, err;
};

// `args` with --json: the exit code, the error object's kind and message, and stderr.
Failed json_failure(const Dirs& d, std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
  args.push_back("--json");
  RunResult r = mdb(d.data, d.store, args, env);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.out << r.err;
  if (!j.is_object()) return {r.exit_code, "", "", r.err};
  EXPECT_EQ(j.value("ok", true), false) << r.out;
  return {r.exit_code, j.value("kind", ""), j.value("error", ""), r.err};
}

bool ends_with(const std::string& s, const std::string& end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

TEST(ErrorKinds, UnknownSnapshotIsNotFoundAndNothingWasChanged) {
  Dirs d;
  make_data_dir(d.data);
  ASSERT_EQ(mdb(d.data, d.store, {"backup"}).exit_code, 0);
  Failed f = json_failure(d, {"restore", "-f", "no_such_snapshot"});
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_EQ(f.kind, "not_found");
  EXPECT_TRUE(ends_with(f.error, "`mephisto db snapshots` lists the snapshots. Nothing was changed.")) << f.error;
  EXPECT_EQ(f.err, "Error: " + f.error + "\n");
}

TEST(ErrorKinds, MissingIndexIsDamagedWithTheCommandsAdvice) {
  Dirs d;
  make_data_dir(d.data);
  ASSERT_EQ(mdb(d.data, d.store, {"backup"}).exit_code, 0);
  stdfs::remove_all(d.store / "index");
  Failed f = json_failure(d, {"snapshots"});
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_EQ(f.kind, "damaged");
  EXPECT_EQ(f.error, "The index of the store " + d.store.string() + " is missing (no " +
                         (d.store / "index" / "data.mdb").string() + "). Rebuild it from the packs with `mephisto db verify --repair-index`. "
                         "Nothing was changed.");
}

// A store whose config was deleted still holds its packs and index: every command says the
// config is missing (kind damaged), none takes it for no store, and backup does not make a new
// store over the old packs.
TEST(ErrorKinds, MissingConfigOfAStoreIsDamagedNamingTheConfig) {
  Dirs d;
  make_data_dir(d.data);
  std::string snap = backup_snapshot(d.data, d.store);
  stdfs::remove(d.store / "config");
  std::string said = "The store config " + (d.store / "config").string() + " is missing, but " + d.store.string() +
                     " holds a store's packs or index: the store is damaged.";
  for (std::vector<std::string> args : {std::vector<std::string>{"verify"}, {"snapshots"}, {"restore", "-f", snap},
                                        {"backup"}, {"verify", "--repair-index"}}) {
    Failed f = json_failure(d, args);
    EXPECT_EQ(f.exit_code, 1) << args[0];
    EXPECT_EQ(f.kind, "damaged") << args[0];
    EXPECT_EQ(f.error.rfind(said, 0), 0u) << args[0] << ": " << f.error;
  }
  EXPECT_FALSE(stdfs::exists(d.store / "config"));
}

TEST(ErrorKinds, NoStoreYetIsNotFoundWithTheCommandsAdvice) {
  Dirs d;
  make_data_dir(d.data);
  Failed f = json_failure(d, {"verify"});
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_EQ(f.kind, "not_found");
  EXPECT_EQ(f.error, "There is no store at " + d.store.string() +
                         " yet: no backup has been made there (`mephisto db backup` creates it), or --store / "
                         "MEPHISTO_STORE points elsewhere. Nothing was changed.");
}

TEST(ErrorKinds, BadOptionValueIsUsageWithoutAnOutcome) {
  Dirs d;
  make_data_dir(d.data);
  Failed f = json_failure(d, {"prune", "--keep-within", "soon"});
  EXPECT_EQ(f.exit_code, 2);
  EXPECT_EQ(f.kind, "usage");
  EXPECT_EQ(f.error, "--keep-within soon: give a duration such as 30d, 12h, 2w, 6m, 1y or 1d12h.");
}

TEST(ErrorKinds, HeldStoreLockIsBusy) {
  Dirs d;
  make_data_dir(d.data);
  ASSERT_EQ(mdb(d.data, d.store, {"backup"}).exit_code, 0);
  int fd = ::open((d.store / "lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  Failed f = json_failure(d, {"backup"});
  ::close(fd);
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_EQ(f.kind, "busy");
  EXPECT_TRUE(ends_with(f.error, "Wait for it to finish (or stop it) and try again. Nothing was changed.")) << f.error;
}

TEST(ErrorKinds, FullDiskIsIo) {
  Dirs d;
  make_data_dir(d.data);
  Failed f = json_failure(d, {"backup"}, {{"MDB_FAULT", "enospc@1+"}});
  EXPECT_EQ(f.exit_code, 1);
  EXPECT_EQ(f.kind, "io");
  EXPECT_NE(f.error.find("No space left on device"), std::string::npos) << f.error;
  EXPECT_TRUE(ends_with(f.error, "Nothing was changed.")) << f.error;
}

}  // namespace
}  // namespace mdb::test
