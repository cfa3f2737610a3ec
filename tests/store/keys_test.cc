// The passwords of an encrypted store through the real binary (docs/SECURITY.md): every password
// source, `key list|add|remove|passwd`, and the password never reaching outputs or files.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

const std::string kPassword = "first password";

struct Store : DataAndStore {
  Store() {
    make_data_dir(data);
    RunResult r = mdb(data, store, {"--encrypt", "backup"}, {{"MEPHISTO_PASSWORD", kPassword}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  RunResult with(const std::string& password, std::vector<std::string> args) const {
    return mdb(data, store, std::move(args), {{"MEPHISTO_PASSWORD", password}});
  }
  nlohmann::json keys(const std::string& password) const {
    RunResult r = with(password, {"--json", "key", "list"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out)["keys"] : nlohmann::json::array();
  }
};

TEST(Keys, EveryPasswordSourceOpensTheStore) {
  Store s;
  stdfs::path file = s.tmp / "password.txt";
  write(file, kPassword + "\n");
  stdfs::path script = s.tmp / "pw.sh";
  write(script, "#!/bin/sh\nprintf '%s\\n' '" + kPassword + "'\n");
  stdfs::permissions(script, stdfs::perms::owner_all);
  const std::map<std::string, std::string> none = {{"MEPHISTO_PASSWORD", ""}};
  struct Case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
  };
  std::vector<Case> cases = {
      {{"snapshots"}, {{"MEPHISTO_PASSWORD", kPassword}}},
      {{"--password-file", file.string(), "snapshots"}, none},
      {{"snapshots"}, {{"MEPHISTO_PASSWORD", ""}, {"MEPHISTO_PASSWORD_FILE", file.string()}}},
      {{"--password-command", script.string(), "snapshots"}, none},
      {{"snapshots"}, {{"MEPHISTO_PASSWORD", ""}, {"MEPHISTO_PASSWORD_COMMAND", script.string()}}},
      // An option wins over the variables, which would be wrong here.
      {{"--password-file", file.string(), "snapshots"},
       {{"MEPHISTO_PASSWORD", "wrong"}, {"MEPHISTO_PASSWORD_COMMAND", "echo wrong"}}},
  };
  for (const Case& c : cases) {
    RunResult r = mdb(s.data, s.store, c.args, c.env);
    EXPECT_EQ(r.exit_code, 0) << testing::PrintToString(c.args) << r.err;
    EXPECT_NE(r.out.find("mephisto_backup"), std::string::npos) << r.out;
    EXPECT_EQ((r.out + r.err).find(kPassword), std::string::npos);
  }
  // A failing command, a missing file, both options: one clear error each.
  RunResult r = mdb(s.data, s.store, {"--password-command", "exit 3", "snapshots"}, none);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("password command failed (exit status 3)"), std::string::npos) << r.err;
  r = mdb(s.data, s.store, {"--password-file", (s.tmp / "nope").string(), "snapshots"}, none);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
  r = mdb(s.data, s.store, {"--password-file", file.string(), "--password-command", "true", "snapshots"}, none);
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

// The prompt: on the controlling terminal, echo off (util-linux `script` gives the command one).
TEST(Keys, ThePasswordIsAskedOnTheTerminalWithoutEcho) {
  Store s;
  // The password is typed only once the prompt shows, as a user would.
  std::string in = (s.tmp / "in").string(), out = (s.tmp / "out").string();
  std::string cmd = "mkfifo " + in + " && { MEPHISTO_PASSWORD= script -qfec '" + mephisto_binary().string() +
                    " --data-dir " + s.data.string() + " --store " + s.store.string() + " db snapshots' /dev/null < " +
                    in + " > " + out + " & } && exec 3>" + in + " && until grep -q 'Enter the password' " + out +
                    "; do sleep 0.1; done; printf '%s\\n' '" + kPassword + "' >&3; exec 3>&-; wait $!; rc=$?; cat " +
                    out + "; exit $rc";
  RunResult r = run("/bin/sh", {"-c", cmd});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Enter the password of the store"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mephisto_backup"), std::string::npos) << r.out;
  // `script` shows what the terminal echoed: the password never appears.
  EXPECT_EQ(r.out.find(kPassword), std::string::npos) << r.out;
}

TEST(Keys, AddRemoveAndPasswdManageThePasswords) {
  Store s;
  nlohmann::json keys = s.keys(kPassword);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_TRUE(keys[0]["current"].get<bool>());
  std::string first = keys[0]["id"];

  stdfs::path second_file = s.tmp / "second.txt";
  write(second_file, "second password\n");
  RunResult r = s.with(kPassword, {"--json", "--new-password-file", second_file.string(), "key", "add"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string second = nlohmann::json::parse(r.out)["added"];
  keys = s.keys("second password");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_FALSE(keys[0]["current"].get<bool>());
  EXPECT_TRUE(keys[1]["current"].get<bool>());
  EXPECT_EQ(keys[1]["id"], second);

  // The key in use is not removed; the other one is; then the last one is refused.
  r = s.with("second password", {"key", "remove", second});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  r = s.with("second password", {"key", "remove", first.substr(0, 6)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Removed key " + first), std::string::npos) << r.out;
  r = s.with(kPassword, {"snapshots"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("Wrong password"), std::string::npos) << r.err;
  r = s.with("second password", {"key", "remove", second});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("only key"), std::string::npos) << r.err;

  // passwd: the new password opens the store, the old one no longer does; the data is intact.
  stdfs::path third_file = s.tmp / "third.txt";
  write(third_file, "third password");
  r = s.with("second password", {"--new-password-file", third_file.string(), "key", "passwd"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("removed key " + second), std::string::npos) << r.out;
  EXPECT_EQ(s.with("second password", {"snapshots"}).exit_code, 1);
  keys = s.keys("third password");
  ASSERT_EQ(keys.size(), 1u);
  r = s.with("third password", {"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // No password is in the config or anywhere in the store.
  for (const auto& [path, bytes] : tree(s.store))
    for (const char* pw : {"first password", "second password", "third password"})
      EXPECT_EQ(bytes.find(pw), std::string::npos) << path;
}

TEST(Keys, APlainStoreHasNoKeys) {
  DataAndStore d;
  make_data_dir(d.data);
  backup_snapshot(d.data, d.store);
  RunResult r = mdb(d.data, d.store, {"key", "list"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("is not encrypted"), std::string::npos) << r.err;
  EXPECT_EQ(mdb(d.data, d.store, {"key", "add"}).exit_code, 1);
}

}  // namespace
}  // namespace mdb::test
