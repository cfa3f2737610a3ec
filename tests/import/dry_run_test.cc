// import --dry-run through the real binary (docs/cli.md): the import's own checks and plan,
// reported per table (rows to insert, merge, give new ids) and for the run files, with nothing
// changed, no snapshot taken and no journal written; the real import that follows does exactly
// what the dry run said. Every --json object is validated against docs/json-schema.json.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/import/import_util.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using Json = nlohmann::json;

const stdfs::path kSeeded = fixtures() / "s2_import/backups/2026_11_25_15_41_40_mephisto_backup.zip";
const stdfs::path kDump = fixtures() / "s1_realistic_export/dumps/2026_11_25_15_36_49_mephisto_dump.zip";

// The data dir without our own folder, as bytes.
std::map<std::string, std::string> user_tree(const stdfs::path& data) {
  std::map<std::string, std::string> t = tree(data);
  std::erase_if(t, [](const auto& kv) { return kv.first.rfind(".mephisto-db", 0) == 0; });
  return t;
}

// A dry run, then the real import: the same tables, task runs and files.
void check_dry_run_then_import(const stdfs::path& data, const stdfs::path& zip, SchemaCheck& schema,
                               int64_t* remapped = nullptr) {
  auto before = user_tree(data);
  stdfs::path store = data.parent_path() / "outputs" / "store";
  bool had_store = stdfs::exists(store);
  RunResult r = import(data, zip, {"--json", "--dry-run"});
  schema.add(r);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  Json dry = Json::parse(r.out);
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(user_tree(data), before) << "a dry run changed the data dir";
  EXPECT_EQ(stdfs::exists(store), had_store) << "a dry run made a store (a snapshot)";
  EXPECT_FALSE(stdfs::exists(data / ".mephisto-db" / "journal"));

  RunResult text = import(data, zip, {"--dry-run"});
  EXPECT_NE(text.out.find("Dry run: nothing was changed."), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("  files to add: " + std::to_string(dry["files"].get<int64_t>()) + " ("), std::string::npos)
      << text.out;

  r = import(data, zip, {"--json"});
  schema.add(r);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  Json real = Json::parse(r.out);
  EXPECT_EQ(real["tables"], dry["tables"]);
  EXPECT_EQ(real["task_runs"], dry["task_runs"]);
  EXPECT_EQ(real["files"], dry["files"]);
  EXPECT_EQ(real["checked_again"], false) << "no database changed since the checks, yet they ran again";
  EXPECT_GT(dry["task_runs"].get<int64_t>(), 0);
  if (remapped)
    for (const Json& t : dry["tables"]) *remapped += t["remapped"].get<int64_t>();
}

TEST(ImportDryRun, ReportsWhatTheImportThenDoesIntoASeededDir) {
  TempDir tmp;
  SchemaCheck schema;
  unpack_backup(kSeeded, tmp / "data");
  check_dry_run_then_import(tmp / "data", kDump, schema);
}

TEST(ImportDryRun, CountsTheRowsGivenNewIds) {
  TempDir tmp;
  SchemaCheck schema;
  make_sample(tmp / "a", 1);
  stdfs::path zip = export_dump(tmp / "a", tmp / "a-out");
  make_sample(tmp / "data", 2);
  int64_t remapped = 0;
  check_dry_run_then_import(tmp / "data", zip, schema, &remapped);
  EXPECT_GT(remapped, 0) << "the samples' ids should clash";
}

}  // namespace
}  // namespace mdb::test
