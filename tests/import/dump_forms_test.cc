// The forms a dump and a data dir come in: our dumps read through their Cap'n Proto half (and the
// JSON, with a warning, once the JSON was edited; file hashes checked), older data-porter dumps
// (unit_review, created_at, no qualifications.description), and data dirs that lack the original's
// migrations (migrated inside the import's transaction, and said so).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "formats/zip.h"
#include "store/sqlite.h"
#include "tests/import/import_util.h"

namespace mdb::test {
namespace {

const stdfs::path kS1nFull = fixtures() / "s1n_source_without_mturk_hits/dumps/2026_11_25_15_42_09_mephisto_dump.zip";

// A copy of `zip` as a stored zip, with `edit` applied to each member's bytes.
stdfs::path rewritten(const stdfs::path& zip, const stdfs::path& out,
                      const std::function<void(const std::string& name, std::string& data)>& edit) {
  zip::Reader reader(zip);
  std::vector<RawZipMember> members;
  for (const zip::Entry& e : reader.entries()) {
    if (e.is_directory) continue;
    std::string data = reader.read(e, 1 << 30);
    edit(e.name, data);
    members.emplace_back(e.name, data);
  }
  write(out, raw_zip(members));
  return out;
}

class OurDump : public ::testing::Test {
 protected:
  void SetUp() override {
    make_sample(tmp_ / "a", 11);
    dump_ = export_dump(tmp_ / "a", tmp_ / "out");
    stdfs::create_directories(data_);
  }
  TempDir tmp_;
  stdfs::path dump_, data_ = tmp_ / "b";
};

TEST_F(OurDump, CapnpHalfIsUsedWhileTheJsonIsUnchanged) {
  RunResult r = run_mephisto({"--data-dir", data_.string(), "--json", "-y", "db", "import", "-f", dump_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("Warning"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["rows_from"], "capnp") << r.out;
  // The original's dumps have no Cap'n Proto half.
  TempDir other;
  stdfs::create_directories(other / "data");
  RunResult original = run_mephisto({"--data-dir", (other / "data").string(), "--json", "-y", "db", "import", "-f",
                                     kS1nFull.string()});
  ASSERT_EQ(original.exit_code, 0) << original.err;
  EXPECT_EQ(nlohmann::json::parse(original.out)["rows_from"], "json") << original.out;
}

TEST_F(OurDump, AnEditedJsonIsImportedWithAWarning) {
  // Rename a project in the JSON only: the rows come from the JSON, so the new name is imported.
  stdfs::path edited = rewritten(dump_, tmp_ / "edited" / dump_.filename(), [](const std::string& name, std::string& data) {
    if (name.find('/') == std::string::npos && name.compare(name.size() - 5, 5, ".json") == 0) {
      size_t at = data.find("visual_qa");
      ASSERT_NE(at, std::string::npos);
      data.replace(at, 9, "visual_QA");
    }
  });
  RunResult r = import(data_, edited);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("was changed after the export"), std::string::npos) << r.err;
  EXPECT_EQ(query(data_ / "database.db", "SELECT count(*) FROM projects WHERE project_name = 'visual_QA'"), "1\n");
}

TEST_F(OurDump, ARunFileThatDoesNotMatchItsRecordedHashIsRefused) {
  stdfs::path damaged = rewritten(dump_, tmp_ / "damaged" / dump_.filename(), [](const std::string& name, std::string& data) {
    if (name.rfind("runs/", 0) == 0 && name.find("agent_data.json") != std::string::npos && !data.empty()) data[0] ^= 1;
  });
  std::map<std::string, std::string> before = logical_tree(data_);
  RunResult r = import(data_, damaged);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("does not have the content its Cap'n Proto half records"), std::string::npos) << r.err;
  EXPECT_EQ(logical_tree(data_), before);
}

// v1.4.0/v1.5.0 porter dumps: reviews in unit_review with created_at, no qualifications.description.
TEST(OlderDump, UnitReviewRowsGoToWorkerReviewAsTheMigrationWould) {
  TempDir tmp;
  stdfs::path old = rewritten(kS1nFull, tmp / "2026_11_25_15_42_09_mephisto_dump.zip",
                              [](const std::string& name, std::string& data) {
                                if (name.find('/') != std::string::npos || name.find(".json") == std::string::npos) return;
                                nlohmann::ordered_json j = nlohmann::ordered_json::parse(data);
                                auto& m = j["mephisto"];
                                nlohmann::ordered_json reviews = nlohmann::ordered_json::array();
                                for (auto row : m["worker_review"]) {
                                  nlohmann::ordered_json r;
                                  for (auto& [k, v] : row.items()) r[k == "creation_date" ? "created_at" : k] = v;
                                  reviews.push_back(r);
                                }
                                m.erase("worker_review");
                                m["unit_review"] = reviews;
                                for (auto& q : m["qualifications"]) q.erase("description");
                                data = j.dump(2);
                              });
  stdfs::path data = tmp / "data";
  stdfs::create_directories(data);
  RunResult r = import(data, old);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM worker_review"), "12\n");
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM worker_review WHERE creation_date IS NULL"), "0\n");
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM qualifications WHERE description IS NULL"), "3\n");
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM unit_review"), "0\n");
}

// A legacy data dir (no migrations): migrated in the import's transaction, and the output says so.
TEST(LegacyDataDir, IsMigratedInsideTheImport) {
  TempDir tmp;
  stdfs::path data = tmp / "data";
  make_sample(data, 3, {"--legacy"});
  RunResult r = import(data, kS1nFull);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Applied Mephisto's migrations 20240418_data_porter_feature, 20241002_modify_qualifications to "
                       "database.db"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("to prolific/prolific.db"), std::string::npos) << r.out;
  EXPECT_EQ(query(data / "database.db", "SELECT name FROM migrations ORDER BY id"),
            "20240418_data_porter_feature\n20241002_modify_qualifications\n");
  EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM sqlite_master WHERE name = 'unit_review'"), "0\n");
  EXPECT_EQ(dangling_references(data), std::vector<std::string>{});
  // A refused import of the same kind changes nothing, not even the schema.
  TempDir other;
  stdfs::path untouched = other / "data";
  make_sample(untouched, 3, {"--legacy"});
  std::map<std::string, std::string> before = tree(untouched);
  RunResult refused = import(untouched, fixtures() / "s1_realistic_export/dumps/2026_11_25_15_38_01_mephisto_dump.zip");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(tree(untouched), before);
}

}  // namespace
}  // namespace mdb::test
