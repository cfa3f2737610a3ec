// Export against the original's own artifacts (fixtures s1 and s4): the full dump byte for byte,
// the partial dumps row for row (ours hold theirs plus the closure rows, and drop exactly the rows
// that would dangle), the output lines, every error case, and -r on a legacy data dir.
#include <gtest/gtest.h>

#include <cstring>
#include <regex>
#include <set>
#include <sstream>

#include "formats/hash.h"
#include "formats/capnp_dump.h"
#include "platform/sqlite.h"
#include "tests/export/export_support.h"

namespace mdb::test {
namespace {

stdfs::path original_dump(const std::string& stamp) {
  return fixtures() / "s1_realistic_export" / "dumps" / (stamp + "_mephisto_dump.zip");
}

class S1 : public ::testing::Test {
 protected:
  void SetUp() override { data_ = unpack(s1_backup(), tmp_.path()); }
  stdfs::path out(const std::string& name) const { return tmp_ / name; }
  // Runs one export into a fresh outputs dir and reads the dump back.
  Dump run_export(const std::vector<std::string>& args, const std::string& name) {
    RunResult r = export_dump(data_, out(name), args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::vector<stdfs::path> zips = dump_zips(out(name));
    if (zips.size() != 1) throw std::runtime_error("expected one zip for " + name);
    return read_dump(zips[0]);
  }
  TempDir tmp_;
  stdfs::path data_;
};

TEST_F(S1, FullDumpJsonIsByteIdenticalToTheOriginalsExceptTheTimestamp) {
  for (const auto& [indent, stamp] : std::vector<std::pair<std::string, std::string>>{
           {"2", "2026_11_25_15_36_49"}, {"0", "2026_11_25_15_37_42"}, {"4", "2026_11_25_15_37_51"}}) {
    SCOPED_TRACE("-i " + indent);
    Dump ours = run_export({"-i", indent}, "out" + indent);
    Dump theirs = read_dump(original_dump(stamp));
    EXPECT_NE(ours.json_text, theirs.json_text);                                        // the timestamps differ ...
    EXPECT_EQ(without_timestamp(ours.json_text), without_timestamp(theirs.json_text));  // ... and nothing else
    EXPECT_EQ(ours.files, theirs.files);
  }
}

TEST_F(S1, FullDumpZipHasDirectoryEntriesModesAndAHeaderListingEveryFile) {
  Dump d = run_export({}, "out");
  Dump theirs = read_dump(original_dump("2026_11_25_15_36_49"));
  std::set<std::string> ours_dirs(d.directories.begin(), d.directories.end());
  std::set<std::string> their_dirs(theirs.directories.begin(), theirs.directories.end());
  EXPECT_EQ(ours_dirs, their_dirs);
  for (const auto& [name, mode] : d.modes) EXPECT_EQ(mode, name.back() == '/' ? 040755u : 0100644u) << name;

  struct Header : capnp_dump::StreamVisitor {
    capnp_dump::Header h;
    std::map<std::string, capnp_dump::FileRecord> files;
    size_t rows = 0;
    void header(const capnp_dump::Header& x) override { h = x; }
    void file(const capnp_dump::FileRecord& f) override { files[f.path] = f; }
    void row(std::string_view, std::string_view, size_t, const std::vector<std::string>&, Row&) override { ++rows; }
  } v;
  size_t pos = 0;
  capnp_dump::read_stream(
      [&](char* buf, size_t n) {
        size_t k = std::min(n, d.capnp.size() - pos);
        std::memcpy(buf, d.capnp.data() + pos, k);
        pos += k;
        return k;
      },
      v, "capnp");
  EXPECT_EQ(v.h.json_member, d.stem + ".json");
  EXPECT_EQ(v.h.json_size, d.json_text.size());
  EXPECT_EQ(v.h.json_hash, store::xxh128(d.json_text));
  EXPECT_EQ(Json::parse(v.h.dump_metadata), d.json["dump_metadata"]);
  ASSERT_EQ(v.files.size(), d.files.size());
  for (const auto& [name, content] : d.files) {
    ASSERT_TRUE(v.files.count(name)) << name;
    EXPECT_EQ(v.files[name].size, content.size());
    EXPECT_EQ(v.files[name].hash, store::xxh128(content)) << name;
  }
  size_t json_rows = 0;
  for (const auto& [db, tables] : d.json.items())
    if (db != "dump_metadata")
      for (const auto& [t, rows] : tables.items()) json_rows += rows.size();
  EXPECT_EQ(v.rows, json_rows);
}

// The original's partial dumps and ours: ours hold every row theirs hold, plus the rows the
// closure invariant adds, minus the reviews the original exports although their unit is not in
// the dump (its defect 8). Each difference is listed here.
struct PartialCase {
  std::string stamp;
  std::vector<std::string> args;
  std::map<std::string, std::set<std::string>> extra;    // "db.table" -> keys only we export
  std::map<std::string, std::set<std::string>> missing;  // "db.table" -> keys only they export
};

const std::map<std::string, std::set<std::string>> kOnboardingWorker = {
    // The worker of an onboarding agent of run 2468234616205570102, its grant and qualification,
    // and its mock datastore row: the original leaves the onboarding agent's worker out.
    {"mephisto.workers", {"4894743547486485100"}},
    {"mephisto.granted_qualifications", {"5"}},
    {"mephisto.qualifications", {"3"}},
    {"mock.workers", {"4894743547486485100"}},
};

const std::vector<PartialCase> kPartialCases = {
    {"2026_11_25_15_38_01", {"-tn", "image_labeling", "-tn", "опрос_ünïcode"}, kOnboardingWorker, {}},
    {"2026_11_25_15_38_09", {"-ti", "6100533639716298169"}, {}, {}},
    {"2026_11_25_15_38_20",
     {"-tri", "2468234616205570102", "-tri", "6208928103485905434"},
     kOnboardingWorker,
     // Reviews of the runs' tasks whose units belong to runs not in the dump.
     {{"mephisto.worker_review",
       {"1968850458781885811", "2998978324262580058", "7416420809829853903", "790785629859177941"}}}},
    {"2026_11_25_15_38_28", {"-trs", "2026-11-25T15:36:16.100"}, {}, {}},
    {"2026_11_25_15_39_00", {"-qo"}, {}, {}},
    {"2026_11_25_15_39_06", {"-qo", "-qn", "english_native", "-qn", "blocked_list"}, {}, {}},
};

TEST_F(S1, PartialDumpsHoldTheOriginalsRowsPlusExactlyTheClosureRows) {
  int n = 0;
  for (const PartialCase& c : kPartialCases) {
    SCOPED_TRACE(c.stamp);
    Dump ours = run_export(c.args, "p" + std::to_string(n++));
    Dump theirs = read_dump(original_dump(c.stamp));
    std::vector<std::string> keys_ours, keys_theirs;
    for (const auto& [k, v] : ours.json.items()) keys_ours.push_back(k);
    for (const auto& [k, v] : theirs.json.items()) keys_theirs.push_back(k);
    EXPECT_EQ(keys_ours, keys_theirs);
    std::map<std::string, std::set<std::string>> extra, missing;
    for (const auto& [db, tables] : ours.json.items()) {
      if (db == "dump_metadata") continue;
      std::vector<std::string> order_ours, order_theirs;
      for (const auto& [t, rows] : tables.items()) order_ours.push_back(t);
      for (const auto& [t, rows] : theirs.json[db].items()) order_theirs.push_back(t);
      EXPECT_EQ(order_ours, order_theirs) << db;  // the original's table order
      for (const std::string& t : order_ours) {
        auto a = rows_by_key(ours, db, t), b = rows_by_key(theirs, db, t);
        for (const auto& [k, row] : a) {
          if (!b.count(k))
            extra[db + "." + t].insert(k);
          else
            EXPECT_EQ(row, b[k]) << db << "." << t << " " << k;
        }
        for (const auto& [k, row] : b)
          if (!a.count(k)) missing[db + "." + t].insert(k);
      }
    }
    EXPECT_EQ(extra, c.extra);
    EXPECT_EQ(missing, c.missing);
    EXPECT_EQ(closure_violations(ours, data_), std::vector<std::string>{});
    if (!c.extra.empty() || !c.missing.empty()) {
      EXPECT_FALSE(closure_violations(theirs, data_).empty());  // the original's dump breaks closure
    }
    // The same options, in the original's order, with their values.
    EXPECT_EQ(ours.json["dump_metadata"]["export_options"], theirs.json["dump_metadata"]["export_options"]);
    EXPECT_EQ(ours.json["dump_metadata"]["migrations"], theirs.json["dump_metadata"]["migrations"]);
    std::set<std::string> our_files, their_files;
    for (const auto& [f, content] : ours.files) our_files.insert(f);
    for (const auto& [f, content] : theirs.files) their_files.insert(f);
    EXPECT_EQ(our_files, their_files);
  }
}

TEST_F(S1, EverySingleRunDumpSatisfiesClosure) {
  sql::Db db = sql::Db::open_readonly(data_ / "database.db");
  sql::Stmt runs = db.prepare("SELECT task_run_id FROM task_runs");
  int n = 0;
  while (runs.step()) {
    std::string id = std::to_string(runs.column_int(0));
    Dump d = run_export({"-tri", id}, "r" + std::to_string(n++));
    EXPECT_EQ(closure_violations(d, data_), std::vector<std::string>{}) << id;
    EXPECT_EQ(d.json["mephisto"]["task_runs"].size(), 1u);
  }
  EXPECT_EQ(n, 5);
}

TEST_F(S1, OutputLinesAreTheOriginals) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"export_full.log", {}},
      {"export_tasks_by_names.log", {"-tn", "image_labeling", "-tn", "опрос_ünïcode"}},
      {"export_verbose.log", {"-tn", "image_labeling", "-v", "1"}},
      {"export_since_date.log", {"-trs", "2026-11-25T15:36:16.100"}},
      {"export_qo_all.log", {"--qualification-only"}},
      {"export_qo_names.log", {"-qo", "-qn", "english_native", "-qn", "blocked_list"}},
      {"export_indent4.log", {"--export-indent", "4"}},
      {"export_tasks_by_ids.log", {"--export-tasks-by-ids", "6100533639716298169"}},
      // The original lists -tri values as given, not sorted.
      {"export_task_runs_by_ids.log", {"-tri", "2468234616205570102", "-tri", "6208928103485905434"}},
  };
  int n = 0;
  for (const auto& [log, args] : cases) {
    SCOPED_TRACE(log);
    stdfs::path o = out("o" + std::to_string(n++));
    RunResult r = export_dump(data_, o, args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(lines(r.out), original_log_lines("s1_realistic_export/logs/" + log, dump_zips(o).at(0)));
    EXPECT_EQ(r.err, "");  // stderr is no terminal here: no progress bars
  }
  // --json: one JSON object on stdout instead of the prose (no options block either).
  stdfs::path o = out("json");
  RunResult r = run_mephisto({"--data-dir", data_.string(), "--outputs-dir", o.string(), "--json", "db", "export",
                              "-tri", "6208928103485905434", "-tri", "2468234616205570102"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  Json result = Json::parse(r.out);
  EXPECT_EQ(result["command"], "export");
  EXPECT_EQ(result["file"], dump_zips(o).at(0).string());
  EXPECT_EQ(result["task_runs"], 2);
  EXPECT_EQ(result["files"], read_dump(dump_zips(o).at(0)).files.size());
  EXPECT_GT(result["rows"].get<int>(), 0);
}

TEST_F(S1, RunIdsAreListedAsGivenWithoutRepeats) {
  RunResult r = export_dump(
      data_, out("o"), {"-tri", "6208928103485905434", "-tri", "2468234616205570102", "-tri", "6208928103485905434"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\nRun command for TaskRun IDs: 6208928103485905434, 2468234616205570102.\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("-tri/--export-task-runs-by-ids = ['6208928103485905434', '2468234616205570102', "
                       "'6208928103485905434']"),
            std::string::npos)
      << r.out;
}

struct ErrorCase {
  std::vector<std::string> args;
  int exit_code;
  std::vector<std::string> expected;  // fragments of the message
};

TEST_F(S1, BadInputFailsWithTheOriginalsMessageAndWritesNothing) {
  const std::vector<ErrorCase> cases = {
      {{"-tn", "image_labeling", "-tn", "no_such_task"},
       1,
       {"You provided incorrect Task names", "Provided 2 values: image_labeling, no_such_task.",
        "Not found 1 values: no_such_task."}},
      {{"-ti", "123"}, 1, {"incorrect Task IDs", "Not found 1 values: 123."}},
      {{"-ti", "abc"}, 1, {"incorrect Task IDs", "Not found 1 values: abc."}},
      {{"-tri", "999"}, 1, {"incorrect TaskRun IDs", "Provided 1 values: 999.", "Not found 1 values: 999."}},
      {{"-l", "some_label"}, 1, {"incorrect TaskRun labels", "Not found 1 values: some_label.", "There are no labels"}},
      {{"-qo", "-qn", "nope_qual"}, 1, {"incorrect qualification names", "Not found 1 values: nope_qual."}},
      // A near miss: the closest existing names are suggested.
      {{"-tn", "image_labelin"}, 1, {"Not found 1 values: image_labelin. Did you mean image_labeling?"}},
      {{"-tn", "image_labelin", "-tn", "imagelabeling"},
       1,
       {"For image_labelin: Did you mean image_labeling? For imagelabeling: Did you mean image_labeling?"}},
      {{"-qo", "-qn", "english_nativ"}, 1, {"Not found 1 values: english_nativ. Did you mean english_native?"}},
      {{"-trs", "not-a-date"},
       1,
       {"Could not parse date 'not-a-date'. Expected ISO 8601 format in UTC timezone.", "2024-01-24T01:10:30"}},
      {{"-trs", "2099-01-01"},
       1,
       {"Nothing to export - no TaskRuns found that were created after 2099-01-01 00:00:00"}},
      {{"-tn", "image_labeling", "-tri", "2468234616205570102"}, 2, {"cannot use these options together"}},
      {{"-qo", "-tn", "image_labeling"}, 2, {"cannot use these options together"}},
      {{"-qn", "english_native"}, 2, {"without -qo/--qualification-only"}},
  };
  std::string before = read(data_ / "database.db");
  int n = 0;
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.args[0] + " " + c.args[1]);
    stdfs::path o = out("e" + std::to_string(n++));
    RunResult r = export_dump(data_, o, c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.out << r.err;
    for (const std::string& f : c.expected) EXPECT_NE(r.err.find(f), std::string::npos) << f << "\n" << r.err;
    EXPECT_TRUE(dump_zips(o).empty());
    std::vector<std::string> left = stdfs::exists(o / "export") ? listing(o / "export") : std::vector<std::string>{};
    EXPECT_EQ(left, std::vector<std::string>{});  // no partial zip, no temp dir
  }
  EXPECT_EQ(read(data_ / "database.db"), before);
}

TEST_F(S1, RepeatedFilterValuesAreIgnored) {
  // The original rejects `-tn image_labeling -tn image_labeling` ("Not found 0 values").
  Dump d = run_export({"-tn", "image_labeling", "-tn", "image_labeling"}, "o");
  EXPECT_EQ(d.json["mephisto"]["task_runs"].size(), 2u);
}

TEST_F(S1, SinceDateWithZOrAnOffsetIsAnInstantInUtc) {
  // The original crashes on a timezone-aware date; 17:36:16.100+02:00 is 15:36:16.100 UTC.
  Dump naive = run_export({"-trs", "2026-11-25T15:36:16.100"}, "a");
  Dump z = run_export({"-trs", "2026-11-25T15:36:16.100Z"}, "b");
  Dump offset = run_export({"-trs", "2026-11-25T17:36:16.100+02:00"}, "c");
  EXPECT_EQ(naive.json["mephisto"]["task_runs"].size(), 3u);
  EXPECT_EQ(z.json["mephisto"]["task_runs"], naive.json["mephisto"]["task_runs"]);
  EXPECT_EQ(offset.json["mephisto"]["task_runs"], naive.json["mephisto"]["task_runs"]);
  Dump day = run_export({"-trs", "2026-11-25"}, "d");
  EXPECT_EQ(day.json["mephisto"]["task_runs"].size(), 5u);
  // "At or after": a run created at the very instant is in (6208928103485905434: 15:36:16.141).
  Dump at = run_export({"-trs", "2026-11-25 15:36:16.141"}, "e");
  EXPECT_EQ(at.json["mephisto"]["task_runs"].size(), 3u);
  Dump after = run_export({"-trs", "2026-11-25T16:36:16.142+01:00"}, "f");
  EXPECT_EQ(after.json["mephisto"]["task_runs"].size(), 2u);
}

TEST_F(S1, LabelsMatchExactlyAfterJsonDecodingAndHostileNamesAreJustNames) {
  {
    sql::Db db = sql::Db::open(data_ / "database.db");
    // Labels stored as the original stores them (json.dumps: ensure_ascii escapes).
    db.exec(
        "INSERT INTO imported_data (source_file_name, data_labels, table_name, unique_field_names, "
        "unique_field_values) VALUES ('x.zip', '[\"it''s\", \"\\u00fcn\\u00ef\"]', 'task_runs', "
        "'[\"task_run_id\"]', '[\"6035209599903972796\"]'), ('y.zip', '[\"%\", \"a_b\"]', 'task_runs', "
        "'[\"task_run_id\"]', '[\"1366341334178983519\"]')");
    // Labels that name no task run here: a run that is gone, and rows of another table.
    db.exec(
        "INSERT INTO imported_data (source_file_name, data_labels, table_name, unique_field_names, "
        "unique_field_values) VALUES ('z.zip', '[\"gone\"]', 'task_runs', '[\"task_run_id\"]', '[\"999\"]'), "
        "('w.zip', '[\"workers only\"]', 'workers', '[\"worker_name\"]', '[\"w\"]')");
    db.exec("UPDATE tasks SET task_name = 'it''s \"q\"; --%_ü' WHERE task_name = 'sentiment_review'");
  }
  Dump unicode = run_export({"-l", "ünï"}, "l1");
  EXPECT_EQ(unicode.json["mephisto"]["task_runs"].size(), 1u);
  EXPECT_EQ(unicode.json["mephisto"]["task_runs"][0]["task_run_id"], "6035209599903972796");
  Dump quote = run_export({"-l", "it's"}, "l2");
  EXPECT_EQ(quote.json["mephisto"]["task_runs"], unicode.json["mephisto"]["task_runs"]);
  Dump percent = run_export({"-l", "%"}, "l3");
  EXPECT_EQ(percent.json["mephisto"]["task_runs"][0]["task_run_id"], "1366341334178983519");
  // No pattern matching: "a%" and "a_" are labels of their own, not patterns.
  RunResult r = export_dump(data_, out("l4"), {"-l", "a%", "-l", "a_"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Not found 2 values: a%, a_."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("There are 6 available values: %, a_b, gone, it's, workers only, ünï."), std::string::npos)
      << r.err;
  for (const std::string label : {"gone", "workers only"}) {
    RunResult none = export_dump(data_, out("l5"), {"-l", label});
    EXPECT_EQ(none.exit_code, 1);
    EXPECT_NE(none.err.find("Nothing to export - no TaskRuns found (none matches the filter)."), std::string::npos)
        << none.err;
    EXPECT_TRUE(dump_zips(out("l5")).empty());
  }

  Dump hostile = run_export({"-tn", "it's \"q\"; --%_ü"}, "t1");
  EXPECT_EQ(hostile.json["mephisto"]["task_runs"].size(), 2u);
  EXPECT_EQ(export_dump(data_, out("t2"), {"-tn", "%"}).exit_code, 1);
  EXPECT_EQ(export_dump(data_, out("t3"), {"-tn", "it_s \"q\"; --%_ü"}).exit_code, 1);
}

TEST_F(S1, ExportsInTheSameSecondGetNumberedNames) {
  stdfs::path o = out("same");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(export_dump(data_, o, {"-qo"}).exit_code, 0);
  std::vector<stdfs::path> zips = dump_zips(o);
  ASSERT_EQ(zips.size(), 3u);
  std::set<std::string> stems;
  for (const stdfs::path& z : zips) {
    Dump d = read_dump(z);  // the JSON member is named after the zip, suffix included
    stems.insert(d.stem);
    EXPECT_TRUE(std::regex_match(d.stem, std::regex("\\d{4}(_\\d\\d){5}_mephisto_dump(_[23])?")));
  }
  EXPECT_EQ(stems.size(), 3u);
}

// -r on the original's legacy data dir (s4): the same substitutions as the original's -r dump of
// that state (tables and old ids), and every reference follows them, also where the original
// missed some (its defect 9: reviews, onboarding agents' task ids, prolific qualification_ids,
// onboarding dirs, types).
TEST(S4, RandomizedLegacyIdsKeepEveryRelation) {
  TempDir tmp;
  stdfs::path data = rebuild_s4("L_before_randomized_export", tmp.path());
  ASSERT_EQ(export_dump(data, tmp / "plain", {}).exit_code, 0);
  RunResult r = export_dump(data, tmp / "random", {"-r"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Dump plain = read_dump(dump_zips(tmp / "plain").at(0)), random = read_dump(dump_zips(tmp / "random").at(0));
  Dump theirs = read_dump(fixtures() / "s4_legacy" / "dumps" / "2026_11_25_15_47_35_mephisto_dump.zip");

  EXPECT_EQ(random.json["dump_metadata"]["export_options"], theirs.json["dump_metadata"]["export_options"]);
  Json subs = random.json["dump_metadata"]["pk_substitutions"];
  Json their_subs = theirs.json["dump_metadata"]["pk_substitutions"];
  ASSERT_EQ(subs.size(), their_subs.size());
  for (const auto& [db, tables] : their_subs.items()) {
    std::vector<std::string> ours_t, theirs_t;
    for (const auto& [t, m] : subs[db].items()) ours_t.push_back(t);
    for (const auto& [t, m] : tables.items()) theirs_t.push_back(t);
    EXPECT_EQ(ours_t, theirs_t) << db;
    for (const auto& [t, m] : tables.items()) {
      std::vector<std::string> olds;
      for (const auto& [old, fresh] : subs[db][t].items()) {
        olds.push_back(old);
        int64_t id = std::stoll(fresh.get<std::string>());
        EXPECT_GE(id, 1'000'000);
      }
      std::vector<std::string> their_olds;
      for (const auto& [old, fresh] : m.items()) their_olds.push_back(old);
      EXPECT_EQ(olds, their_olds) << db << "." << t;
    }
  }

  // Map every id of the randomized dump back: it must give the plain dump exactly, value types
  // included (the original turns prolific integer ids into strings).
  Unmapper unmap(subs);
  for (const auto& [db, tables] : plain.json.items()) {
    if (db == "dump_metadata") continue;
    EXPECT_EQ(unmap.rows(random.json[db]), tables) << db;
  }
  EXPECT_EQ(unmap.files(random.files), plain.files);
  EXPECT_NE(random.files, plain.files);  // dirs renamed, onboarding_<id> included
  EXPECT_EQ(closure_violations(random, data), std::vector<std::string>{});
}

// A pre-migration data dir is migrated first (and says so), then exported.
TEST(S4, LegacyDataDirIsMigratedThenExported) {
  TempDir tmp;
  stdfs::path data = rebuild_s4("L_legacy_premigration", tmp.path());
  RunResult r = export_dump(data, tmp / "o", {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Applied Mephisto's migrations 20240418_data_porter_feature, 20241002_modify_qualifications "
                       "to database.db"),
            std::string::npos)
      << r.out;
  Dump d = read_dump(dump_zips(tmp / "o").at(0));
  EXPECT_EQ(d.json["dump_metadata"]["migrations"]["mephisto"].is_string(), true);
  EXPECT_FALSE(d.json["mephisto"]["worker_review"].empty());  // unit_review rows moved by the migration
  EXPECT_EQ(closure_violations(d, data), std::vector<std::string>{});
  // A second export finds nothing to migrate.
  RunResult again = export_dump(data, tmp / "o2", {});
  EXPECT_EQ(again.out.find("Applied"), std::string::npos);
}

}  // namespace
}  // namespace mdb::test

namespace mdb::test {
namespace {

// mturk_sandbox (its own datastore, mturk's rules) and inhouse (always `{}`), in full, partial
// and -del exports.
TEST_F(S1, SandboxAndInhouseProvidersAreExportedAndDeletedLikeTheOthers) {
  stdfs::create_directories(data_ / "mturk_sandbox");
  stdfs::copy_file(data_ / "mturk" / "mturk.db", data_ / "mturk_sandbox" / "mturk.db");
  {
    sql::Db db = sql::Db::open(data_ / "database.db");
    db.exec("UPDATE requesters SET provider_type = 'mturk_sandbox' WHERE requester_name = 'mturk_requester'");
    db.exec("INSERT INTO requesters (requester_id, requester_name, provider_type) VALUES (11111111, 'in', 'inhouse')");
    // A second requester of a type: its key appears once.
    db.exec("INSERT INTO requesters (requester_id, requester_name, provider_type) VALUES (22222222, 'p2', 'prolific')");
  }
  Dump full = run_export({}, "full");
  std::vector<std::string> keys;
  for (const auto& [k, v] : full.json.items()) keys.push_back(k);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"mephisto", "inhouse", "mock", "mturk_sandbox", "prolific", "dump_metadata"}));
  EXPECT_EQ(full.json["inhouse"], Json::object());
  EXPECT_EQ(full.json["mturk_sandbox"]["hits"].size(), 4u);
  std::vector<std::string> migration_keys;
  for (const auto& [k, v] : full.json["dump_metadata"]["migrations"].items()) migration_keys.push_back(k);
  EXPECT_EQ(migration_keys, (std::vector<std::string>{"mephisto", "inhouse", "mock", "mturk_sandbox", "prolific"}));
  EXPECT_TRUE(full.json["dump_metadata"]["migrations"]["inhouse"].is_null());
  EXPECT_EQ(full.json["dump_metadata"]["migrations"]["mturk_sandbox"], "20240418_data_porter_feature");

  Dump part = run_export({"-tri", "1366341334178983519"}, "part");
  keys.clear();
  for (const auto& [k, v] : part.json.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"mephisto", "mturk_sandbox", "dump_metadata"}));
  // Migrations name every local provider type, also in a partial dump.
  EXPECT_EQ(part.json["dump_metadata"]["migrations"], full.json["dump_metadata"]["migrations"]);
  EXPECT_EQ(part.json["mturk_sandbox"]["run_mappings"].size(), 4u);
  EXPECT_EQ(part.json["mturk_sandbox"]["runs"].size(), 1u);
  EXPECT_EQ(closure_violations(part, data_), std::vector<std::string>{});

  // The old mturk datastore still holds rows of that run, and no requester of type mturk is
  // exported: deleting the run would leave them dangling, so nothing is deleted.
  std::map<std::string, std::string> before = state_of(data_);
  RunResult refused = export_dump(data_, out("refused"), {"-y", "-del", "-tri", "1366341334178983519"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("mturk/mturk.db table hits that is not exported refers to units"), std::string::npos)
      << refused.err;
  EXPECT_EQ(state_of(data_), before);
  stdfs::remove_all(data_ / "mturk");
  RunResult del = export_dump(data_, out("del"), {"-y", "-del", "-tri", "1366341334178983519"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  sql::Db sandbox = sql::Db::open_readonly(data_ / "mturk_sandbox" / "mturk.db");
  EXPECT_EQ(sandbox.query_value("SELECT count(*) FROM hits").i, 0);
  EXPECT_EQ(sandbox.query_value("SELECT count(*) FROM runs").i, 0);
  EXPECT_EQ(sandbox.query_value("SELECT count(*) FROM qualifications").i, 1);  // shared with the requester
  EXPECT_EQ(dangling_references(data_), std::vector<std::string>{});
  EXPECT_EQ(foreign_key_violations(data_), std::vector<std::string>{});
}

}  // namespace
}  // namespace mdb::test

namespace mdb::test {
namespace {

// A fixture state's databases with the run files of the original's full dump of that state.
stdfs::path rebuild_with_files(const std::string& state, const stdfs::path& dump, const stdfs::path& dir) {
  stdfs::path data = rebuild_dbs(state, dir);
  unzip_to(dump, dir / "theirs");
  stdfs::create_directories(data / "data");
  stdfs::rename(dir / "theirs" / "runs", data / "data" / "runs");
  return data;
}

// More data dirs of the original with its full dump of each: ours is byte-identical but for the
// timestamp. s2 B4 holds imported_data rows with labels. s1 A and s1n N were built in one Python
// process, so their files have no unit_review table, while the dumps list `"unit_review": []`.
TEST(FixtureStates, FullDumpsAreByteIdenticalToTheOriginals) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"s2_import/db_state/B4_after_import", "s2_import/dumps/2026_11_25_15_43_27_mephisto_dump.zip"},
      {"s1_realistic_export/db_state/A_after_build", "s1_realistic_export/dumps/2026_11_25_15_36_49_mephisto_dump.zip"},
      {"s1n_source_without_mturk_hits/db_state/N_after_build",
       "s1n_source_without_mturk_hits/dumps/2026_11_25_15_42_09_mephisto_dump.zip"},
  };
  for (const auto& [state, dump] : cases) {
    SCOPED_TRACE(state);
    TempDir tmp;
    stdfs::path data = rebuild_with_files(state, fixtures() / dump, tmp.path());
    ASSERT_EQ(export_dump(data, tmp / "out", {}).exit_code, 0);
    Dump ours = read_dump(dump_zips(tmp / "out").at(0)), theirs = read_dump(fixtures() / dump);
    EXPECT_EQ(without_timestamp(ours.json_text), without_timestamp(theirs.json_text));
    EXPECT_EQ(ours.files, theirs.files);
    EXPECT_TRUE(ours.json["mephisto"].contains("unit_review"));
  }
}

// `text` (a dump's JSON at indent 2) with `"unit_review": []` after the worker_review table.
std::string with_unit_review(const std::string& text) {
  size_t reviews = text.find("\n    \"worker_review\": [");
  if (reviews == std::string::npos) throw std::runtime_error("no worker_review in the dump");
  size_t end = text.find("\n    ]", reviews);
  return text.substr(0, end + 6) + ",\n    \"unit_review\": []" + text.substr(end + 6);
}

// s4's legacy data dir: the original's first export of it applied the migration that drops
// unit_review, so that dump has no such key (15_47_07); every later full dump has it, while the
// migrated file still lacks the table. Ours: the same, byte for byte, for both exports.
TEST(FixtureStates, ALegacyDataDirDumpsUnitReviewFromTheExportAfterItsMigration) {
  TempDir tmp;
  const stdfs::path theirs_zip = fixtures() / "s4_legacy/dumps/2026_11_25_15_47_07_mephisto_dump.zip";
  stdfs::path data = rebuild_with_files("s4_legacy/db_state/L_legacy_premigration", theirs_zip, tmp.path());
  RunResult first = export_dump(data, tmp / "first", {});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("Applied Mephisto's migrations"), std::string::npos) << first.out;
  RunResult second = export_dump(data, tmp / "second", {});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out.find("Applied"), std::string::npos) << second.out;
  {
    sql::Db db = sql::Db::open_readonly(data / "database.db");
    EXPECT_EQ(db.query_value("SELECT count(*) FROM sqlite_master WHERE name = 'unit_review'").i, 0);
  }
  Dump theirs = read_dump(theirs_zip);
  Dump ours_first = read_dump(dump_zips(tmp / "first").at(0)), ours_second = read_dump(dump_zips(tmp / "second").at(0));
  EXPECT_FALSE(theirs.json["mephisto"].contains("unit_review"));
  // The migration fills the dates it adds to prolific units and workers with the time it runs, as
  // the original's does: ours ran today, theirs at 15:47:07. Each table's statement reads the
  // clock anew, so units and workers may differ by a second when one ticks over between them.
  std::vector<std::pair<std::string, std::string>> fills;  // ours -> theirs
  for (const auto& [table, column] : {std::pair{"units", "creation_date"}, std::pair{"workers", "creation_date"},
                                      std::pair{"workers", "update_date"}}) {
    const Json& ours = ours_first.json["prolific"][table][0][column];
    const Json& their = theirs.json["prolific"][table][0][column];
    ASSERT_NE(ours, their) << table << "." << column;
    fills.emplace_back("\"" + ours.get<std::string>() + "\"", "\"" + their.get<std::string>() + "\"");
  }
  auto their_time = [&](std::string text) {
    for (const auto& [from, to] : fills)
      for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return without_timestamp(text);
  };
  EXPECT_EQ(their_time(ours_first.json_text), without_timestamp(theirs.json_text));
  EXPECT_EQ(their_time(ours_second.json_text), without_timestamp(with_unit_review(theirs.json_text)));
  EXPECT_EQ(ours_second.files, theirs.files);

  // The original's migrated state exports as our migrated dir does.
  TempDir tmp2;
  stdfs::path migrated = rebuild_with_files("s4_legacy/db_state/L_after_migration", theirs_zip, tmp2.path());
  ASSERT_EQ(export_dump(migrated, tmp2 / "out", {}).exit_code, 0);
  EXPECT_EQ(without_timestamp(read_dump(dump_zips(tmp2 / "out").at(0)).json_text),
            without_timestamp(with_unit_review(theirs.json_text)));
}

// s4 M: a legacy dir migrated by the original (no unit_review in the file), exported with -r by
// it (15_48_13): its dump and ours list the same tables, unit_review included, in pk_substitutions too.
TEST(FixtureStates, AMigratedLegacyDirListsUnitReviewInItsRandomizedDump) {
  TempDir tmp;
  const stdfs::path theirs_zip = fixtures() / "s4_legacy/dumps/2026_11_25_15_48_13_mephisto_dump.zip";
  stdfs::path data = rebuild_dbs("s4_legacy/db_state/M_mixed_before_export", tmp.path());
  RunResult r = export_dump(data, tmp / "out", {"-r"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Dump ours = read_dump(dump_zips(tmp / "out").at(0)), theirs = read_dump(theirs_zip);
  auto keys = [](const Json& j) {
    std::vector<std::string> out;
    for (const auto& [k, v] : j.items()) out.push_back(k);
    return out;
  };
  EXPECT_EQ(keys(ours.json["mephisto"]), keys(theirs.json["mephisto"]));
  EXPECT_EQ(keys(ours.json["dump_metadata"]["pk_substitutions"]["mephisto"]),
            keys(theirs.json["dump_metadata"]["pk_substitutions"]["mephisto"]));
  EXPECT_EQ(ours.json["mephisto"]["unit_review"], Json::array());
}

// s2's data dir after importing a dump under two labels (B4): its -l export line for line, and
// its error for an unknown label.
TEST(S2, LabelExportsLikeTheOriginal) {
  TempDir tmp;
  stdfs::path data =
      rebuild_with_files("s2_import/db_state/B4_after_import",
                         fixtures() / "s2_import/dumps/2026_11_25_15_43_27_mephisto_dump.zip", tmp.path());
  RunResult r = export_dump(data, tmp / "labels", {"-l", "batch_A"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(r.out), original_log_lines("s2_import/logs/export_labels.log", dump_zips(tmp / "labels").at(0)));
  Dump labelled = read_dump(dump_zips(tmp / "labels").at(0));
  Dump their_labelled = read_dump(fixtures() / "s2_import" / "dumps" / "2026_11_25_15_43_16_mephisto_dump.zip");
  EXPECT_EQ(labelled.json["mephisto"]["task_runs"], their_labelled.json["mephisto"]["task_runs"]);
  EXPECT_EQ(labelled.json["dump_metadata"]["export_options"], their_labelled.json["dump_metadata"]["export_options"]);

  RunResult bad = export_dump(data, tmp / "bad", {"-l", "nope"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("Not found 1 values: nope. There are 2 available values: batch_A, zeta label."),
            std::string::npos)
      << bad.err;
  RunResult near = export_dump(data, tmp / "near", {"-l", "batch_a"});
  EXPECT_EQ(near.exit_code, 1);
  EXPECT_NE(near.err.find("There are 2 available values: batch_A, zeta label. Did you mean batch_A?"),
            std::string::npos)
      << near.err;
}

}  // namespace
}  // namespace mdb::test
