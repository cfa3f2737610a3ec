// The damage suite (issue 11, point 6; docs/DAMAGE.md), in the spirit of SQLite's corruption
// tests: for each kind of store file, flip, truncate, zero and delete at seeded points of a
// copy of one store with three snapshots, then drive the real binary (each run under a
// timeout: a hang is a failure) and check that
//   - nothing crashes or hangs (exit 0 or 1 only),
//   - `verify` / `verify --read-data` name the damaged file, unless the damage changes nothing
//     any command gives back (then every snapshot restores exactly),
//   - `restore` of every snapshot into a fresh data dir restores exactly or refuses naming the
//     file, and then leaves nothing behind: wrong bytes written is always 0,
//   - `verify --repair-index`, then `verify --read-data --repair` (healing from the live data
//     dir, which it must not change), leave the store no worse: every snapshot restorable
//     before is restorable after.
// MDB_DAMAGE_SEED=N changes the seed, MDB_DAMAGE_CASES=N the cases per kind, MDB_DAMAGE_ONLY=I
// runs case I alone (the failure message of a case names all three).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <set>

#include "tests/store/damage_fixture.h"
#include "tests/support/sanitized.h"

namespace mdb::test {
namespace {

constexpr uint64_t kDefaultSeed = 20261205;
constexpr int kCasesPerKind = 76;  // 7 kinds: 532 cases
// An encrypted store's cases cost an Argon2id derivation (~0.1 s) per run: fewer of them.
constexpr int kEncryptedCasesPerKind = 24;  // 7 kinds: 168 cases

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

struct Counts {
  uint64_t cases = 0, detected = 0, harmless = 0, restored = 0, refused = 0, healed = 0, not_healed = 0,
           wrong_bytes = 0;
  Counts& operator+=(const Counts& o) {
    cases += o.cases, detected += o.detected, harmless += o.harmless, restored += o.restored;
    refused += o.refused, healed += o.healed, not_healed += o.not_healed, wrong_bytes += o.wrong_bytes;
    return *this;
  }
};

// `mephisto db ARGS` killed after 120 s: a hang shows as exit 137 (no test waits forever).
RunResult timed(const stdfs::path& data, const stdfs::path& store, std::vector<std::string> args) {
  std::vector<std::string> all = {"-s", "KILL", "120", mephisto_binary().string(), "--data-dir", data.string(),
                                  "--store", store.string(), "db"};
  all.insert(all.end(), args.begin(), args.end());
  return run("/usr/bin/timeout", all, "yes\n",
             {{"MEPHISTO_PASSWORD", kDamagePassword}, {"XDG_CACHE_HOME", damage_cache_home(store).string()}});
}

// "blob <id>" as a message names it, or "-" when it names none.
std::string blob_named(const std::string& message) {
  size_t at = message.find("blob ");
  return at == std::string::npos ? "-" : message.substr(at, 5 + 64);
}

std::map<std::string, Node> contents(const stdfs::path& dir) {
  return stdfs::exists(dir) ? describe(dir) : std::map<std::string, Node>{};
}

class Case {
 public:
  Case(const DamageFixture& f, FileKind kind, Damage damage, uint64_t seed, uint64_t index)
      : f_(f), store_(tmp_ / "store") {
    std::seed_seq s{seed, static_cast<uint64_t>(kind), index};
    std::mt19937_64 rng(s);
    copy_tree(f.dirs.store, store_);
    if (stdfs::exists(damage_cache_home(f.dirs.store)))
      copy_tree(damage_cache_home(f.dirs.store), damage_cache_home(store_));
    applied_ = apply_damage(f, store_, kind, damage, rng);
    where_ = std::string(name_of(kind)) + " case " + std::to_string(index) + " (MDB_DAMAGE_SEED=" +
             std::to_string(seed) + " MDB_DAMAGE_ONLY=" + std::to_string(index) + "): " + applied_.what;
  }

  Counts run() {
    Counts c;
    c.cases = 1;
    // Both run: each checks its own output, whatever the other found.
    bool found_by_verify = check_verify({"verify"});
    bool found_by_read_data = check_verify({"verify", "--read-data"});
    bool detected = found_by_verify || found_by_read_data;
    std::set<std::string> before = restore_all("before", c);
    if (detected) {
      ++c.detected;
    } else {
      EXPECT_EQ(before.size(), f_.snapshots.size()) << where_ << ": verify found nothing, yet a restore failed";
      ++c.harmless;
    }
    RunResult r = timed(tmp_ / "none", store_, {"verify", "--repair-index"});
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << where_ << ": repair exit " << r.exit_code << r.err;
    repair_said_ = r.out + r.err;
    // Then --repair heals what the live data dir still holds (it only reads the data dir:
    // run_kind checks that the data dir is unchanged).
    r = timed(f_.dirs.data, store_, {"verify", "--read-data", "--repair"});
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << where_ << ": --repair exit " << r.exit_code << r.err;
    repair_said_ += r.out + r.err;
    RunResult after = timed(tmp_ / "none", store_, {"verify", "--read-data"});
    EXPECT_TRUE(after.exit_code == 0 || after.exit_code == 1) << where_ << ": exit " << after.exit_code << after.err;
    repair_said_ += after.err;
    Counts ignored;
    std::set<std::string> now = restore_all("after", ignored);
    c.wrong_bytes += ignored.wrong_bytes;
    if (detected) ++(after.exit_code == 0 && now.size() == f_.snapshots.size() ? c.healed : c.not_healed);
    for (const std::string& s : before)
      EXPECT_TRUE(now.count(s)) << where_ << ": " << s << " restored before the repair but not after";
    return c;
  }

 private:
  // Whether the damage was found: a problem (exit 1), which must name the file, or a note
  // naming it (damage that loses nothing, exit 0).
  bool check_verify(const std::vector<std::string>& args) {
    RunResult r = timed(tmp_ / "none", store_, args);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << where_ << ": " << args.back() << " exit " << r.exit_code
                                                      << r.out << r.err;
    bool named = (r.out + r.err).find(applied_.region.token) != std::string::npos;
    if (r.exit_code == 1) {
      EXPECT_TRUE(named) << where_ << ": " << args.back() << " does not name " << applied_.region.token << ":\n"
                         << r.err;
    }
    return r.exit_code == 1 || named;
  }

  // Restores every snapshot into a fresh data dir; the names of those restored exactly.
  std::set<std::string> restore_all(const std::string& when, Counts& c) {
    std::set<std::string> ok;
    for (size_t i = 0; i < f_.snapshots.size(); ++i) {
      const std::string& snap = f_.snapshots[i];
      stdfs::path data = tmp_ / (when + "-" + std::to_string(i));
      RunResult r = timed(data, store_, {"restore", "-f", snap});
      std::map<std::string, Node> got = contents(data);
      if (r.exit_code == 0) {
        std::string d = diff(f_.trees.at(snap), got);
        c.wrong_bytes += !d.empty();
        EXPECT_EQ(d, "") << where_ << ": restore " << when << " of " << snap << " wrote wrong bytes";
        if (d.empty()) ok.insert(snap), ++c.restored;
        continue;
      }
      ++c.refused;
      EXPECT_EQ(r.exit_code, 1) << where_ << ": restore " << when << " exit " << r.exit_code << r.err;
      // After a repair the rebuilt index no longer knows where a lost blob was, nor a snapshot
      // whose record is lost: the repair named the file or the snapshot when it lost it.
      bool named = r.err.find(applied_.region.token) != std::string::npos ||
                   (when == "after" && (repair_said_.find(applied_.region.token) != std::string::npos ||
                                        repair_said_.find("snapshot " + snap + " is lost") != std::string::npos ||
                                        repair_said_.find(blob_named(r.err)) != std::string::npos));
      EXPECT_TRUE(named) << where_ << ": restore " << when << " of " << snap << " refuses without naming "
                         << applied_.region.token << ":\n"
                         << r.err;
      c.wrong_bytes += !got.empty();
      EXPECT_TRUE(got.empty()) << where_ << ": a refused restore " << when << " left files: " << diff({}, got);
    }
    return ok;
  }

  const DamageFixture& f_;
  TempDir tmp_;
  stdfs::path store_;
  Applied applied_;
  std::string where_;
  std::string repair_said_;  // the output of `verify --repair-index` and `--repair`
};

void print_row(const std::string& what, const Counts& c) {
  std::printf("%-24s %6llu %9llu %9llu %9llu %8llu %7llu %11llu %12llu\n", what.c_str(),
              static_cast<unsigned long long>(c.cases), static_cast<unsigned long long>(c.detected),
              static_cast<unsigned long long>(c.harmless), static_cast<unsigned long long>(c.restored),
              static_cast<unsigned long long>(c.refused), static_cast<unsigned long long>(c.healed),
              static_cast<unsigned long long>(c.not_healed), static_cast<unsigned long long>(c.wrong_bytes));
}

// Runs the cases of one file kind (the four damages in turn) and prints its table.
void run_kind(FileKind kind, bool encrypted = false) {
  uint64_t seed = env_number("MDB_DAMAGE_SEED", kDefaultSeed);
  uint64_t cases = env_number(
      "MDB_DAMAGE_CASES", static_cast<uint64_t>(trials(encrypted ? kEncryptedCasesPerKind : kCasesPerKind)));
  const char* only = std::getenv("MDB_DAMAGE_ONLY");
  DamageFixture f(encrypted);
  std::map<Damage, Counts> by_damage;
  for (uint64_t i = 0; i < cases; ++i) {
    if (only && *only && std::strtoull(only, nullptr, 10) != i) continue;
    Damage d = kDamages[i % 4];
    by_damage[d] += Case(f, kind, d, seed, i).run();
    if (::testing::Test::HasFailure()) break;  // one case's messages are enough to read
  }
  std::printf("%-24s %6s %9s %9s %9s %8s %7s %11s %12s\n", "kind / damage",
              "cases", "detected", "harmless", "restored", "refused", "healed", "not healed", "wrong bytes");
  Counts total;
  for (const auto& [d, c] : by_damage) {
    print_row(std::string(name_of(kind)) + " / " + name_of(d), c);
    total += c;
  }
  print_row(std::string(encrypted ? "encrypted " : "") + name_of(kind) + " (seed " + std::to_string(seed) + ")",
            total);
  EXPECT_EQ(total.wrong_bytes, 0u);
  EXPECT_EQ(diff(f.trees.at(f.snapshots.back()), describe(f.dirs.data)), "") << "a repair changed the data dir";
}

TEST(DamageSuite, PackData) { run_kind(FileKind::PackData); }
TEST(DamageSuite, PackFooter) { run_kind(FileKind::PackFooter); }
TEST(DamageSuite, Manifest) { run_kind(FileKind::Manifest); }
TEST(DamageSuite, SnapshotRecord) { run_kind(FileKind::SnapshotRecord); }
TEST(DamageSuite, LmdbIndex) { run_kind(FileKind::Index); }
TEST(DamageSuite, Lock) { run_kind(FileKind::Lock); }
TEST(DamageSuite, Config) { run_kind(FileKind::Config); }
// The same on an encrypted store: sealed blobs, footers and records, a config with a mac.
TEST(DamageSuite, EncryptedPackData) { run_kind(FileKind::PackData, true); }
TEST(DamageSuite, EncryptedPackFooter) { run_kind(FileKind::PackFooter, true); }
TEST(DamageSuite, EncryptedManifest) { run_kind(FileKind::Manifest, true); }
TEST(DamageSuite, EncryptedSnapshotRecord) { run_kind(FileKind::SnapshotRecord, true); }
TEST(DamageSuite, EncryptedLmdbIndex) { run_kind(FileKind::Index, true); }
TEST(DamageSuite, EncryptedLock) { run_kind(FileKind::Lock, true); }
TEST(DamageSuite, EncryptedConfig) { run_kind(FileKind::Config, true); }

}  // namespace
}  // namespace mdb::test
