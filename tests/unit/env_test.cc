// platform/env + fault_env: the Env swapped in-process. A FaultEnv installed with UseEnv fails
// the n-th write of the file layer (and of SQLite, through the hook VFS), traces every write in
// order, counts them, and is gone again when the guard ends.
#include "platform/env.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "platform/fault_env.h"
#include "platform/sqlite.h"
#include "tests/support/testenv.h"

namespace mdb {
namespace {

namespace stdfs = std::filesystem;
namespace t = mdb::test;

fs::FaultSpec spec(const std::string& text) { return fs::FaultSpec::parse(text); }

// Runs fs::write_file_atomic(target, "new") under `fault`; the error number it failed with (0: none).
int atomic_write_under(const std::string& fault, const stdfs::path& target, const stdfs::path& trace = {}) {
  fs::FaultEnv faults(fs::posix_env(), spec(fault), {}, trace.string());
  fs::UseEnv use(faults);
  try {
    fs::write_file_atomic(target, "new");
  } catch (const fs::IoError& e) {
    return e.err();
  }
  return 0;
}

std::vector<std::string> names_in(const stdfs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : stdfs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

TEST(Env, WriteFileAtomicFailsAtTheNthPointAndLeavesTheOldFile) {
  // create, write, fsync the temp file, then rename it over the target: a failure at any of
  // them leaves the old content and no temp file.
  for (int n = 1; n <= 4; ++n) {
    SCOPED_TRACE("enospc@" + std::to_string(n));
    t::TempDir dir;
    t::write(dir / "f", "old");
    EXPECT_EQ(atomic_write_under("enospc@" + std::to_string(n), dir / "f"), ENOSPC);
    EXPECT_EQ(t::read(dir / "f"), "old");
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"f"});
  }
  // The 5th point is the directory's fsync, after the rename: the new content is in place
  // but not known to be durable, and the caller hears of it.
  t::TempDir dir;
  t::write(dir / "f", "old");
  EXPECT_EQ(atomic_write_under("eio@5", dir / "f"), EIO);
  EXPECT_EQ(t::read(dir / "f"), "new");
  EXPECT_EQ(atomic_write_under("eio@6", dir / "f"), 0);
}

TEST(Env, TheTraceRecordsEachWriteInOrder) {
  t::TempDir dir;
  t::write(dir / "f", "old");
  EXPECT_EQ(atomic_write_under("", dir / "f", dir / "trace"), 0);
  std::string tmp = (dir / ("f.tmp-" + std::to_string(::getpid()))).string();
  EXPECT_EQ(t::read(dir / "trace"), "create\t" + tmp + "\nwrite\t" + tmp + "\nfsync\t" + tmp + "\nrename\t" + tmp +
                                        "\nfsync\t" + dir.path().string() + "\n");
  EXPECT_EQ(t::read(dir / "f"), "new");
}

TEST(Env, UseEnvSwapsTheCurrentEnvAndRestoresThePreviousOne) {
  EXPECT_EQ(&fs::env(), &fs::posix_env());
  fs::FaultEnv outer(fs::posix_env(), {});
  {
    fs::UseEnv use_outer(outer);
    EXPECT_EQ(&fs::env(), &outer);
    fs::FaultEnv inner(outer, {});
    {
      fs::UseEnv use_inner(inner);
      EXPECT_EQ(&fs::env(), &inner);
      t::TempDir dir;
      fs::mkdirs(dir / "a" / "b");  // two mkdirs, seen by both: the inner one forwards to the outer
      EXPECT_EQ(inner.points(), 2u);
      EXPECT_EQ(outer.points(), 2u);
    }
    EXPECT_EQ(&fs::env(), &outer);
  }
  EXPECT_EQ(&fs::env(), &fs::posix_env());
  t::TempDir dir;
  fs::mkdirs(dir / "c");  // no FaultEnv in force: not counted
  EXPECT_EQ(outer.points(), 2u);
}

TEST(Env, TheCountFileHoldsThePointsPassedWhenTheFaultEnvEnds) {
  t::TempDir dir;
  {
    fs::FaultEnv faults(fs::posix_env(), {}, (dir / "count").string());
    fs::UseEnv use(faults);
    fs::write_file_atomic(dir / "f", "x");
    fs::remove_file(dir / "f");
  }
  EXPECT_EQ(t::read(dir / "count"), "6\n");
}

TEST(Env, AShortWriteWritesHalfThenFails) {
  t::TempDir dir;
  fs::FaultEnv faults(fs::posix_env(), spec("short@2"));
  fs::UseEnv use(faults);
  fs::File f = fs::File::create(dir / "f");  // point 1
  try {
    f.write_all("abcdef");  // point 2
    FAIL() << "the short write did not fail";
  } catch (const fs::IoError& e) {
    EXPECT_EQ(e.err(), EIO);
  }
  f.close();
  EXPECT_EQ(t::read(dir / "f"), "abc");
}

TEST(Env, RepeatedFaultsFireAtEveryLaterPoint) {
  t::TempDir dir;
  fs::FaultEnv faults(fs::posix_env(), spec("eio@2+"));
  fs::UseEnv use(faults);
  fs::make_dir(dir / "a", 0755);  // point 1
  for (const char* name : {"b", "c"}) {
    try {
      fs::make_dir(dir / name, 0755);
      FAIL() << name << " was made";
    } catch (const fs::IoError& e) {
      EXPECT_EQ(e.err(), EIO);
    }
  }
  EXPECT_TRUE(fs::exists(dir / "a"));
  EXPECT_FALSE(fs::exists(dir / "b"));
}

TEST(Env, SqliteWritesPassThroughTheCurrentEnv) {
  t::TempDir dir;
  stdfs::path db_path = dir / "x.db";
  {
    fs::FaultEnv faults(fs::posix_env(), {}, {}, (dir / "trace").string());
    fs::UseEnv use(faults);
    sql::Db db = sql::Db::open(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    db.exec("CREATE TABLE t (a INTEGER)");
    EXPECT_GT(faults.points(), 0u);
  }
  std::string trace = t::read(dir / "trace");
  EXPECT_NE(trace.find("lock\t" + db_path.string() + "\n"), std::string::npos) << trace;
  EXPECT_NE(trace.find("write\t" + db_path.string() + "\n"), std::string::npos) << trace;
  EXPECT_NE(trace.find("unlock\t" + db_path.string() + "\n"), std::string::npos) << trace;

  // A disk full at SQLite's first write fails the statement; the table is not there.
  fs::FaultEnv full(fs::posix_env(), spec("enospc@1"));
  std::optional<fs::UseEnv> use(std::in_place, full);
  sql::Db db = sql::Db::open(db_path);
  EXPECT_THROW(db.exec("CREATE TABLE u (a INTEGER)"), Error);
  use.reset();
  EXPECT_EQ(db.query_value("SELECT count(*) FROM sqlite_master WHERE name = 'u'").i, 0);
}

// A filesystem without O_TMPFILE (NFS, some FUSE ones) as an Env.
class NoTmpfileEnv : public fs::EnvWrapper {
 public:
  using EnvWrapper::EnvWrapper;
  int open(const stdfs::path& path, int flags, mode_t mode) override {
    if ((flags & O_TMPFILE) == O_TMPFILE) {
      errno = EOPNOTSUPP;
      return -1;
    }
    return EnvWrapper::open(path, flags, mode);
  }
};

// An unnamed file is in the directory asked for, holds what is written, and leaves no name behind,
// with O_TMPFILE and without it.
TEST(Env, AnUnnamedFileIsInItsDirectoryAndLeavesNoName) {
  t::TempDir dir;
  NoTmpfileEnv no_tmpfile(fs::posix_env());
  for (fs::Env* e : {&fs::posix_env(), static_cast<fs::Env*>(&no_tmpfile)}) {
    fs::UseEnv use(*e);
    fs::File f = fs::File::create_unnamed(dir.path(), ".x.", ".partial");
    f.pwrite_all("scratch", 0);
    char buf[16] = {};
    EXPECT_EQ(f.pread(buf, sizeof buf, 0), 7u);
    EXPECT_EQ(std::string(buf), "scratch");
    std::vector<std::string> unnamed = t::open_unnamed_files();
    ASSERT_EQ(unnamed.size(), 1u);
    EXPECT_TRUE(unnamed[0].starts_with((dir.path() / "").string())) << unnamed[0];
    EXPECT_TRUE(stdfs::is_empty(dir.path()));
  }
}

// Sets an environment variable while it lives, then restores what was there.
class SetVar {
 public:
  SetVar(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  SetVar(const SetVar&) = delete;
  SetVar& operator=(const SetVar&) = delete;
  ~SetVar() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// SQLite's own temporary files (here a temporary database that outgrows its cache) go into the
// cache's tmp/, made when first needed, and never into $TMPDIR.
TEST(Env, SqliteTemporaryFilesGoIntoTheCache) {
  t::TempDir dir;
  SetVar cache("XDG_CACHE_HOME", (dir / "cache").string());
  SetVar tmp("TMPDIR", (dir / "tmp").string());
  stdfs::create_directories(dir / "tmp");
  sql::Db db = sql::Db::open("", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  db.exec("PRAGMA cache_size = -64; CREATE TABLE t (a BLOB)");
  EXPECT_FALSE(stdfs::exists(dir / "cache")) << "made before it was needed";
  db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
          "INSERT INTO t SELECT randomblob(512) FROM n");
  std::vector<std::string> unnamed = t::open_unnamed_files();
  ASSERT_EQ(unnamed.size(), 1u) << "the temporary database did not spill to a file";
  EXPECT_TRUE(unnamed[0].starts_with((dir / "cache/mephisto-db/tmp/").string())) << unnamed[0];
  EXPECT_TRUE(stdfs::is_empty(dir / "tmp"));
  EXPECT_TRUE(stdfs::is_empty(dir / "cache/mephisto-db/tmp"));
}

}  // namespace
}  // namespace mdb
