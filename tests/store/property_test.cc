// Properties through the real binary (quality.md): backup then restore reproduces a data
// dir exactly (files byte for byte with mode and mtime, symlinks, empty dirs, Unicode and
// apostrophe names, databases logically equal), and after backup, change, backup, restoring
// either snapshot gives exactly it.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

// Runs a property with few cases: each case runs the binary several times. The seed
// follows RC_PARAMS, so a failure can be reproduced.
template <typename Fn>
void check_few(int cases, Fn fn) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = cases;
  params.maxSize = 30;
  rc::detail::TestMetadata meta;
  meta.id = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  auto result = rc::detail::checkTestable(fn, meta, params);
  if (!result.template is<rc::detail::SuccessResult>()) {
    std::ostringstream out;
    rc::detail::printResultMessage(result, out);
    FAIL() << out.str();
  }
}

struct FileSpec {
  std::string path, content;
  uint32_t mode;
  int64_t mtime_ns;
};

struct TreeSpec {
  std::vector<FileSpec> files;
  std::vector<std::string> empty_dirs;
  std::vector<std::pair<std::string, std::string>> symlinks;  // path -> target
  std::vector<std::string> project_names;                     // rows of database.db
};

// Generators below run inside a property (they use operator*).
std::string gen_name() {
  static const std::vector<std::string> parts = {"a",     "b", "run", "Проект", "β",      "it's", "naïve", " ",
                                                 "\"q\"", ";", "--",  "ü",      "x.json", "z",    "日本"};
  std::string s = "n";
  for (const std::string& p : *rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(parts))) s += p;
  return s;
}

std::string gen_path() {
  std::string s = "data";
  int depth = *rc::gen::inRange(1, 4);
  for (int i = 0; i < depth; ++i) s += "/" + gen_name();
  return s;
}

TreeSpec gen_tree() {
  TreeSpec t;
  int files = *rc::gen::inRange(0, 25);
  for (int i = 0; i < files; ++i) {
    FileSpec f;
    f.path = gen_path();
    bool big = *rc::gen::inRange(0, 40) == 0;  // now and then a file cut into several chunks
    f.content = big ? std::string(1'500'000, 'q') + *rc::gen::arbitrary<std::string>()
                    : *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
    f.mode = *rc::gen::elementOf(std::vector<uint32_t>{0644, 0600, 0755, 0444, 0640});
    f.mtime_ns = *rc::gen::inRange<int64_t>(0, int64_t{4'000'000'000} * 1'000'000'000);
    t.files.push_back(f);
  }
  int dirs = *rc::gen::inRange(0, 3), links = *rc::gen::inRange(0, 3), projects = *rc::gen::inRange(0, 6);
  for (int i = 0; i < dirs; ++i) t.empty_dirs.push_back(gen_path());
  for (int i = 0; i < links; ++i) t.symlinks.emplace_back(gen_path(), gen_name());
  for (int i = 0; i < projects; ++i) t.project_names.push_back(gen_name());
  return t;
}

// Writes the tree into `root` (emptied first, except .mephisto-db); entries that collide
// with an earlier one (a file where a directory is needed) are skipped.
void materialize(const TreeSpec& t, const stdfs::path& root) {
  if (stdfs::exists(root))
    for (const auto& e : stdfs::directory_iterator(root))
      if (e.path().filename() != ".mephisto-db") stdfs::remove_all(e.path());
  stdfs::create_directories(root);
  make_data_dir(root / "base");
  stdfs::rename(root / "base" / "database.db", root / "database.db");
  stdfs::remove_all(root / "base");
  std::set<std::string> names;
  int64_t id = 2000000;  // make_data_dir used ids just above 1,000,000
  for (const std::string& n : t.project_names)
    if (names.insert(n).second) {
      std::string quoted;
      for (char c : n) quoted += c == '\'' ? std::string("''") : std::string(1, c);
      sqlite_exec(root / "database.db", "INSERT INTO projects(project_id, project_name) VALUES (" +
                                            std::to_string(id++) + ", '" + quoted + "')");
    }
  auto usable = [&](const std::string& path) {
    std::error_code ec;
    for (stdfs::path p = stdfs::path(path).parent_path(); !p.empty(); p = p.parent_path())
      if (stdfs::exists(stdfs::symlink_status(root / p, ec)) &&
          !stdfs::is_directory(stdfs::symlink_status(root / p, ec)))
        return false;
    return !stdfs::exists(stdfs::symlink_status(root / path, ec));
  };
  for (const FileSpec& f : t.files) {
    if (!usable(f.path)) continue;
    write(root / f.path, f.content);
    stdfs::permissions(root / f.path, stdfs::perms(f.mode));
    set_mtime(root / f.path, f.mtime_ns);
  }
  for (const std::string& d : t.empty_dirs)
    if (usable(d)) stdfs::create_directories(root / d);
  for (const auto& [path, target] : t.symlinks)
    if (usable(path)) {
      stdfs::create_directories((root / path).parent_path());
      stdfs::create_symlink(target, root / path);
    }
}

std::string backup(const stdfs::path& data, const stdfs::path& store) {
  RunResult r = mdb(data, store, {"--json", "backup"});
  RC_ASSERT(r.exit_code == 0);
  return nlohmann::json::parse(r.out)["snapshot"];
}

TEST(StoreProperty, BackupChangeBackupRestoreEither) {
  check_few(6, [] {
    TreeSpec first = gen_tree(), second = gen_tree();
    TempDir t;
    stdfs::path data = t / "data", store = t / "store";
    materialize(first, data);
    auto want_first = describe(data);
    std::string s1 = backup(data, store);
    materialize(second, data);
    auto want_second = describe(data);
    std::string s2 = backup(data, store);

    RC_ASSERT(mdb(data, store, {"restore", "-f", s1}).exit_code == 0);
    RC_ASSERT(diff(want_first, describe(data)) == "");
    RC_ASSERT(mdb(data, store, {"restore", "-f", s2}).exit_code == 0);
    RC_ASSERT(diff(want_second, describe(data)) == "");
  });
}

TEST(StoreProperty, SampleDirMutateRestoreEither) {
  check_few(2, [] {
    int seed = *rc::gen::inRange(1, 1000);
    TempDir t;
    stdfs::path data = t / "data", store = t / "store";
    RC_ASSERT(run(sample_binary(), {"--out", data.string(), "--seed", std::to_string(seed)}).exit_code == 0);
    auto want_first = describe(data);
    std::string s1 = backup(data, store);
    RC_ASSERT(run(sample_binary(), {"--mutate", data.string(), "--seed", std::to_string(seed + 1)}).exit_code == 0);
    auto want_second = describe(data);
    RC_ASSERT(diff(want_first, want_second) != "");
    std::string s2 = backup(data, store);

    RC_ASSERT(mdb(data, store, {"restore", "-f", s1}).exit_code == 0);
    RC_ASSERT(diff(want_first, describe(data)) == "");
    RC_ASSERT(mdb(data, store, {"restore", "-f", s2}).exit_code == 0);
    RC_ASSERT(diff(want_second, describe(data)) == "");
    RC_ASSERT(mdb(data, store, {"verify", "--read-data"}).exit_code == 0);
  });
}

}  // namespace
}  // namespace mdb::test
