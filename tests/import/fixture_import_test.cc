// Every fixture dump of the original imports into an empty data dir with the same rows. The
// partial dumps whose rows reference rows the dump lacks (defect 8) import with those references
// as they are and a warning naming each; --strict refuses them before any write. Our full export
// of such a data dir warns the same way and imports again (the round trip holds).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/import/import_util.h"

namespace mdb::test {
namespace {

// Partial dumps whose rows reference rows the dump lacks (defect 8 of the fixtures README).
bool references_rows_it_lacks(const stdfs::path& zip) {
  for (const char* stem : {"2026_11_25_15_38_01", "2026_11_25_15_38_20", "2026_11_25_15_40_35", "2026_11_25_15_43_16",
                           "2026_11_25_15_56_16"})
    if (zip.filename().string().rfind(stem, 0) == 0) return true;
  return false;
}

std::vector<std::string> args_for(const stdfs::path& zip, std::vector<std::string> extra = {}) {
  if (is_qualification_only(zip)) extra.push_back("-qo");
  return extra;
}

// `mephisto --json db import` (answering yes): the result object, and stderr.
struct JsonRun {
  int exit_code;
  nlohmann::json result;
  std::string err;
};
JsonRun json_run(const stdfs::path& data, const std::vector<std::string>& command) {
  std::vector<std::string> all = {"--data-dir", data.string(), "--outputs-dir", (data.parent_path() / "outputs").string(),
                                  "--json", "-y", "db"};
  all.insert(all.end(), command.begin(), command.end());
  RunResult r = run_mephisto(all);
  return {r.exit_code, r.out.empty() ? nlohmann::json() : nlohmann::json::parse(r.out), r.err};
}

// The --json list of dangling references, in dangling_references()'s form
// ("main.onboarding_agents.worker_id = 5 -> workers.worker_id"), sorted.
std::vector<std::string> listed(const nlohmann::json& result) {
  std::vector<std::string> out;
  for (const auto& d : result["dangling_references"]) {
    std::string db = d["db"].get<std::string>() == "mephisto" ? "main" : d["db"].get<std::string>();
    out.push_back(db + "." + d["table"].get<std::string>() + "." + d["column"].get<std::string>() + " = " +
                  d["missing"].get<std::string>() + " -> " + d["target"].get<std::string>());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// dangling_references() without its foreign_key_check lines (the same references, once more).
std::vector<std::string> dangling_values(const stdfs::path& data) {
  std::vector<std::string> out;
  for (const std::string& line : dangling_references(data))
    if (line.find("foreign_key_check") == std::string::npos) out.push_back(line);
  std::sort(out.begin(), out.end());
  return out;
}

// Dumps made by the original with -r: their repairs change some values (defect 9), so those
// columns are compared through dangling_references() instead.
bool randomized(const stdfs::path& zip) {
  for (const char* stem : {"2026_11_25_15_44_56", "2026_11_25_15_47_35", "2026_11_25_15_48_13"})
    if (zip.filename().string().rfind(stem, 0) == 0) return true;
  return false;
}

// Drops the columns a -r repair may change: prolific ids, and the references the original left
// unrewritten (onboarding task ids, review ids, prolific qualification id lists).
Rows without_repaired_columns(const Rows& rows) {
  Rows out;
  for (const auto& [table, list] : rows) {
    for (std::string row : list) {
      std::string kept;
      size_t start = 0;
      while (start <= row.size()) {
        size_t end = row.find('|', start);
        std::string field = row.substr(start, end == std::string::npos ? std::string::npos : end - start);
        std::string name = field.substr(0, field.find('='));
        bool repaired = (table.rfind("prolific.", 0) == 0 && (name == "id" || name == "qualification_ids")) ||
                        (table == "mephisto.onboarding_agents" && name == "task_id") ||
                        (table == "mephisto.worker_review" && name != "id" && name.find("_id") != std::string::npos);
        if (!repaired) kept += (kept.empty() ? "" : "|") + field;
        if (end == std::string::npos) break;
        start = end + 1;
      }
      out[table].push_back(kept);
    }
    std::sort(out[table].begin(), out[table].end());
  }
  return out;
}

TEST(FixtureImport, EveryDumpImportsIntoAnEmptyDataDirWithTheSameRows) {
  int imported = 0, with_warnings = 0;
  for (const stdfs::path& zip : fixture_dumps()) {
    SCOPED_TRACE(zip.string());
    TempDir tmp;
    stdfs::path data = tmp / "data";
    stdfs::create_directories(data);
    RunResult r = import(data, zip, args_for(zip));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("Finished successfully. Imported"), std::string::npos) << r.out;
    Rows expected = dump_rows(zip);
    expected.erase("mephisto.imported_data");
    Rows actual = datadir_rows(data);
    // Our full export of the result holds the same rows as the dump.
    stdfs::path out = export_dump(data, tmp / "out");
    Rows exported = dump_rows(out);
    if (randomized(zip)) {
      expected = without_repaired_columns(expected);
      actual = without_repaired_columns(actual);
      exported = without_repaired_columns(exported);
    }
    EXPECT_EQ(diff_rows(expected, actual), "");
    EXPECT_EQ(diff_rows(expected, exported), "");
    ++imported;
    if (!references_rows_it_lacks(zip)) {
      EXPECT_EQ(r.err, "");
      EXPECT_EQ(dangling_references(data), std::vector<std::string>{});
      continue;
    }
    ++with_warnings;
    EXPECT_NE(r.err.find("of the dump point at rows that neither the dump nor the data dir has"), std::string::npos)
        << r.err;
    EXPECT_NE(dangling_values(data), std::vector<std::string>{});  // kept as the dump has them
    // The export of that data dir warns about the same references and keeps them: the round trip
    // into another empty data dir gives the same rows again.
    JsonRun exp = json_run(data, {"export"});
    ASSERT_EQ(exp.exit_code, 0) << exp.err;
    EXPECT_NE(exp.err.find("of the exported rows point at rows the data dir does not have"), std::string::npos)
        << exp.err;
    EXPECT_EQ(listed(exp.result), dangling_values(data));
    stdfs::path again = tmp / "again";
    stdfs::create_directories(again);
    JsonRun imp = json_run(again, {"import", "-f", exp.result["file"].get<std::string>()});
    ASSERT_EQ(imp.exit_code, 0) << imp.err;
    EXPECT_EQ(listed(imp.result), dangling_values(data));
    Rows round_trip = datadir_rows(again);
    round_trip.erase("mephisto.imported_data");
    Rows first = datadir_rows(data);
    first.erase("mephisto.imported_data");
    EXPECT_EQ(diff_rows(without_bookkeeping(first), without_bookkeeping(round_trip)), "");
  }
  EXPECT_EQ(imported, 19);
  EXPECT_EQ(with_warnings, 5);
}

// --strict: the five dumps are refused before any write, listing every dangling reference.
TEST(FixtureImport, StrictRefusesTheDumpsWithReferencesThatNothingSatisfies) {
  int refused = 0;
  for (const stdfs::path& zip : fixture_dumps()) {
    if (!references_rows_it_lacks(zip)) continue;
    SCOPED_TRACE(zip.string());
    TempDir tmp;
    stdfs::path data = tmp / "data";
    stdfs::create_directories(data);
    RunResult r = import(data, zip, args_for(zip, {"--strict"}));
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("which neither the dump nor the data dir has. (--strict refuses such a dump)"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("Nothing was imported."), std::string::npos);
    EXPECT_TRUE(tree(data).empty()) << "validation must create nothing (defect 15)";
    // --json lists each of them: the ones the import without --strict keeps.
    JsonRun strict = json_run(data, {"import", "-f", zip.string(), "--strict"});
    EXPECT_EQ(strict.exit_code, 1);
    EXPECT_EQ(strict.result["ok"], false);
    JsonRun kept = json_run(data, {"import", "-f", zip.string()});
    ASSERT_EQ(kept.exit_code, 0) << kept.err;
    EXPECT_EQ(strict.result["dangling_references"], kept.result["dangling_references"]);
    EXPECT_EQ(listed(kept.result), dangling_values(data));
    ++refused;
  }
  EXPECT_EQ(refused, 5);
}

// Defect 8: the warning names the table, the row key, the column and the missing key.
TEST(FixtureImport, PartialDumpMissingAWorkerWarnsNamingTheRowAndTheReference) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  stdfs::create_directories(data);
  const stdfs::path zip = fixtures() / "s1_realistic_export/dumps/2026_11_25_15_38_01_mephisto_dump.zip";
  const std::string sentence =
      "Database `mephisto`, table `onboarding_agents`, row onboarding_agent_id 1675340788793774503, column "
      "`worker_id`: refers to workers.worker_id 4894743547486485100, which neither the dump nor the data dir has.";
  RunResult strict = import(data, zip, {"--strict"});
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.err.find(sentence), std::string::npos) << strict.err;
  EXPECT_EQ(strict.out.find("Are you sure"), std::string::npos) << "refused before the prompt";
  RunResult r = import(data, zip);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("\n  - " + sentence + "\n"), std::string::npos) << r.err;
  EXPECT_EQ(query(data / "database.db",
                  "SELECT worker_id FROM onboarding_agents WHERE onboarding_agent_id = 1675340788793774503"),
            "4894743547486485100\n");
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM workers WHERE worker_id = 4894743547486485100"), "0\n");
  // imported_data records the rows as usual: the dump's task runs under its label.
  EXPECT_EQ(query(data / "database.db",
                  "SELECT count(*) FROM imported_data WHERE table_name = 'task_runs' AND data_labels = "
                  "'[\"2026_11_25_15_38_01_mephisto_dump\"]'"),
            std::to_string(dump_rows(zip)["mephisto.task_runs"].size()) + "\n");
}

}  // namespace
}  // namespace mdb::test
