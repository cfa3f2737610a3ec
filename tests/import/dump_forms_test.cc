// The forms a dump and a data dir come in: our dumps read through their Cap'n Proto half (and the
// JSON, with a warning, once the JSON was edited; file hashes checked), older data-porter dumps
// (unit_review, created_at, no qualifications.description), and data dirs that lack the original's
// migrations (migrated inside the import's transaction, and said so).
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "formats/zip.h"
#include "platform/sqlite.h"
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

// issue 10.7: the JSON hash the half records lives inside the half, so it vouches for nothing. A half
// whose rows were altered (the JSON untouched) is not used: the rows come from the JSON, and the
// user is told why, on stderr and in --json.
TEST_F(OurDump, AnAlteredCapnpHalfIsNotTrustedTheJsonIsImported) {
  bool altered = false;
  stdfs::path tampered = rewritten(dump_, tmp_ / "tampered" / dump_.filename(), [&](const std::string& name, std::string& data) {
    if (name.find('/') != std::string::npos || name.find(".capnp") == std::string::npos) return;
    size_t at = data.find("visual_qa");
    while (at != std::string::npos && at >= 5 && data.compare(at - 5, 5, "runs/") == 0)  // a file record's path
      at = data.find("visual_qa", at + 1);
    ASSERT_NE(at, std::string::npos);
    data.replace(at, 9, "visual_QA");
    altered = true;
  });
  ASSERT_TRUE(altered);
  RunResult r = run_mephisto({"--data-dir", data_.string(), "--json", "-y", "db", "import", "-f", tampered.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["rows_from"], "json") << r.out;
  std::string why = out.value("rows_from_reason", "");
  EXPECT_NE(why.find("does not match the JSON member"), std::string::npos) << why;
  EXPECT_NE(why.find("table mephisto.projects, row "), std::string::npos) << why;
  EXPECT_NE(r.err.find("Warning: " + tampered.filename().string() + ": " + why +
                       "; importing the rows from the JSON."),
            std::string::npos)
      << r.err;
  EXPECT_EQ(query(data_ / "database.db", "SELECT count(*) FROM projects WHERE project_name = 'visual_qa'"), "1\n");
  EXPECT_EQ(query(data_ / "database.db", "SELECT count(*) FROM projects WHERE project_name = 'visual_QA'"), "0\n");
}

// The half is checked against the JSON on a thread of its own while the rows load (dump_render.h,
// HalfCheckBeside). Whether it differs from the JSON or cannot be read at all, the import falls back
// to the JSON, and says why in the same words with one thread or several.
TEST_F(OurDump, AHalfThatDiffersOrIsCutShortIsReportedAlikeWithOneThreadOrMore) {
  stdfs::path cut = rewritten(dump_, tmp_ / "cut" / dump_.filename(), [](const std::string& name, std::string& data) {
    if (name.find('/') == std::string::npos && name.find(".capnp") != std::string::npos) data.resize(data.size() / 2);
  });
  auto half_edited = [&](const std::string& dir, const std::function<size_t(const std::string&)>& where) {
    return rewritten(dump_, tmp_ / dir / dump_.filename(), [&](const std::string& name, std::string& data) {
      if (name.find('/') != std::string::npos || name.find(".capnp") == std::string::npos) return;
      size_t at = where(data);
      ASSERT_NE(at, std::string::npos);
      data[at] = data[at] == 'a' ? 'b' : 'a';
    });
  };
  // A project's name (among the first rows: the loading stops at once), and the dump_metadata's
  // date (last: the rows are all loaded before the check finds it).
  stdfs::path early = half_edited("early", [](const std::string& data) {
    size_t at = data.find("visual_qa");
    while (at != std::string::npos && at >= 5 && data.compare(at - 5, 5, "runs/") == 0) at = data.find("visual_qa", at + 1);
    return at;
  });
  stdfs::path late = half_edited("late", [](const std::string& data) { return data.rfind("\"2") + 1; });
  for (const auto& [zip, why] : {std::pair{cut, std::string("cannot be read")},
                                 std::pair{early, std::string("first differ in table mephisto.projects, row ")},
                                 std::pair{late, std::string("first differ in dump_metadata")}}) {
    std::string first;
    for (const char* threads : {"1", "2"}) {
      TempDir into;
      stdfs::create_directories(into / "data");
      RunResult r = run_mephisto({"--data-dir", (into / "data").string(), "--json", "-y", "db", "import", "-f", zip.string()},
                                 "", {{"MDB_THREADS", threads}});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      nlohmann::json out = nlohmann::json::parse(r.out);
      EXPECT_EQ(out["rows_from"], "json") << r.out;
      std::string reason = out.value("rows_from_reason", "");
      EXPECT_NE(reason.find(why), std::string::npos) << reason;
      if (first.empty()) first = reason;
      EXPECT_EQ(reason, first) << "MDB_THREADS=" << threads;
      EXPECT_EQ(query(into / "data" / "database.db", "SELECT count(*) FROM units"),
                query(tmp_ / "a" / "database.db", "SELECT count(*) FROM units"));
    }
  }
}

// issue 10.8: a NaN in the Cap'n Proto half (as a Float64, the JSON saying NaN too, so the half is
// used) is refused at validation like one in the JSON, naming the half. Every pay_amount is 0.5, so
// the JSON keeps its size with "NaN" and the first 0.5 of the half is the first unit's.
TEST(OurDumpForms, NanInTheCapnpHalfIsRefusedAtValidation) {
  TempDir tmp;
  make_sample(tmp / "a", 11);
  {
    sql::Db db = sql::Db::open(tmp / "a" / "database.db", SQLITE_OPEN_READWRITE);
    db.exec("UPDATE units SET pay_amount = 0.5");
  }
  stdfs::path dump = export_dump(tmp / "a", tmp / "out");
  std::string capnp_name = dump.stem().string() + ".capnp", json_name = dump.stem().string() + ".json";
  std::string unit;
  stdfs::path nan = rewritten(dump, tmp / "nan" / dump.filename(), [&](const std::string& name, std::string& data) {
    if (name == json_name) {
      unit = nlohmann::json::parse(data)["mephisto"]["units"][0]["unit_id"];
      size_t at = data.find("\"pay_amount\": 0.5,");
      ASSERT_NE(at, std::string::npos);
      data.replace(at + 14, 3, "NaN");
    } else if (name == capnp_name) {
      double half = 0.5, q = std::numeric_limits<double>::quiet_NaN();
      std::string bits(sizeof half, '\0'), nan_bits(sizeof q, '\0');
      std::memcpy(bits.data(), &half, sizeof half);
      std::memcpy(nan_bits.data(), &q, sizeof q);
      size_t at = data.find(bits);
      ASSERT_NE(at, std::string::npos);
      data.replace(at, bits.size(), nan_bits);
    }
  });
  stdfs::path data = tmp / "b";
  stdfs::create_directories(data);
  std::map<std::string, std::string> before = logical_tree(data);
  RunResult r = import(data, nan);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find(capnp_name + ": Database `mephisto`, table `units`, row 0 (unit_id " + unit +
                       "), column `pay_amount`: NaN is not a number a database can store"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("Warning"), std::string::npos) << "the half was not used: " << r.err;
  EXPECT_EQ(logical_tree(data), before);
}

// The half is used for every indent the export writes, and for a database without tables
// (`"inhouse": {}`, an empty-database message in the half).
TEST(OurDumpForms, EveryIndentAndAnEmptyDatabaseReadThroughTheHalf) {
  TempDir tmp;
  make_sample(tmp / "a", 5);
  {
    sql::Db db = sql::Db::open(tmp / "a" / "database.db", SQLITE_OPEN_READWRITE);
    db.exec("INSERT INTO requesters (requester_id, requester_name, provider_type) VALUES (5000001, 'in_house', "
            "'inhouse')");
  }
  for (std::string indent : {"0", "2", "5"}) {
    SCOPED_TRACE("-i " + indent);
    stdfs::path zip = export_dump(tmp / "a", tmp / ("out" + indent), {"-i", indent});
    zip::Reader reader(zip);
    std::optional<zip::Entry> json = reader.find(zip.stem().string() + ".json");
    ASSERT_TRUE(json);
    EXPECT_NE(reader.read(*json, 1 << 30).find("\"inhouse\": {}"), std::string::npos);
    stdfs::path data = tmp / ("data" + indent);
    stdfs::create_directories(data);
    RunResult r = run_mephisto({"--data-dir", data.string(), "--json", "-y", "db", "import", "-f", zip.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("Warning"), std::string::npos) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["rows_from"], "capnp") << r.out;
    EXPECT_EQ(query(data / "database.db", "SELECT count(*) FROM requesters WHERE provider_type = 'inhouse'"), "1\n");
  }
}

TEST_F(OurDump, ARunFileThatDoesNotMatchItsRecordedHashIsRefused) {
  std::string changed;  // one agent_data.json, named in the refusal
  stdfs::path damaged = rewritten(dump_, tmp_ / "damaged" / dump_.filename(), [&](const std::string& name, std::string& data) {
    if (name.rfind("runs/", 0) == 0 && name.find("agent_data.json") != std::string::npos && !data.empty()) {
      if (!changed.empty()) return;
      data[0] ^= 1;
      changed = name;
    }
  });
  ASSERT_FALSE(changed.empty());
  std::map<std::string, std::string> before = logical_tree(data_);
  RunResult r = import(data_, damaged);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("The file " + changed + " of " + damaged.filename().string() +
                       " does not have the content its Cap'n Proto half records"),
            std::string::npos)
      << r.err;
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
  const stdfs::path partial = fixtures() / "s1_realistic_export/dumps/2026_11_25_15_38_01_mephisto_dump.zip";
  RunResult refused = import(untouched, partial, {"--strict"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(tree(untouched), before);
  // Without --strict it imports: migrated, and the reference nothing satisfies kept as it is (the
  // foreign keys are checked before the commit, that one excepted).
  RunResult kept = import(untouched, partial);
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_NE(kept.out.find("Applied Mephisto's migrations"), std::string::npos) << kept.out;
  EXPECT_EQ(query(untouched / "database.db", "SELECT count(*) FROM pragma_foreign_key_check"), "1\n");
  EXPECT_EQ(query(untouched / "database.db", "SELECT \"table\", parent FROM pragma_foreign_key_check"),
            "onboarding_agents|workers\n");
}

}  // namespace
}  // namespace mdb::test
