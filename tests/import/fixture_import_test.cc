// Every fixture dump of the original imports into an empty data dir with the same rows; partial
// dumps the original made unimportable (defect 8) are refused before any write.
#include <gtest/gtest.h>

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
  int imported = 0, refused = 0;
  for (const stdfs::path& zip : fixture_dumps()) {
    SCOPED_TRACE(zip.string());
    TempDir tmp;
    stdfs::path data = tmp / "data";
    stdfs::create_directories(data);
    RunResult r = import(data, zip, is_qualification_only(zip) ? std::vector<std::string>{"-qo"} : std::vector<std::string>{});
    if (references_rows_it_lacks(zip)) {
      EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
      EXPECT_NE(r.err.find("neither the dump nor the data dir has"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("Nothing was imported."), std::string::npos);
      EXPECT_TRUE(tree(data).empty()) << "validation must create nothing (defect 15)";
      ++refused;
      continue;
    }
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("Finished successfully. Imported"), std::string::npos) << r.out;
    Rows expected = dump_rows(zip);
    expected.erase("mephisto.imported_data");
    Rows actual = datadir_rows(data);
    // Our full export of the result holds the same rows as the dump.
    Rows exported = dump_rows(export_dump(data, tmp / "out"));
    if (randomized(zip)) {
      expected = without_repaired_columns(expected);
      actual = without_repaired_columns(actual);
      exported = without_repaired_columns(exported);
    }
    EXPECT_EQ(diff_rows(expected, actual), "");
    EXPECT_EQ(diff_rows(expected, exported), "");
    EXPECT_EQ(dangling_references(data), std::vector<std::string>{});
    ++imported;
  }
  EXPECT_EQ(imported, 14);
  EXPECT_EQ(refused, 5);
}

// Defect 8: the message names the table, the row key and the missing reference.
TEST(FixtureImport, PartialDumpMissingAWorkerIsRefusedNamingTheRowAndTheReference) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  stdfs::create_directories(data);
  RunResult r = import(data, fixtures() / "s1_realistic_export/dumps/2026_11_25_15_38_01_mephisto_dump.zip");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("table `onboarding_agents`, row onboarding_agent_id 1675340788793774503, column `worker_id`: "
                       "refers to workers.worker_id 4894743547486485100, which neither the dump nor the data dir has."),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("Are you sure"), std::string::npos) << "refused before the prompt";
}

}  // namespace
}  // namespace mdb::test
