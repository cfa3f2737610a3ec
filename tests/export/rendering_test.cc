// JSON rendering of values the fixtures never hold (export.md "JSON rendering"), checked byte for
// byte through the real binary: reals as Python's repr, text with ensure_ascii escaping (control
// characters, DEL, astral characters, invalid UTF-8), blobs as base64, NULLs, Mephisto `_id`
// values as strings whatever their storage class, provider values with theirs, every stored date
// form, and unparsable dates as errors naming where they are. The expected strings are what
// Python's json.dumps writes for the original's values.
#include <gtest/gtest.h>

#include "formats/zip.h"
#include "store/sqlite.h"
#include "tests/export/export_support.h"

namespace mdb::test {
namespace {

// A local time zone with a half-hour offset and no daylight saving, given as a POSIX rule so
// no tz database is needed: Unix times become wall-clock times 5:30 ahead of UTC.
const std::map<std::string, std::string> kZone = {{"TZ", "IST-5:30"}};

class Rendering : public ::testing::Test {
 protected:
  void SetUp() override { data_ = unpack(s1_backup(), tmp_.path()); }
  // The dump's JSON text, exported with `args` (indent 2 unless given).
  std::string export_json(const std::vector<std::string>& args = {}) {
    stdfs::path out = tmp_ / ("o" + std::to_string(n_++));
    RunResult r = export_dump(data_, out, args, "", kZone);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    // Read as text: Infinity is Python's JSON, not JSON that nlohmann (read_dump) accepts.
    stdfs::path zip = dump_zips(out).at(0);
    zip::Reader reader(zip);
    for (const zip::Entry& e : reader.entries())
      if (e.name == zip.stem().string() + ".json") return reader.read(e, 1 << 30);
    return "<no JSON member>";
  }
  void exec(const std::string& db, const std::string& sql) { sql::Db::open(data_ / db).exec(sql); }
  TempDir tmp_;
  stdfs::path data_;
  int n_ = 0;
};

// The JSON text of one row of `table`: from its first field to its closing brace.
std::string row_text(const std::string& json, const std::string& first_field) {
  size_t at = json.find(first_field);
  if (at == std::string::npos) return "<no row with " + first_field + ">";
  return json.substr(at, json.find('}', at) - at);
}

TEST_F(Rendering, ProviderValuesKeepTheirStorageClassInPythonsRendering) {
  // A provider table of the user's own (every table of a datastore is exported), with columns
  // of each affinity, and one without any so integers, text and reals sit side by side.
  exec("prolific/prolific.db",
       "CREATE TABLE probe (id INTEGER PRIMARY KEY, r REAL, t TEXT, b BLOB, any_id, seen_at);"
       "INSERT INTO probe VALUES (1, 0.1, '007', x'00ff10', 7, NULL);"
       "INSERT INTO probe VALUES (2, 1e16, 'a\"b\\c/d', x'', '007', NULL);"
       "INSERT INTO probe VALUES (3, 1e-05, char(1, 9, 10, 13, 8, 12, 31, 127, 233, 128512), NULL, 2.5, NULL);"
       "INSERT INTO probe VALUES (4, 9e999, CAST(x'ff61c3' AS TEXT), x'41', 1e16, NULL);"
       "INSERT INTO probe VALUES (5, -9e999, '', NULL, NULL, NULL);"
       "INSERT INTO probe VALUES (6, 2.0, 12345678901234567, NULL, -0.0, NULL);"
       "INSERT INTO probe VALUES (7, 1.7976931348623157e308, 'ünï', NULL, 5e-324, NULL);");
  std::string json = export_json({"-i", "0"});
  EXPECT_EQ(row_text(json, "\"id\": 1,"),
            "\"id\": 1,\n\"r\": 0.1,\n\"t\": \"007\",\n\"b\": \"AP8Q\",\n\"any_id\": 7,\n\"seen_at\": null\n");
  EXPECT_EQ(row_text(json, "\"id\": 2,"),
            "\"id\": 2,\n\"r\": 1e+16,\n\"t\": \"a\\\"b\\\\c/d\",\n\"b\": \"\",\n\"any_id\": \"007\",\n"
            "\"seen_at\": null\n");
  EXPECT_EQ(row_text(json, "\"id\": 3,"),
            "\"id\": 3,\n\"r\": 1e-05,\n\"t\": \"\\u0001\\t\\n\\r\\b\\f\\u001f\\u007f\\u00e9\\ud83d\\ude00\",\n"
            "\"b\": null,\n\"any_id\": 2.5,\n\"seen_at\": null\n");
  EXPECT_EQ(row_text(json, "\"id\": 4,"),
            "\"id\": 4,\n\"r\": Infinity,\n\"t\": \"\\udcffa\\udcc3\",\n\"b\": \"QQ==\",\n\"any_id\": 1e+16,\n"
            "\"seen_at\": null\n");
  EXPECT_EQ(row_text(json, "\"id\": 5,"),
            "\"id\": 5,\n\"r\": -Infinity,\n\"t\": \"\",\n\"b\": null,\n\"any_id\": null,\n\"seen_at\": null\n");
  EXPECT_EQ(row_text(json, "\"id\": 6,"),
            "\"id\": 6,\n\"r\": 2.0,\n\"t\": \"12345678901234567\",\n\"b\": null,\n\"any_id\": -0.0,\n"
            "\"seen_at\": null\n");
  EXPECT_EQ(row_text(json, "\"id\": 7,"),
            "\"id\": 7,\n\"r\": 1.7976931348623157e+308,\n\"t\": \"\\u00fcn\\u00ef\",\n\"b\": null,\n"
            "\"any_id\": 5e-324,\n\"seen_at\": null\n");
}

TEST_F(Rendering, MephistoIdValuesAreStringsWhateverTheirStorageClass) {
  exec("database.db",
       "CREATE TABLE probe (id INTEGER PRIMARY KEY, thing_id, note);"
       "INSERT INTO probe VALUES (1, 5, 5), (2, '007', '007'), (3, 2.5, 2.5), (4, 1e16, 1e16), (5, x'00ff', x'00ff'),"
       "(6, NULL, NULL), (7, -9223372036854775808, -9223372036854775808);");
  std::string json = export_json({"-i", "0"});
  EXPECT_EQ(row_text(json, "\"id\": 1,"), "\"id\": 1,\n\"thing_id\": \"5\",\n\"note\": 5\n");
  EXPECT_EQ(row_text(json, "\"id\": 2,"), "\"id\": 2,\n\"thing_id\": \"007\",\n\"note\": \"007\"\n");
  EXPECT_EQ(row_text(json, "\"id\": 3,"), "\"id\": 3,\n\"thing_id\": \"2.5\",\n\"note\": 2.5\n");
  EXPECT_EQ(row_text(json, "\"id\": 4,"), "\"id\": 4,\n\"thing_id\": \"1e+16\",\n\"note\": 1e+16\n");
  EXPECT_EQ(row_text(json, "\"id\": 5,"), "\"id\": 5,\n\"thing_id\": \"AP8=\",\n\"note\": \"AP8=\"\n");
  EXPECT_EQ(row_text(json, "\"id\": 6,"), "\"id\": 6,\n\"thing_id\": null,\n\"note\": null\n");
  EXPECT_EQ(row_text(json, "\"id\": 7,"),
            "\"id\": 7,\n\"thing_id\": \"-9223372036854775808\",\n\"note\": -9223372036854775808\n");
}

TEST_F(Rendering, EveryStoredDateFormBecomesPythonsIsoformat) {
  // `seen_at` has no affinity, so integers and text stay what they are.
  exec("prolific/prolific.db",
       "CREATE TABLE probe (id INTEGER PRIMARY KEY, seen_at, end_date TEXT);"
       "INSERT INTO probe VALUES (1, '2024-01-01', '2024-01-01 10:00:00');"
       "INSERT INTO probe VALUES (2, '2024-01-01 10:00:00.123', '2024-01-01T10:00:00.123456');"
       "INSERT INTO probe VALUES (3, '2024-01-01 10:00:00.123456', '2024-01-01 10:00:00.000');"
       "INSERT INTO probe VALUES (4, '2024-01-01T10:00:00Z', '2024-01-01 10:00:00+02:00');"
       "INSERT INTO probe VALUES (5, '2024-01-01T10:00:00-0530', '2024-02-29 23:59:59.5');"
       // Unix times, converted in local time (IST, +05:30) as the original's fromtimestamp:
       // 10 digits are seconds, 13 digits milliseconds.
       "INSERT INTO probe VALUES (6, 1700000000, NULL);"
       "INSERT INTO probe VALUES (7, 1700000000123, NULL);"
       "INSERT INTO probe VALUES (8, 0, NULL);");
  std::string json = export_json({"-i", "0"});
  auto row = [&](int id) { return row_text(json, "\"id\": " + std::to_string(id) + ","); };
  EXPECT_EQ(row(1), "\"id\": 1,\n\"seen_at\": \"2024-01-01T00:00:00\",\n\"end_date\": \"2024-01-01T10:00:00\"\n");
  EXPECT_EQ(row(2),
            "\"id\": 2,\n\"seen_at\": \"2024-01-01T10:00:00.123000\",\n\"end_date\": \"2024-01-01T10:00:00.123456\"\n");
  EXPECT_EQ(row(3),
            "\"id\": 3,\n\"seen_at\": \"2024-01-01T10:00:00.123456\",\n\"end_date\": \"2024-01-01T10:00:00\"\n");
  EXPECT_EQ(row(4),
            "\"id\": 4,\n\"seen_at\": \"2024-01-01T10:00:00+00:00\",\n\"end_date\": \"2024-01-01T10:00:00+02:00\"\n");
  EXPECT_EQ(row(5),
            "\"id\": 5,\n\"seen_at\": \"2024-01-01T10:00:00-05:30\",\n\"end_date\": \"2024-02-29T23:59:59.500000\"\n");
  EXPECT_EQ(row(6), "\"id\": 6,\n\"seen_at\": \"2023-11-15T03:43:20\",\n\"end_date\": null\n");
  EXPECT_EQ(row(7), "\"id\": 7,\n\"seen_at\": \"2023-11-15T03:43:20.123000\",\n\"end_date\": null\n");
  EXPECT_EQ(row(8), "\"id\": 8,\n\"seen_at\": \"1970-01-01T05:30:00\",\n\"end_date\": null\n");
}

TEST_F(Rendering, MillisecondUnixTimesKeepTheirFraction) {
  exec("prolific/prolific.db",
       "CREATE TABLE probe (id INTEGER PRIMARY KEY, seen_at);"
       "INSERT INTO probe VALUES (1, 1700000000123), (2, 1700000000000), (3, 999999999), (4, -1);");
  std::string json = export_json({"-i", "0"});
  EXPECT_NE(json.find("\"id\": 1,\n\"seen_at\": \"2023-11-15T03:43:20.123000\"\n"), std::string::npos);
  EXPECT_NE(json.find("\"id\": 2,\n\"seen_at\": \"2023-11-15T03:43:20\"\n"), std::string::npos);
  EXPECT_NE(json.find("\"id\": 3,\n\"seen_at\": \"2001-09-09T07:16:39\"\n"), std::string::npos);
  EXPECT_NE(json.find("\"id\": 4,\n\"seen_at\": \"1970-01-01T05:29:59\"\n"), std::string::npos);
}

TEST_F(Rendering, AnUnparsableDateIsAnErrorNamingDbTableRowAndColumn) {
  struct Case {
    std::string db, sql, expected;
  };
  const std::vector<Case> cases = {
      {"prolific/prolific.db", "UPDATE workers SET update_date = 'garbage' WHERE id = 5919614284959150267",
       "prolific/prolific.db, table workers, row id = 5919614284959150267, column update_date holds \"garbage\""},
      {"prolific/prolific.db", "UPDATE workers SET update_date = x'0a0b' WHERE id = 5919614284959150267",
       "column update_date holds a blob of 2 bytes, which is not a date"},
      {"prolific/prolific.db", "UPDATE workers SET update_date = 1.5 WHERE id = 5919614284959150267",
       "column update_date holds 1.5, which is not a date"},
      // Seconds beyond year 9999 (the original's datetime cannot hold them either).
      {"prolific/prolific.db", "UPDATE workers SET update_date = 99999999999999 WHERE id = 5919614284959150267",
       "column update_date holds 99999999999999, which is not a date"},
      {"database.db", "UPDATE projects SET creation_date = 'nope' || char(10) WHERE project_name = 'project_alpha'",
       "database.db, table projects, row project_id = "},
      {"database.db", "UPDATE projects SET creation_date = '2024-02-30' WHERE project_name = 'project_alpha'",
       "column creation_date holds \"2024-02-30\", which is not a date"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.sql);
    stdfs::path db = data_ / c.db, saved = tmp_ / "saved.db";
    stdfs::copy_file(db, saved, stdfs::copy_options::overwrite_existing);
    exec(c.db, c.sql);
    std::map<std::string, std::string> before = state_of(data_);
    stdfs::path out = tmp_ / ("f" + std::to_string(n_++));
    RunResult r = export_dump(data_, out, {}, "", kZone);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was exported"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_TRUE(dump_zips(out).empty());
    EXPECT_EQ(state_of(data_), before);
    stdfs::copy_file(saved, db, stdfs::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace mdb::test
