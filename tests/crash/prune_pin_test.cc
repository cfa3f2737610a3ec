// Pins through the real binary (docs/PRUNE.md): an import killed with kill -9 in data dir A
// leaves a journal marker in A and a pin in the store A shares with data dir B. prune run for B
// keeps the snapshot A's rollback needs, even past `verify --repair-index`; A's next command
// rolls back, which removes the pin. A pin without its marker is dead and dropped; a pin whose
// data dir cannot be seen is kept.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "tests/support/fault_trace.h"
#include "tests/support/testenv.h"

namespace mdb::test {
namespace {

const stdfs::path kSeeded = fixtures() / "s2_import/backups/2026_11_25_15_42_21_mephisto_backup.zip";
const stdfs::path kDump = fixtures() / "s1n_source_without_mturk_hits/dumps/2026_11_25_15_42_09_mephisto_dump.zip";

using Json = nlohmann::json;

// Two data dirs, A and B, sharing one store in which B has a backup.
//
// A has none: the tests aim kill@N at an operation of A's import traced in another Site, so the
// import must do the same writes in both. Its snapshot of A reads every file of A, and after a
// backup of A it would read only those the backup did not cache: the file cache trusts no file
// changed within 50 ms of being read (store/backup.cc), so which ones depends on how soon after
// the extraction that backup ran. (Under load the traced run copied A's databases into the store
// and the killed run did not: 81 fault points fewer, and the kill landed past the marker.)
struct Site {
  explicit Site(const stdfs::path& root) : a(root / "a" / "data"), b(root / "b" / "data"), store(root / "store") {
    unzip_to(kSeeded, a);
    unzip_to(kSeeded, b);
  }
  RunResult mdb(const stdfs::path& data, std::vector<std::string> args,
                const std::map<std::string, std::string>& env = {}) const {
    std::vector<std::string> all = {"--data-dir",     data.string(), "--store", store.string(),
                                    "--outputs-dir", (data.parent_path() / "out").string(), "-y", "db"};
    all.insert(all.end(), args.begin(), args.end());
    return run_mephisto(all, "", env);
  }
  void backup_b() const {
    RunResult r = mdb(b, {"backup"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  RunResult import_a(const std::map<std::string, std::string>& env = {}) const {
    return mdb(a, {"import", "-f", kDump.string()}, env);
  }
  stdfs::path a, b, store;
};

std::vector<stdfs::path> pin_files(const stdfs::path& store) {
  std::vector<stdfs::path> out;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(store / "pins", ec)) out.push_back(e.path());
  return out;
}

std::vector<std::string> names(const Json& a) {
  std::vector<std::string> out;
  for (const Json& s : a) out.push_back(s.get<std::string>());
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// The import has committed its rows and moved its first run file into place: A is changed, the
// change is not finished, and only the journal marker can bring A back.
bool first_move(const std::string& what, const std::string& rel) {
  return what == "rename" && rel.rfind("a/data/.mephisto-db/import-", 0) == 0;
}

class PrunePin : public ::testing::Test {
 protected:
  // The fault point right after the first one of an identical import (traced in a site of its
  // own) for which `match(what, path relative to the site)` holds: kill@ that point stops the
  // import just after that operation.
  int point_after(const std::function<bool(const std::string&, const std::string&)>& match) {
    Site ref(tmp_ / "reference");
    ref.backup_b();
    stdfs::path trace = tmp_ / "trace";
    RunResult ok = ref.import_a({{"MDB_FAULT_TRACE", trace.string()}});
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    const stdfs::path site = ref.a.parent_path().parent_path();
    int n = first_fault_point(trace, [&](const FaultPoint& p) {
      return match(p.what, stdfs::path(p.path).lexically_relative(site).string());
    });
    return n == 0 ? 0 : n + 1;
  }
  // Kills A's import at `point`; returns the snapshot its journal marker names, if it has one.
  std::string kill_import(const Site& site, int point) {
    RunResult killed = site.import_a({{"MDB_FAULT", "kill@" + std::to_string(point)}});
    EXPECT_EQ(killed.exit_code, -9) << killed.out << killed.err;
    stdfs::path marker = site.a / ".mephisto-db/journal";
    return stdfs::exists(marker) ? Json::parse(read(marker))["snapshot"].get<std::string>() : "";
  }
  // The automatic snapshot of A's import (the newest snapshot).
  std::string newest_snapshot(const Site& site) {
    Json j = Json::parse(site.mdb(site.b, {"--json", "snapshots"}).out);
    return j["snapshots"].back()["name"];
  }
  TempDir tmp_;
};

TEST_F(PrunePin, PruneForAnotherDataDirKeepsTheSnapshotAPendingRollbackNeeds) {
  int point = point_after(first_move);
  ASSERT_GT(point, 0);
  Site site(tmp_ / "site");
  site.backup_b();
  auto before = logical_tree(site.a);
  std::string pinned = kill_import(site, point);
  ASSERT_NE(pinned, "") << "no journal marker in A";
  ASSERT_NE(logical_tree(site.a), before) << "the import was killed before it changed anything";
  ASSERT_EQ(pin_files(site.store).size(), 1u);
  EXPECT_NE(read(pin_files(site.store)[0]).find(pinned), std::string::npos);

  // Run for B, with policies that keep no automatic snapshot.
  RunResult dry = site.mdb(site.b, {"prune", "--dry-run", "--keep-last", "1", "--keep-auto", "0"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("Kept " + pinned + " although outside the policy: the interrupted `mephisto db import` of " +
                         stdfs::canonical(site.a).string() + " rolls back to it"),
            std::string::npos)
      << dry.out;
  RunResult r = site.mdb(site.b, {"--json", "prune", "--keep-last", "1", "--keep-auto", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_TRUE(has(names(j["kept"]), pinned)) << r.out;
  ASSERT_EQ(j["kept_protected"].size(), 1u) << r.out;
  EXPECT_EQ(j["kept_protected"][0]["name"], pinned);
  EXPECT_EQ(pin_files(site.store).size(), 1u);

  // Pins are not in the index: a rebuilt index still has them.
  r = site.mdb(site.b, {"verify", "--repair-index"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = site.mdb(site.b, {"--json", "prune", "--keep-last", "1", "--keep-auto", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(names(Json::parse(r.out)["kept"]), pinned)) << r.out;

  // A's next command rolls back, which ends the pin; then the snapshot is an ordinary one.
  r = site.mdb(site.a, {"backup"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Rolled back an interrupted `mephisto db import`"), std::string::npos) << r.err;
  EXPECT_EQ(changed_paths(before, logical_tree(site.a)), "");
  EXPECT_FALSE(stdfs::exists(site.a / ".mephisto-db/journal"));
  EXPECT_TRUE(pin_files(site.store).empty());
  r = site.mdb(site.b, {"--json", "prune", "--keep-last", "1", "--keep-auto", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(names(Json::parse(r.out)["forgotten"]), pinned)) << r.out;
  EXPECT_EQ(site.mdb(site.b, {"verify", "--read-data"}).exit_code, 0);
}

TEST_F(PrunePin, APinWithoutItsMarkerIsDroppedAndOneWhoseDataDirIsGoneIsKept) {
  // Killed after the pin is written and before the marker is: the pin is dead.
  int point = point_after([](const std::string& what, const std::string& rel) {
    return what == "rename" && rel.rfind("store/pins/", 0) == 0;
  });
  ASSERT_GT(point, 0);
  Site site(tmp_ / "site");
  site.backup_b();
  auto before = logical_tree(site.a);
  EXPECT_EQ(kill_import(site, point), "") << "the marker was written";
  ASSERT_EQ(pin_files(site.store).size(), 1u);
  std::string dead = newest_snapshot(site);
  RunResult dry = site.mdb(site.b, {"--json", "prune", "--dry-run", "--keep-last", "1", "--keep-auto", "0"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_TRUE(has(names(Json::parse(dry.out)["forgotten"]), dead)) << dry.out;
  EXPECT_EQ(pin_files(site.store).size(), 1u) << "a dry run dropped a pin";
  RunResult r = site.mdb(site.b, {"--json", "prune", "--keep-last", "1", "--keep-auto", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(names(Json::parse(r.out)["forgotten"]), dead)) << r.out;
  EXPECT_TRUE(pin_files(site.store).empty());
  EXPECT_EQ(changed_paths(before, logical_tree(site.a)), "");

}

TEST_F(PrunePin, APinWhoseDataDirCannotBeSeenIsKept) {
  int point = point_after(first_move);
  ASSERT_GT(point, 0);
  Site site(tmp_ / "site");
  site.backup_b();
  auto before = logical_tree(site.a);
  std::string pinned = kill_import(site, point);
  ASSERT_NE(pinned, "");
  // Moved away or unmounted: nothing proves the change is over.
  stdfs::path away = site.a.parent_path() / "away";
  stdfs::rename(site.a, away);
  RunResult r = site.mdb(site.b, {"--json", "prune", "--keep-last", "1", "--keep-auto", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(names(Json::parse(r.out)["kept"]), pinned)) << r.out;
  EXPECT_EQ(pin_files(site.store).size(), 1u);
  stdfs::rename(away, site.a);
  r = site.mdb(site.a, {"backup"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(changed_paths(before, logical_tree(site.a)), "");
  EXPECT_TRUE(pin_files(site.store).empty());
}

}  // namespace
}  // namespace mdb::test
