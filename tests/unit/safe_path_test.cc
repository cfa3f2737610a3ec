// The one check of names that become paths (docs/PATHS.md): each refused form, and names that
// must stay allowed.
#include <gtest/gtest.h>

#include "datadir/datadir.h"
#include "base/error.h"
#include "formats/safe_path.h"

namespace mdb {
namespace {

using namespace std::string_literals;

TEST(SafePath, AComponentIsRefusedForEachUnsafeForm) {
  EXPECT_EQ(path_component_problem(""), "is empty");
  EXPECT_EQ(path_component_problem("."), "is '.'");
  EXPECT_EQ(path_component_problem(".."), "is '..'");
  EXPECT_EQ(path_component_problem("a/b"), "holds a '/'");
  EXPECT_EQ(path_component_problem("/etc"), "holds a '/'");
  EXPECT_EQ(path_component_problem("../../../somewhere/VICTIM"), "holds a '/'");
  EXPECT_EQ(path_component_problem("a/"), "holds a '/'");
  EXPECT_EQ(path_component_problem("a\0b"s), "holds a NUL byte");
}

TEST(SafePath, AComponentMayHoldAnyOtherByte) {
  for (const char* ok : {"project_alpha", "Проект_β", "it's a test", "...", ".hidden", "a..b", "a\\b", "NO_PROJECT",
                         "x y\tz", "-rf"})
    EXPECT_EQ(path_component_problem(ok), "") << ok;
}

TEST(SafePath, ARelativePathIsRefusedForEachUnsafeForm) {
  EXPECT_EQ(relative_path_problem(""), "is empty");
  EXPECT_EQ(relative_path_problem("/etc/passwd"), "is an absolute path");
  EXPECT_EQ(relative_path_problem("/"), "is an absolute path");
  EXPECT_EQ(relative_path_problem("a//b"), "has a path component that is empty");
  EXPECT_EQ(relative_path_problem("a/"), "has a path component that is empty");
  EXPECT_EQ(relative_path_problem(".."), "has a path component that is '..'");
  EXPECT_EQ(relative_path_problem("a/../b"), "has a path component that is '..'");
  EXPECT_EQ(relative_path_problem("a/.."), "has a path component that is '..'");
  EXPECT_EQ(relative_path_problem("./a"), "has a path component that is '.'");
  EXPECT_EQ(relative_path_problem("a\0/b"s), "has a path component that holds a NUL byte");
}

TEST(SafePath, ARelativePathOfGoodComponentsPasses) {
  for (const char* ok : {"a", "a/b/c", "runs/Проект_β/1/assign_data.json", "data/runs/...x/1"})
    EXPECT_EQ(relative_path_problem(ok), "") << ok;
}

TEST(SafePath, AProjectNameMustBeOneDirectory) {
  EXPECT_EQ(mdb::project_dir_problem(Value::text("project_alpha")), "");
  EXPECT_EQ(mdb::project_dir_problem(Value::integer(42)), "");  // dynamic typing: "42"
  EXPECT_EQ(mdb::project_dir_problem(Value::null()), "is NULL");
  EXPECT_EQ(mdb::project_dir_problem(Value::text("a/b")), "holds a '/'");
  EXPECT_EQ(mdb::project_dir_problem(Value::text("..")), "is '..'");
  EXPECT_EQ(mdb::project_dir_problem(Value::text("")), "is empty");
}

TEST(SafePath, TheRunDirOfAProjectStaysUnderDataRuns) {
  EXPECT_EQ(mdb::run_dir_path("project_alpha", 5).string(), "data/runs/project_alpha/5");
  EXPECT_EQ(mdb::run_dir_path(std::nullopt, 7).string(), "data/runs/NO_PROJECT/7");
  for (const char* bad : {"../../../somewhere/VICTIM", "/abs", "a/b", "..", ".", ""}) {
    try {
      mdb::run_dir_path(bad, 1);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("\"" + std::string(bad) + "\""), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace mdb
