// Temporary directories of killed commands (MDB_FAULT=kill@ just after the command wrote into
// one) are removed by the next command; a directory whose owner file is locked by a live
// process stays, whatever pid its name carries (docs/ARCHITECTURE.md, "Temporary directories
// and sweeps").
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "platform/temp_dir.h"
#include "tests/support/testenv.h"

namespace mdb::test {
namespace {

const stdfs::path kSeeded = fixtures() / "s2_import/backups/2026_11_25_15_42_21_mephisto_backup.zip";
const stdfs::path kDump = fixtures() / "s1n_source_without_mturk_hits/dumps/2026_11_25_15_42_09_mephisto_dump.zip";

struct Site {
  explicit Site(const stdfs::path& root) : data(root / "data"), store(root / "store"), out(root / "out") {
    unzip_to(kSeeded, data);
  }
  RunResult mdb(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) const {
    std::vector<std::string> all = {"--data-dir", data.string(), "--store", store.string(), "--outputs-dir",
                                    out.string(), "-y", "db"};
    all.insert(all.end(), args.begin(), args.end());
    return run_mephisto(all, "", env);
  }
  stdfs::path data, store, out;
};

// The entries of `dir` whose name starts with `prefix`.
std::vector<stdfs::path> entries(const stdfs::path& dir, const std::string& prefix) {
  std::vector<stdfs::path> out;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The fault point just after the first `create` of a file whose path contains `needle`, in a
// trace of the same command (lock lines are not fault points).
int point_after_create(const stdfs::path& trace, const std::string& needle) {
  std::ifstream in(trace);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    std::string what = line.substr(0, line.find('\t'));
    if (what == "lock" || what == "unlock") continue;
    ++n;
    if (what == "create" && line.find(needle) != std::string::npos) return n + 1;
  }
  ADD_FAILURE() << "no create of " << needle << " in " << read(trace);
  return 0;
}

class Sweep : public ::testing::Test {
 protected:
  // Runs `args` in a fresh site traced, then in `site` killed just after its first file in a
  // `prefix` temp dir of `parent`; returns that leftover dir (with its owner file).
  stdfs::path kill_inside(const Site& site, const std::vector<std::string>& args, const stdfs::path& parent,
                          const std::string& prefix, const std::function<void(const Site&)>& prepare = {}) {
    Site ref(tmp_ / ("ref" + std::to_string(refs_++)));
    if (prepare) prepare(ref);
    stdfs::path trace = tmp_ / ("trace" + std::to_string(refs_));
    RunResult ok = ref.mdb(args, {{"MDB_FAULT_TRACE", trace.string()}});
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    int at = point_after_create(trace, "/" + prefix);
    RunResult killed = site.mdb(args, {{"MDB_FAULT", "kill@" + std::to_string(at)}});
    EXPECT_EQ(killed.exit_code, -9) << killed.out << killed.err;
    std::vector<stdfs::path> left = entries(parent, prefix);
    EXPECT_EQ(left.size(), 1u);
    if (left.size() != 1) return {};
    EXPECT_TRUE(stdfs::exists(left[0] / ".owner"));
    return left[0];
  }
  // A dir left unlocked, named with this (live) process's pid: the old pid rule kept it forever.
  static stdfs::path abandoned_with_live_pid(const stdfs::path& parent, const std::string& prefix) {
    fs::OwnedTempDir d(parent, prefix + std::to_string(::getpid()) + "-");
    d.release();
    return d.path();
  }
  TempDir tmp_;
  int refs_ = 0;
};

TEST_F(Sweep, AKilledExportsTempDirGoesLiveOnesStay) {
  Site site(tmp_ / "site");
  stdfs::path dir = site.out / "export";
  stdfs::path left = kill_inside(site, {"export"}, dir, ".mephisto-export-");
  ASSERT_FALSE(left.empty());
  fs::OwnedTempDir live(dir, ".mephisto-export-99999999-");  // held by us; a dead pid in its name
  stdfs::path reused = abandoned_with_live_pid(dir, ".mephisto-export-");
  RunResult r = site.mdb({"export"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(entries(dir, ".mephisto-export-"), std::vector<stdfs::path>{live.path()});
  EXPECT_TRUE(stdfs::exists(live.path() / ".owner"));
}

TEST_F(Sweep, AKilledImportsStagingGoesLiveOnesStay) {
  Site site(tmp_ / "site");
  stdfs::path meta = site.data / ".mephisto-db";
  stdfs::path left = kill_inside(site, {"import", "-f", kDump.string()}, meta, "import-");
  ASSERT_FALSE(left.empty());
  fs::OwnedTempDir live(meta, "import-99999999-");
  stdfs::path reused = abandoned_with_live_pid(meta, "import-");
  RunResult r = site.mdb({"import", "-f", kDump.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(entries(meta, "import-"), std::vector<stdfs::path>{live.path()});
}

TEST_F(Sweep, AKilledRestoresStagingGoesWithTheNextCommandLiveOnesStay) {
  Site site(tmp_ / "site");
  RunResult b = site.mdb({"--json", "backup"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  std::string snap = nlohmann::json::parse(b.out)["snapshot"];
  stdfs::path parent = site.data.parent_path();
  const std::string prefix = ".data.mdb-restore-";
  auto same_store = [&](const Site& ref) { stdfs::copy(site.store, ref.store, stdfs::copy_options::recursive); };
  stdfs::path left = kill_inside(site, {"restore", "-f", snap}, parent, prefix, same_store);
  ASSERT_FALSE(left.empty());
  fs::OwnedTempDir live(parent, prefix + "99999999-");
  stdfs::path reused = abandoned_with_live_pid(parent, prefix);
  RunResult r = site.mdb({"snapshots"});  // a read-only command sweeps too
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(entries(parent, prefix), std::vector<stdfs::path>{live.path()});
}

// verify -f of a backup zip copies its databases into a temp dir of the outputs dir, never
// into the system's temp dir, and removes it.
// verify -f copies a backup zip's databases into a private temp dir of the cache dir, and sweeps
// those that killed verifies left there; nothing goes to TMPDIR or the outputs dir.
TEST_F(Sweep, VerifyOfABackupZipWritesOnlyIntoTheCacheDir) {
  Site site(tmp_ / "site");
  stdfs::path sys_tmp = tmp_ / "system-tmp";
  stdfs::path scratch = tmp_ / "cache" / "mephisto-db" / "tmp";
  stdfs::create_directories(sys_tmp);
  stdfs::create_directories(scratch);
  abandoned_with_live_pid(scratch, ".mephisto-verify-");
  RunResult r = site.mdb({"verify", "-f", kSeeded.string()},
                         {{"TMPDIR", sys_tmp.string()}, {"XDG_CACHE_HOME", (tmp_ / "cache").string()}});
  ASSERT_NE(r.out.find("Checked the backup zip"), std::string::npos) << r.out << r.err;
  EXPECT_TRUE(stdfs::is_empty(sys_tmp));
  EXPECT_EQ(entries(scratch, ".mephisto-verify-"), std::vector<stdfs::path>{});
  EXPECT_FALSE(stdfs::exists(site.out)) << "verify -f wrote into the outputs dir";
}

}  // namespace
}  // namespace mdb::test
