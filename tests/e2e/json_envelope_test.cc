// docs/JSON.md: with --json every command prints exactly one object with "ok" and "command"
// first and "exit_code" last, and on failure "error" and "kind": also for usage errors found by
// the option parser, unknown commands and a declined prompt (the binary, end to end). Every
// object is also validated against docs/json-schema.json, which gives the same key the same
// type in every command, by tools/check_json_schema (python3-jsonschema).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/testenv.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using nlohmann::ordered_json;

// The one object on stdout, checked against the envelope; a test failure when it is not one.
ordered_json envelope(SchemaCheck& schema, const RunResult& r, const std::string& command) {
  schema.add(r);
  ordered_json j;
  try {
    j = ordered_json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "stdout is not one JSON object (" << e.what() << "):\n" << r.out << "\nstderr:\n" << r.err;
    return j;
  }
  EXPECT_TRUE(j.is_object());
  EXPECT_EQ(j.begin().key(), "ok") << r.out;
  EXPECT_EQ(std::next(j.begin()).key(), "command") << r.out;
  EXPECT_EQ((--j.end()).key(), "exit_code") << r.out;
  EXPECT_EQ(j["command"], command) << r.out;
  EXPECT_EQ(j["exit_code"], r.exit_code) << r.out;
  EXPECT_EQ(j["ok"], r.exit_code == 0 || r.exit_code == 3) << r.out;
  if (!j["ok"].get<bool>()) {
    EXPECT_TRUE(j["error"].is_string() && !j["error"].get<std::string>().empty()) << r.out;
    EXPECT_TRUE(j["kind"].is_string()) << r.out;
  }
  return j;
}

TEST(JsonEnvelope, UsageErrorsOfTheParserAreOneObject) {
  SchemaCheck schema;
  const std::vector<std::vector<std::string>> cases = {
      {"export", "--bogus"}, {"import"}, {"restore", "-f"}, {"prune", "--keep-last", "0"},
      {"export", "-tn", "a", "-ti", "b"}};
  for (const auto& args : cases) {
    std::vector<std::string> all = {"--json", "--data-dir", "/nonexistent", "db"};
    all.insert(all.end(), args.begin(), args.end());
    RunResult r = run_mephisto(all);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    ordered_json j = envelope(schema, r, args[0]);
    EXPECT_EQ(j["kind"], "usage") << r.out;
  }
}

TEST(JsonEnvelope, AnUnknownCommandAndNoCommandAreOneObject) {
  SchemaCheck schema;
  RunResult r = run_mephisto({"--json", "db", "nosuch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(envelope(schema, r, "nosuch")["error"].get<std::string>().find("nosuch"), std::string::npos) << r.out;
  r = run_mephisto({"--json", "db"});
  EXPECT_EQ(r.exit_code, 2);
  schema.add(r);
  ordered_json j = ordered_json::parse(r.out);
  EXPECT_TRUE(j["command"].is_null()) << r.out;
  EXPECT_EQ(j["kind"], "usage") << r.out;
}

TEST(JsonEnvelope, EveryCommandsSuccessAndFailureAndADeclinedPrompt) {
  SchemaCheck schema;
  DataAndStore d;
  make_data_dir(d.data);
  stdfs::path out = d.tmp / "out";
  auto run = [&](std::vector<std::string> args, const std::string& stdin_text = "") {
    std::vector<std::string> all = {"--json", "--data-dir", d.data.string(), "--store", d.store.string(),
                                    "--outputs-dir", out.string(), "db"};
    all.insert(all.end(), args.begin(), args.end());
    return run_mephisto(all, stdin_text);
  };
  RunResult r = run({"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string name = envelope(schema, r, "backup")["snapshot"].get<std::string>();
  for (const char* cmd : {"snapshots", "verify", "prune"}) {
    r = run({cmd});
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    envelope(schema, r, cmd);
  }
  r = run({"export"}, "yes\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string dump = envelope(schema, r, "export")["file"].get<std::string>();
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"ls", name}, {"find", "**"}, {"diff", name, "now"}, {"stats"}, {"copy", "--to", (d.tmp / "copied").string()}, {"verify", "--read-data"}, {"verify", "-f", dump}, {"backup", "--zip"}}) {
    r = run(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    envelope(schema, r, args[0]);
  }
  r = run_mephisto({"--json", "--data-dir", (d.tmp / "other").string(), "--store", (d.tmp / "other-store").string(),
                    "-y", "db", "import", "-f", dump});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  envelope(schema, r, "import");
  r = run({"restore", "-f", name}, "no\n");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(envelope(schema, r, "restore")["kind"], "declined") << r.out;
  r = run({"restore", "-f", name}, "yes\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  envelope(schema, r, "restore");
  r = run({"restore", "-f", "no_such_snapshot"}, "yes\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(envelope(schema, r, "restore")["kind"], "not_found") << r.out;
  r = run({"import", "-f", (d.tmp / "missing.zip").string()}, "yes\n");
  EXPECT_EQ(r.exit_code, 1);
  envelope(schema, r, "import");
}

}  // namespace
}  // namespace mdb::test
