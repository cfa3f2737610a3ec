#include "formats/dump_json.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "base/error.h"
#include "formats/pyjson.h"
#include "tests/support/testenv.h"

namespace mdb {
namespace {

// Collects everything the reader reports.
struct Collected : DumpJsonVisitor {
  std::vector<std::string> dbs;
  std::map<std::string, std::vector<std::pair<std::vector<std::string>, Row>>> rows;  // "db.table"
  std::vector<std::string> tables;
  nlohmann::ordered_json meta;
  bool has_meta = false;
  std::vector<std::string> problems;

  void begin_db(std::string_view db) override { dbs.emplace_back(db); }
  void begin_table(std::string_view db, std::string_view table) override {
    tables.push_back(std::string(db) + "." + std::string(table));
  }
  void row(std::string_view db, std::string_view table, size_t index, const std::vector<std::string>& columns,
           Row& values) override {
    auto& list = rows[std::string(db) + "." + std::string(table)];
    EXPECT_EQ(index, list.size());
    list.emplace_back(columns, values);
  }
  void metadata(nlohmann::ordered_json m) override {
    meta = std::move(m);
    has_meta = true;
  }
  void problem(std::string message) override { problems.push_back(std::move(message)); }
};

Collected parse(std::string_view text) {
  Collected c;
  read_dump_json(text, c, "test.json");
  return c;
}

std::string error_of(std::string_view text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DumpJson, ReadsRowsWithTheirStorageClasses) {
  Collected c = parse(R"({"mephisto": {"workers": [{"worker_id": "123", "n": 7, "r": 2.0, "x": null,
      "b": true, "f": false}], "empty": []}, "mock": {}, "dump_metadata": {"migrations": {"mephisto": null},
      "pk_substitutions": {}}})");
  EXPECT_TRUE(c.problems.empty());
  ASSERT_EQ(c.rows["mephisto.workers"].size(), 1u);
  auto& [cols, row] = c.rows["mephisto.workers"][0];
  EXPECT_EQ(cols, (std::vector<std::string>{"worker_id", "n", "r", "x", "b", "f"}));
  EXPECT_EQ(row[0], Value::text("123"));
  EXPECT_EQ(row[1], Value::integer(7));
  EXPECT_EQ(row[2], Value::real(2.0));
  EXPECT_EQ(row[3], Value::null());
  EXPECT_EQ(row[4], Value::integer(1));
  EXPECT_EQ(row[5], Value::integer(0));
  EXPECT_EQ(c.dbs, (std::vector<std::string>{"mephisto", "mock"}));
  EXPECT_EQ(c.tables, (std::vector<std::string>{"mephisto.workers", "mephisto.empty"}));
  ASSERT_TRUE(c.has_meta);
  EXPECT_TRUE(c.meta["migrations"]["mephisto"].is_null());
}

TEST(DumpJson, PythonSpecialFloats) {
  Collected c = parse(R"({"p": {"t": [{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e400, "e": -0.0}]}})");
  auto& row = c.rows["p.t"][0].second;
  EXPECT_TRUE(std::isnan(row[0].r));
  EXPECT_EQ(row[1].r, std::numeric_limits<double>::infinity());
  EXPECT_EQ(row[2].r, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(row[3].r, std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::signbit(row[4].r));
}

TEST(DumpJson, IntegersAreExactAndOverflowIsAProblemNamingTheColumn) {
  Collected c = parse(R"({"mephisto": {"workers": [{"worker_id": 9223372036854775807},
      {"worker_id": -9223372036854775808}, {"worker_id": 9223372036854775808}]}})");
  auto& rows = c.rows["mephisto.workers"];
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].second[0], Value::integer(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(rows[1].second[0], Value::integer(std::numeric_limits<int64_t>::min()));
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_NE(c.problems[0].find("table `workers`, row 2, column `worker_id`"), std::string::npos) << c.problems[0];
  EXPECT_NE(c.problems[0].find("9223372036854775808"), std::string::npos);
}

TEST(DumpJson, LoneLowSurrogatesAreTheRawBytesOurWriterEscaped) {
  std::string raw = std::string("a\xff") + "b\x80" + "\xc3\xa9" + std::string(1, '\0') + "\xf0\x9f\x98\x80";
  std::string json = "{\"m\": {\"t\": [{\"s\": ";
  append_json_string(json, raw);
  json += "}]}}";
  EXPECT_NE(json.find("\\udcff"), std::string::npos);
  Collected c = parse(json);
  EXPECT_EQ(c.rows["m.t"][0].second[0], Value::text(raw));
}

TEST(DumpJson, OtherLoneSurrogatesAreRejected) {
  EXPECT_NE(error_of(R"({"m": {"t": [{"s": "\ud800x"}]}})").find("lone surrogate"), std::string::npos);
  EXPECT_NE(error_of(R"({"m": {"t": [{"s": "\udc00"}]}})").find("lone surrogate"), std::string::npos);
  EXPECT_NE(error_of(R"({"m": {"t": [{"s": "\ud800\u0041"}]}})").find("lone surrogate"), std::string::npos);
}

TEST(DumpJson, DeepNestingIsACleanError) {
  std::string deep = "{\"dump_metadata\": " + std::string(10000, '[') + std::string(10000, ']') + "}";
  std::string e = error_of(deep);
  EXPECT_NE(e.find("nested deeper than"), std::string::npos) << e;
  std::string deep_row = "{\"m\": {\"t\": [{\"a\": " + std::string(10000, '[');
  EXPECT_NE(error_of(deep_row).find("nested deeper than"), std::string::npos);
}

TEST(DumpJson, SyntaxErrorsNameTheSourceAndPosition) {
  std::string e = error_of("{\n  'x': 1}");
  EXPECT_NE(e.find("test.json"), std::string::npos);
  EXPECT_NE(e.find("Expecting property name enclosed in double quotes: line 2 column 3"), std::string::npos) << e;
  EXPECT_NE(error_of(R"({"a": {"t": [1,]}})").find("Expecting value"), std::string::npos);
  EXPECT_NE(error_of(R"({"a": {}} x)").find("Extra data"), std::string::npos);
  EXPECT_NE(error_of(R"({"a": "unterminated)").find("Unterminated string"), std::string::npos);
  EXPECT_NE(error_of("{\"a\": \"tab\there\"}").find("Invalid control character"), std::string::npos);
  EXPECT_NE(error_of(R"({"a" 1})").find("Expecting ':' delimiter"), std::string::npos);
  EXPECT_NE(error_of(R"({"a": 1 "b": 2})").find("Expecting ',' delimiter"), std::string::npos);
  EXPECT_NE(error_of("").find("Expecting value"), std::string::npos);
  EXPECT_NE(error_of("[1]").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"a": 01})").find("Expecting ',' delimiter"), std::string::npos);
}

TEST(DumpJson, StructureProblemsAreAllReportedAndTheRestIsRead) {
  Collected c = parse(R"({"mephisto": {"no_such_table": [1, {"a": [1]}, {"a": 1, "a": 2}],
      "ok": [{"x": "y"}], "bad": 5}, "inhouse": [], "mephisto": {}, "dump_metadata": {}})");
  ASSERT_EQ(c.problems.size(), 6u);
  EXPECT_EQ(c.problems[0],
            "Database `mephisto`, table `no_such_table`, row 0: expecting it to be a JSON object, not `1`.");
  EXPECT_NE(c.problems[1].find("row 1, column `a`: expecting a single value, not an array"), std::string::npos);
  EXPECT_NE(c.problems[2].find("row 2, column `a`: the field appears twice"), std::string::npos);
  EXPECT_NE(c.problems[3].find("table `bad`: expecting a JSON array of rows, not 5"), std::string::npos);
  EXPECT_NE(c.problems[4].find("Database `inhouse`: expecting a JSON object of tables, not an array"),
            std::string::npos);
  EXPECT_NE(c.problems[5].find("`mephisto` appears twice"), std::string::npos);
  EXPECT_EQ(c.rows["mephisto.ok"].size(), 1u);
}

TEST(DumpJson, StreamsThroughSmallReads) {
  std::string json = R"({"m": {"t": [{"s": "\u00e9\ud83d\ude00\udc80", "n": 12345678901234}]}, "dump_metadata": {}})";
  size_t pos = 0;
  Collected c;
  read_dump_json([&](char* buf, size_t) -> size_t {  // one byte at a time
    if (pos == json.size()) return 0;
    buf[0] = json[pos++];
    return 1;
  }, c, "stream");
  EXPECT_EQ(c.rows["m.t"][0].second[0], Value::text("\xc3\xa9\xf0\x9f\x98\x80\x80"));
  EXPECT_EQ(c.rows["m.t"][0].second[1], Value::integer(12345678901234));
}

// Every fixture dump's JSON member reads without a problem, with its metadata.
TEST(DumpJson, ReadsEveryFixtureDump) {
  int seen = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(test::fixtures())) {
    if (entry.path().extension() != ".zip" || entry.path().string().find("dump") == std::string::npos) continue;
    if (entry.path().filename().string().rfind("tamper_", 0) == 0) continue;
    test::TempDir dir;
    test::unzip_to(entry.path(), dir.path());
    for (const auto& member : std::filesystem::directory_iterator(dir.path())) {
      if (member.path().extension() != ".json") continue;
      Collected c = parse(test::read(member.path()));
      EXPECT_TRUE(c.problems.empty()) << entry.path() << ": " << c.problems[0];
      EXPECT_TRUE(c.has_meta) << entry.path();
      EXPECT_TRUE(c.meta.contains("export_options")) << entry.path();
      ++seen;
    }
  }
  EXPECT_GE(seen, 18);
}

// Anything our Python-compatible writer renders reads back as the same values.
RC_GTEST_PROP(DumpJson, RoundTripsThePythonWriter, ()) {
  auto text = *rc::gen::container<std::string>(rc::gen::arbitrary<char>());
  auto number = *rc::gen::arbitrary<int64_t>();
  auto real = *rc::gen::arbitrary<double>();
  auto indent = *rc::gen::inRange(-1, 4);
  std::string out;
  PyJsonWriter w(out, indent);
  w.begin_object();
  w.key("mephisto");
  w.begin_object();
  w.key(text);
  w.begin_array();
  w.begin_object();
  w.key("s");
  w.string(text);
  w.key("i");
  w.integer(number);
  w.key("r");
  w.real(real);
  w.key("n");
  w.null();
  w.end_object();
  w.end_array();
  w.end_object();
  w.end_object();
  Collected c = parse(out);
  RC_ASSERT(c.problems.empty());
  auto& rows = c.rows["mephisto." + text];
  RC_ASSERT(rows.size() == 1u);
  const Row& row = rows[0].second;
  RC_ASSERT(row[0] == Value::text(text));
  RC_ASSERT(row[1] == Value::integer(number));
  RC_ASSERT(row[2] == Value::real(real));
  RC_ASSERT(row[3].is_null());
}

}  // namespace
}  // namespace mdb
