// `mephisto db copy --to STORE` between stores with different keys (docs/COPY.md "Passwords and
// keys") through the real binary: plain to encrypted, key A to key B, encrypted to plain; each
// target restores byte for byte with its own password only, a wrong target password changes
// nothing in the target, and no password reaches the output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using nlohmann::json;

const std::string kPasswordA = "alpha source password 1";
const std::string kPasswordB = "bravo target password 2";
const std::string kSecret = "participant-4412 wrote: copied secret";

struct Source {
  DataAndStore d;
  std::map<std::string, Node> tree;
  std::string name;
  // A data dir backed up into a store: encrypted with `password`, plain when it is empty.
  explicit Source(const std::string& password) {
    make_data_dir(d.data);
    write(d.data / "data" / "runs" / "copied-secret.txt", kSecret);
    tree = describe(d.data);
    std::vector<std::string> args = {"--json", "backup"};
    if (!password.empty()) args.insert(args.begin(), "--encrypt");
    RunResult r = mdb(d.data, d.store, args, {{"MEPHISTO_PASSWORD", password}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    name = json::parse(r.out).value("snapshot", "");
  }
  stdfs::path target() const { return d.tmp / "target"; }
  RunResult copy(std::vector<std::string> extra, const std::map<std::string, std::string>& env) const {
    std::vector<std::string> args = {"--json", "copy", "--to", target().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return mdb(d.data, d.store, args, env);
  }
};

json config_of(const stdfs::path& store) { return json::parse(read(store / "config")); }

// Restores `name` of `store` with `password` into a new dir: its description, or the failure.
std::map<std::string, Node> restored(const stdfs::path& store, const std::string& name, const std::string& password) {
  TempDir t;
  RunResult r = mdb(t / "data", store, {"restore", "-f", name}, {{"MEPHISTO_PASSWORD", password}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return describe(t / "data");
}

// Every byte of every file under `store` but its config.
std::string all_but_config(const stdfs::path& store) {
  std::string out;
  for (const auto& e : stdfs::recursive_directory_iterator(store))
    if (e.is_regular_file() && e.path() != store / "config") out += read(e.path());
  return out;
}

TEST(CopyKeys, PlainToANewTargetEncryptedWithItsOwnPassword) {
  Source s("");
  write(s.d.tmp / "pw-b", kPasswordB + "\n");
  RunResult r = s.copy({"--to-encrypt", "--to-password-file", (s.d.tmp / "pw-b").string()}, {});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(config_of(s.target())["version"], 2);
  EXPECT_EQ(all_but_config(s.target() / "packs").find(kSecret), std::string::npos);
  EXPECT_EQ(diff(s.tree, restored(s.target(), s.name, kPasswordB)), "");
  EXPECT_EQ((r.out + r.err).find(kPasswordB), std::string::npos);
}

TEST(CopyKeys, KeyAToKeyBReEncryptsAndOnlyBOpensTheTarget) {
  Source s(kPasswordA);
  std::map<std::string, std::string> env = {{"MEPHISTO_PASSWORD", kPasswordA}, {"MEPHISTO_TO_PASSWORD", kPasswordB}};
  RunResult r = s.copy({}, env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ((r.out + r.err).find(kPasswordA), std::string::npos);
  EXPECT_EQ((r.out + r.err).find(kPasswordB), std::string::npos);
  json j = json::parse(r.out);
  EXPECT_GT(j["snapshots"][0]["blobs_new"].get<uint64_t>(), 0u) << r.out;
  // The target is a store of its own (another id, another master key): made encrypted because the
  // source is, though local targets are plain by default.
  json from = config_of(s.d.store), to = config_of(s.target());
  EXPECT_EQ(to["version"], 2);
  EXPECT_NE(from["id"], to["id"]);
  EXPECT_EQ(diff(s.tree, restored(s.target(), s.name, kPasswordB)), "");
  r = mdb(s.d.data, s.target(), {"verify", "--read-data"}, {{"MEPHISTO_PASSWORD", kPasswordB}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // A's password opens the source only: the target refuses it with the one line.
  r = mdb(s.d.data, s.target(), {"snapshots"}, {{"MEPHISTO_PASSWORD", kPasswordA}});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("Error: Wrong password", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  // A second copy finds the snapshot there (ids differ between the stores; the record decides).
  r = s.copy({}, env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(json::parse(r.out)["snapshots"][0]["skipped"].get<bool>()) << r.out;
}

// Between stores of different keys each blob is read from the source and re-encrypted once per
// copy: a later snapshot's blobs carried for an earlier one are not read again (`blobs_read`).
TEST(CopyKeys, ABlobCarriedForAnEarlierSnapshotIsNotReadAgain) {
  Source s(kPasswordA);
  write(s.d.data / "data" / "runs" / "added-later.txt", "one more file");
  RunResult r = mdb(s.d.data, s.d.store, {"--json", "backup"}, {{"MEPHISTO_PASSWORD", kPasswordA}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, Node> second_tree = describe(s.d.data);
  std::string second = json::parse(r.out).value("snapshot", "");
  r = s.copy({}, {{"MEPHISTO_PASSWORD", kPasswordA}, {"MEPHISTO_TO_PASSWORD", kPasswordB}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json snaps = json::parse(r.out)["snapshots"];
  ASSERT_EQ(snaps.size(), 2u) << r.out;
  int64_t first_read = snaps[0].value("blobs_read", -1), second_read = snaps[1].value("blobs_read", -1);
  EXPECT_GT(first_read, 3) << r.out;
  // Only what the second snapshot added is read for it: each such blob is new in the target.
  EXPECT_GE(second_read, 1) << r.out;
  EXPECT_LE(second_read, snaps[1].value("blobs_new", 0)) << r.out;
  EXPECT_LT(second_read, first_read) << r.out;
  EXPECT_EQ(diff(second_tree, restored(s.target(), second, kPasswordB)), "");
}

TEST(CopyKeys, EncryptedToPlainOnlyWhenAskedAndTheSourcePasswordIsTheDefault) {
  Source s(kPasswordA);
  RunResult r = s.copy({"--to-no-encryption"}, {{"MEPHISTO_PASSWORD", kPasswordA}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(config_of(s.target())["version"], 1);
  EXPECT_NE(all_but_config(s.target()).find(kSecret), std::string::npos) << "plain, as asked";
  EXPECT_EQ(diff(s.tree, restored(s.target(), s.name, "")), "");
  // Without --to-...: a second target made encrypted with the source's password.
  stdfs::path second = s.d.tmp / "second";
  r = mdb(s.d.data, s.d.store, {"copy", "--to", second.string()}, {{"MEPHISTO_PASSWORD", kPasswordA}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(config_of(second)["version"], 2);
  EXPECT_EQ(diff(s.tree, restored(second, s.name, kPasswordA)), "");
}

TEST(CopyKeys, AWrongTargetPasswordFailsAndLeavesTheTargetUnchanged) {
  Source s(kPasswordA);
  std::map<std::string, std::string> env = {{"MEPHISTO_PASSWORD", kPasswordA}, {"MEPHISTO_TO_PASSWORD", kPasswordB}};
  ASSERT_EQ(s.copy({}, env).exit_code, 0);
  write(s.d.data / "later.txt", "a second backup to copy");
  RunResult r = mdb(s.d.data, s.d.store, {"backup"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto target_tree = [&] {  // the store lock file names the last writer
    std::map<std::string, std::string> t = tree(s.target());
    t.erase("lock");
    return t;
  };
  std::map<std::string, std::string> before = target_tree();
  write(s.d.tmp / "pw-wrong", "not the target's\n");
  for (std::vector<std::string> extra :
       {std::vector<std::string>{"--to-password-file", (s.d.tmp / "pw-wrong").string()},
        {"--to-password-command", "echo not-it-either"}}) {
    r = s.copy(extra, env);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("Wrong password"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find((s.target() / "config").string()), std::string::npos) << "names the target\n" << r.err;
    EXPECT_EQ(r.out.find("not-it-either"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("not the target"), std::string::npos) << r.out;
  }
  EXPECT_EQ(changed_paths(before, target_tree()), "");
  r = mdb(s.d.data, s.target(), {"--json", "snapshots"}, {{"MEPHISTO_PASSWORD", kPasswordB}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["snapshots"].size(), 1u) << r.out;
  // Both target sources at once: a usage error before anything is opened.
  r = s.copy({"--to-password-file", "x", "--to-password-command", "y"}, env);
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

}  // namespace
}  // namespace mdb::test
