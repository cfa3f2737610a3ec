// The fixtures' import scenarios (s2_import, s6_backup_restore_and_import_errors): start from the
// pre-import backup the original made, import the same dump, compare with the original's state
// after the import: rows (dates as instants; imported_data.creation_date is the time of the run)
// and the data dir's file list. Equal, except where the spec corrects a defect of the original;
// each such difference is made explicit below with the defect number of tests/fixtures/README.md.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/import/import_util.h"

namespace mdb::test {
namespace {

const stdfs::path kS1 = fixtures() / "s1_realistic_export/dumps";
const stdfs::path kS2 = fixtures() / "s2_import";
const stdfs::path kS6 = fixtures() / "s6_backup_restore_and_import_errors";
const stdfs::path kS1nFull = fixtures() / "s1n_source_without_mturk_hits/dumps/2026_11_25_15_42_09_mephisto_dump.zip";

Rows without_import_times(Rows rows) {
  for (std::string& row : rows["mephisto.imported_data"]) row = row.substr(0, row.rfind("|creation_date="));
  std::sort(rows["mephisto.imported_data"].begin(), rows["mephisto.imported_data"].end());
  return rows;
}

// The paths of file_tree.txt ("./a/b" lines), or of a data dir (without our .mephisto-db/).
std::vector<std::string> state_files(const stdfs::path& state) {
  std::vector<std::string> out;
  std::ifstream in(state / "file_tree.txt");
  for (std::string line; std::getline(in, line);)
    if (line.size() > 2) out.push_back(line.substr(2));
  std::sort(out.begin(), out.end());
  return out;
}
std::vector<std::string> data_files(const stdfs::path& data) {
  std::vector<std::string> out;
  for (const auto& [rel, content] : tree(data))
    if (rel.rfind(".mephisto-db", 0) != 0) out.push_back(rel.back() == '/' ? rel.substr(0, rel.size() - 1) : rel);
  std::sort(out.begin(), out.end());
  return out;
}

struct Scenario {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  explicit Scenario(const char* backup, const stdfs::path& scenario = kS2) {
    unpack_backup(scenario / "backups" / backup, data);
  }
  Rows rows() { return without_import_times(datadir_rows(data)); }
};

Rows expected_rows(const stdfs::path& state) { return without_import_times(state_rows(state)); }

// Defects 1 and 2: the original stops at the first provider datastore (or crashes on mturk's
// run_mappings), so its "after" state lacks the dump's provider rows; here they are imported.
void add_provider_rows(Rows& expected, const stdfs::path& zip) {
  for (const auto& [table, rows] : dump_rows(zip))
    if (table.rfind("mephisto.", 0) != 0) {
      std::vector<std::string>& list = expected[table];
      list.insert(list.end(), rows.begin(), rows.end());
      std::sort(list.begin(), list.end());
    }
}

TEST(Scenario, B1FullDumpIntoAFreshDir) {
  Scenario s("2026_11_25_15_41_13_mephisto_backup.zip");
  stdfs::path zip = kS1 / "2026_11_25_15_36_49_mephisto_dump.zip";
  RunResult r = import(s.data, zip);
  ASSERT_EQ(r.exit_code, 0) << r.err;  // defect 1 (and 13): the original exits 0 after failing
  EXPECT_NE(r.out.find("Finished successfully. Imported 5 TaskRuns"), std::string::npos) << r.out;
  Rows expected = expected_rows(kS2 / "db_state/B1_after_import");
  add_provider_rows(expected, zip);  // defects 1, 2
  EXPECT_EQ(diff_rows(expected, s.rows()), "");
  EXPECT_EQ(data_files(s.data), state_files(kS2 / "db_state/B1_after_import"));
  EXPECT_EQ(dangling_references(s.data), std::vector<std::string>{});
}

TEST(Scenario, B2FullDumpWithMturkMappingsIntoASeededDir) {
  Scenario s("2026_11_25_15_41_40_mephisto_backup.zip");
  stdfs::path zip = kS1 / "2026_11_25_15_36_49_mephisto_dump.zip";
  RunResult r = import(s.data, zip);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Defect 2: the original crashes on mturk.run_mappings (no primary key) and rolls back to the
  // state before, leaving 117 run files (defect 4). Here the import succeeds: the state is the
  // seeded dir plus every row and file of the dump, as B3 (same seeded dir, dump without hits).
  Rows expected = expected_rows(kS2 / "db_state/B2_before_import");
  for (const auto& [table, rows] : dump_rows(zip)) {
    if (table == "mephisto.imported_data") continue;
    expected[table].insert(expected[table].end(), rows.begin(), rows.end());
    std::sort(expected[table].begin(), expected[table].end());
  }
  Rows actual = s.rows();
  actual.erase("mephisto.imported_data");
  EXPECT_EQ(diff_rows(expected, actual), "");
  EXPECT_EQ(data_files(s.data), state_files(kS2 / "db_state/B2_after_import"));  // same files, by rows now
  EXPECT_EQ(dangling_references(s.data), std::vector<std::string>{});
}

TEST(Scenario, B3PlainImportThenTheSameDumpAgain) {
  Scenario s("2026_11_25_15_42_21_mephisto_backup.zip");
  RunResult r = import(s.data, kS1nFull);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Finished successfully. Imported 5 TaskRuns"), std::string::npos) << r.out;
  EXPECT_EQ(diff_rows(expected_rows(kS2 / "db_state/B3_after_import1"), s.rows()), "");
  EXPECT_NE(diff_rows(expected_rows(kS2 / "db_state/B4_after_import"), s.rows()), "");  // the comparison can fail
  EXPECT_EQ(data_files(s.data), state_files(kS2 / "db_state/B3_after_import1"));
  // The original fails with a UNIQUE error and "Nothing was imported" (exit 0); its state stays
  // the same (B3_after_import2 == B3_after_import1). Here: nothing new, exit 0, nothing touched.
  std::map<std::string, std::string> before = tree(s.data);
  r = import(s.data, kS1nFull);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Nothing new to import: all 5 TaskRuns are already present"), std::string::npos) << r.out;
  EXPECT_EQ(tree(s.data), before);
  EXPECT_EQ(diff_rows(expected_rows(kS2 / "db_state/B3_after_import2"), s.rows()), "");
}

TEST(Scenario, B4ImportWithLabels) {
  Scenario s("2026_11_25_15_43_02_mephisto_backup.zip");
  RunResult r = import(s.data, kS1nFull, {"-l", "batch_A", "-l", "zeta label"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(diff_rows(expected_rows(kS2 / "db_state/B4_after_import"), s.rows()), "");
  EXPECT_EQ(data_files(s.data), state_files(kS2 / "db_state/B4_after_import"));
}

TEST(Scenario, B5KeepImportMetadata) {
  Scenario s("2026_11_25_15_43_43_mephisto_backup.zip");
  RunResult r = import(s.data, kS2 / "dumps/2026_11_25_15_43_27_mephisto_dump.zip", {"-k"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(diff_rows(expected_rows(kS2 / "db_state/B5_after_import"), s.rows()), "");
  EXPECT_EQ(data_files(s.data), state_files(kS2 / "db_state/B5_after_import"));
}

TEST(Scenario, PPartialDumpMissingRowsIsRefusedWithStrictAndImportedWithAWarningWithout) {
  Scenario s("2026_11_25_15_54_30_mephisto_backup.zip");
  std::map<std::string, std::string> before = tree(s.data);
  const stdfs::path zip = kS1 / "2026_11_25_15_38_01_mephisto_dump.zip";
  RunResult r = import(s.data, zip, {"--strict"});
  // Defect 8 (and 13): the original fails on a foreign key and exits 0; with --strict the dump is
  // refused before anything is written, exit 1. The original's rollback ends in the same rows.
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(tree(s.data), before);
  EXPECT_EQ(diff_rows(expected_rows(kS2 / "db_state/P_after_partial_import"), s.rows()), "");
  EXPECT_EQ(data_files(s.data), state_files(kS2 / "db_state/P_after_partial_import"));
  // Without --strict: imported, the onboarding agent keeping its reference to the missing worker
  // (import.md "References that nothing satisfies"), with a warning naming it.
  r = import(s.data, zip);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("table `onboarding_agents`, row onboarding_agent_id 1675340788793774503, column `worker_id`: "
                       "refers to workers.worker_id 4894743547486485100"),
            std::string::npos)
      << r.err;
  Rows after = s.rows();
  for (const auto& [table, rows] : dump_rows(zip)) {
    if (table == "mephisto.imported_data") continue;
    EXPECT_GE(after[table].size(), rows.size()) << table;
  }
  std::vector<std::string> dangling = dangling_references(s.data);
  EXPECT_NE(std::find(dangling.begin(), dangling.end(),
                      "main.onboarding_agents.worker_id = 4894743547486485100 -> workers.worker_id"),
            dangling.end());
}

TEST(Scenario, IBadColumnInOneProviderTableIsRefusedWholly) {
  Scenario s("2026_11_25_15_53_19_mephisto_backup.zip", kS6);
  std::map<std::string, std::string> before = tree(s.data);
  RunResult r = import(s.data, kS6 / "tampered_dumps/tamper_prolific_bad_column.zip", {"-v", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not have column 'bogus_column' in table 'studies'"), std::string::npos) << r.err;
  // Defect 4: the original imports three databases, fails on prolific, restores its backup over
  // the data dir and leaves 53 unpacked run files behind. Here nothing is written at all.
  EXPECT_EQ(tree(s.data), before);
  Rows expected = expected_rows(kS6 / "db_state/I_after_badcolumn_import");
  EXPECT_EQ(diff_rows(expected, s.rows()), "");
  std::vector<std::string> stray = state_files(kS6 / "db_state/I_after_badcolumn_import");
  EXPECT_EQ(stray.size(), 60u);  // the original's state: 7 entries + 53 stray run files
  EXPECT_EQ(data_files(s.data), state_files(kS6 / "db_state/I_before_badcolumn_import"));
}

TEST(Scenario, QQualificationOnlyImportsIntoAFreshDir) {
  Scenario s("2026_11_25_15_53_39_mephisto_backup.zip", kS6);
  RunResult r = import(s.data, kS1 / "2026_11_25_15_39_00_mephisto_dump.zip", {"--qualification-only"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Finished successfully. Imported 9 Workers, 3 Qualifications, 6 GrantedQualifications"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(diff_rows(expected_rows(kS6 / "db_state/Q_after_qo_import"), s.rows()), "");
  // The second dump is a subset of the first: every row is already present, unchanged. The
  // original still reports "Imported 4 Workers, 2 Qualifications, 4 GrantedQualifications" and
  // adds 10 imported_data rows labelled "_"; here nothing new is imported and nothing changes
  // (import.md: "changes nothing at all (not even imported_data)").
  std::map<std::string, std::string> before = tree(s.data);
  r = import(s.data, kS1 / "2026_11_25_15_39_06_mephisto_dump.zip", {"-qo"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Nothing new to import: all 4 Workers, 2 Qualifications, 4 GrantedQualifications are already "
                       "present"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(tree(s.data), before);
  Rows expected = expected_rows(kS6 / "db_state/Q_after_qo_import2");
  std::vector<std::string>& imported = expected["mephisto.imported_data"];
  imported.erase(std::remove_if(imported.begin(), imported.end(),
                                [](const std::string& row) { return row.find("15_39_06") != std::string::npos; }),
                 imported.end());
  EXPECT_EQ(diff_rows(expected, s.rows()), "");
}

// s4: dumps the original made with -r from a legacy dir. It left references to legacy ids
// unrewritten (defect 9); they are repaired through the dump's pk_substitutions.
const stdfs::path kS4 = fixtures() / "s4_legacy";

std::string substitute(const stdfs::path& zip, const std::string& table, const std::string& old) {
  TempDir tmp;
  unzip_to(zip, tmp.path());
  nlohmann::json j = nlohmann::json::parse(read(tmp / (zip.stem().string() + ".json")));
  return j["dump_metadata"]["pk_substitutions"]["mephisto"][table][old].get<std::string>();
}

// In `table`'s expected rows, the field `field=from` becomes `field=to`.
void repaired(Rows& rows, const std::string& table, const std::string& from, const std::string& to) {
  for (std::string& row : rows[table])
    for (size_t at = row.find(from); at != std::string::npos; at = row.find(from, at + to.size()))
      if ((at == 0 || row[at - 1] == '|') && (at + from.size() == row.size() || row[at + from.size()] == '|'))
        row.replace(at, from.size(), to);
  std::sort(rows[table].begin(), rows[table].end());
}

std::vector<std::string> renamed(std::vector<std::string> files, const std::string& from, const std::string& to) {
  for (std::string& f : files)
    if (size_t at = f.find(from); at != std::string::npos) f.replace(at, from.size(), to);
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Scenario, DLegacyRandomizedDumpIntoASeededDir) {
  Scenario s("2026_11_25_15_47_52_mephisto_backup.zip", kS4);
  stdfs::path zip = kS4 / "dumps/2026_11_25_15_47_35_mephisto_dump.zip";
  RunResult r = import(s.data, zip);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Finished successfully. Imported 2 TaskRuns"), std::string::npos) << r.out;
  // Defect 9: the original leaves the references below at legacy ids (rows that do not exist
  // here) and the onboarding dir at onboarding_1; all follow pk_substitutions here.
  std::string task = substitute(zip, "tasks", "1"), onboarding = substitute(zip, "onboarding_agents", "1");
  std::string qual1 = substitute(zip, "qualifications", "1"), qual2 = substitute(zip, "qualifications", "2");
  Rows expected = expected_rows(kS4 / "db_state/D_after_import");
  repaired(expected, "mephisto.onboarding_agents", "task_id=1", "task_id=" + task);
  repaired(expected, "mephisto.worker_review", "updated_qualification_id=1", "updated_qualification_id=" + qual1);
  repaired(expected, "mephisto.worker_review", "updated_qualification_id=2", "updated_qualification_id=" + qual2);
  repaired(expected, "prolific.qualifications", "qualification_ids='[2]'", "qualification_ids='[" + qual2 + "]'");
  EXPECT_EQ(diff_rows(expected, s.rows()), "");
  EXPECT_EQ(data_files(s.data),
            renamed(state_files(kS4 / "db_state/D_after_import"), "onboarding_1", "onboarding_" + onboarding));
  EXPECT_EQ(dangling_references(s.data), std::vector<std::string>{});
}

TEST(Scenario, EMixedLegacyRandomizedDumpWithUnrewrittenReviews) {
  Scenario s("2026_11_25_15_48_30_mephisto_backup.zip", kS4);
  stdfs::path zip = kS4 / "dumps/2026_11_25_15_48_13_mephisto_dump.zip";
  RunResult r = import(s.data, zip);
  // Defect 9: the original's -r left worker_review's references at legacy ids, so its import fails
  // on a foreign key and rolls back (E_after_import == E_before_import). Repaired here: it imports.
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(diff_rows(expected_rows(kS4 / "db_state/E_before_import"), expected_rows(kS4 / "db_state/E_after_import")),
            "");
  Rows actual = s.rows();
  EXPECT_EQ(actual["mephisto.worker_review"].size(), 2u);
  EXPECT_EQ(actual["mephisto.task_runs"].size(), 2u);
  EXPECT_EQ(dangling_references(s.data), std::vector<std::string>{});
}

// The original's -r dump of s1n (15_44_56) replaced every prolific id, none of them a legacy id
// (defect 9). The import gives each its pre-`-r` value back from pk_substitutions and says so in
// its summary; the plain dump of the same data dir (15_42_09) then finds those rows already here.
TEST(Scenario, TheOriginalsRandomizedDumpGetsItsNeedlesslyReplacedIdsBack) {
  const stdfs::path zip = fixtures() / "s1n_source_without_mturk_hits/dumps/2026_11_25_15_44_56_mephisto_dump.zip";
  nlohmann::ordered_json subs;
  {
    TempDir unpacked;
    unzip_to(zip, unpacked.path());
    subs = nlohmann::ordered_json::parse(read(unpacked / (zip.stem().string() + ".json")))["dump_metadata"]
                                                                                          ["pk_substitutions"];
  }
  int64_t total = 0;
  std::string tables;
  nlohmann::ordered_json counts = nlohmann::ordered_json::object();
  for (const auto& [table, pairs] : subs["prolific"].items()) {
    total += static_cast<int64_t>(pairs.size());
    tables += (tables.empty() ? "" : ", ") + ("prolific." + table) + " " + std::to_string(pairs.size());
    counts["prolific." + table] = pairs.size();
  }
  EXPECT_EQ(total, 15);

  TempDir tmp;
  stdfs::path data = tmp / "data";
  stdfs::create_directories(data);
  RunResult r = import(data, zip);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\nGave " + std::to_string(total) +
                       " ids back the value they had before the original's -r, which replaced them although they "
                       "were not legacy ids (its pk_substitutions): " + tables + ".\n"),
            std::string::npos)
      << r.out;
  for (const auto& [table, pairs] : subs["prolific"].items()) {
    std::vector<int64_t> before;
    for (const auto& [old, fresh] : pairs.items()) before.push_back(std::stoll(old));
    std::sort(before.begin(), before.end());
    std::string expected;
    for (int64_t id : before) expected += std::to_string(id) + "\n";
    EXPECT_EQ(query(data / "prolific/prolific.db", "SELECT id FROM " + table + " ORDER BY id"), expected) << table;
  }
  // Mephisto's legacy ids keep their new values: those substitutions were needed.
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM qualifications WHERE qualification_id < 1000000"), "0\n");
  EXPECT_EQ(dangling_references(data), std::vector<std::string>{});

  // The plain dump of the same data dir: its prolific rows are the ones already here.
  RunResult plain = import(data, kS1nFull);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  for (const auto& [table, pairs] : subs["prolific"].items()) {
    EXPECT_EQ(query(data / "prolific/prolific.db", "SELECT count(*) FROM " + table),
              std::to_string(dump_rows(kS1nFull)["prolific." + table].size()) + "\n")
        << table;
  }

  // --json carries the same counts.
  TempDir tmp2;
  stdfs::create_directories(tmp2 / "data");
  RunResult json = run_mephisto({"--data-dir", (tmp2 / "data").string(), "--outputs-dir", (tmp2 / "out").string(),
                                 "--json", "-y", "db", "import", "-f", zip.string()});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(nlohmann::ordered_json::parse(json.out)["restored_ids"], counts);
}

}  // namespace
}  // namespace mdb::test
