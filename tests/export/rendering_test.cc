// JSON rendering of values the fixtures never hold (export.md "JSON rendering"), checked byte for
// byte through the real binary: reals as Python's repr, text with ensure_ascii escaping (control
// characters, DEL, astral characters, invalid UTF-8), blobs as base64, NULLs, Mephisto `_id`
// values as strings whatever their storage class, provider values with theirs, every stored date
// form, and unparsable dates as errors naming where they are. The expected strings are what
// Python's json.dumps writes for the original's values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "formats/capnp_dump.h"
#include "platform/sqlite.h"
#include "tests/export/export_support.h"

namespace mdb::test {
namespace {

// A local time zone with a half-hour offset and no daylight saving, given as a POSIX rule so
// no tz database is needed: Unix times become wall-clock times 5:30 ahead of UTC. The test
// process uses it too, so its reading of the Cap'n Proto half's Unix times agrees.
constexpr const char* kZone = "IST-5:30";

class Rendering : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = unpack(s1_backup(), tmp_.path());
    ::setenv("TZ", kZone, 1);
    ::tzset();
  }
  void TearDown() override {
    ::unsetenv("TZ");
    ::tzset();
  }
  // The dump's JSON text, exported with `args`. `same_halves`: its Cap'n Proto half holds the
  // same rows (not so where the JSON cannot tell, e.g. a real in a Mephisto `_id` column).
  std::string export_json(const std::vector<std::string>& args, bool same_halves = true) {
    stdfs::path out = tmp_ / ("o" + std::to_string(n_++));
    RunResult r = export_dump(data_, out, args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    last_ = read_dump(dump_zips(out).at(0));
    if (same_halves) {
      EXPECT_EQ(halves_differences(last_), std::vector<std::string>{});
    }
    return last_.json_text;
  }
  void exec(const std::string& db, const std::string& sql) { sql::Db::open(data_ / db).exec(sql); }
  TempDir tmp_;
  stdfs::path data_;
  Dump last_;
  int n_ = 0;
};

// The storage classes of one table's rows in a dump's Cap'n Proto half.
std::vector<std::vector<StorageClass>> capnp_classes(const Dump& d, const std::string& db, const std::string& table) {
  struct Visitor : capnp_dump::StreamVisitor {
    std::string db, table;
    std::vector<std::vector<StorageClass>> rows;
    void header(const capnp_dump::Header&) override {}
    void row(std::string_view d, std::string_view t, size_t, const std::vector<std::string>&, Row& values) override {
      if (d != db || t != table) return;
      rows.emplace_back();
      for (const Value& v : values) rows.back().push_back(v.kind);
    }
  } v;
  v.db = db;
  v.table = table;
  size_t pos = 0;
  capnp_dump::read_stream(
      [&](char* buf, size_t n) {
        size_t k = std::min(n, d.capnp.size() - pos);
        std::copy_n(d.capnp.data() + pos, k, buf);
        pos += k;
        return k;
      },
      v, "capnp");
  return v.rows;
}

// The JSON text of one row of `table`: from its first field to its closing brace.
std::string row_text(const std::string& json, const std::string& first_field) {
  size_t at = json.find(first_field);
  if (at == std::string::npos) return "<no row with " + first_field + ">";
  return json.substr(at, json.find('}', at) - at);
}

// Rows 1..n of the probe table, each as its fields' JSON text (with -i 0: one field a line).
void expect_rows(const std::string& json, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string id = "\"id\": " + std::to_string(i + 1) + ",";
    EXPECT_EQ(row_text(json, id), id + "\n" + fields[i]);
  }
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
  expect_rows(
      json, {"\"r\": 0.1,\n\"t\": \"007\",\n\"b\": \"AP8Q\",\n\"any_id\": 7,\n\"seen_at\": null\n",
             "\"r\": 1e+16,\n\"t\": \"a\\\"b\\\\c/d\",\n\"b\": \"\",\n\"any_id\": \"007\",\n\"seen_at\": null\n",
             "\"r\": 1e-05,\n\"t\": \"\\u0001\\t\\n\\r\\b\\f\\u001f\\u007f\\u00e9\\ud83d\\ude00\",\n\"b\": "
             "null,\n\"any_id\": 2.5,\n\"seen_at\": null\n",
             "\"r\": Infinity,\n\"t\": \"\\udcffa\\udcc3\",\n\"b\": \"QQ==\",\n\"any_id\": 1e+16,\n\"seen_at\": null\n",
             "\"r\": -Infinity,\n\"t\": \"\",\n\"b\": null,\n\"any_id\": null,\n\"seen_at\": null\n",
             "\"r\": 2.0,\n\"t\": \"12345678901234567\",\n\"b\": null,\n\"any_id\": -0.0,\n\"seen_at\": null\n",
             "\"r\": 1.7976931348623157e+308,\n\"t\": \"\\u00fcn\\u00ef\",\n\"b\": null,\n\"any_id\": "
             "5e-324,\n\"seen_at\": null\n"});
  // The Cap'n Proto half keeps each value's storage class: the blob as a blob, '007' as text.
  using S = StorageClass;
  std::vector<std::vector<S>> classes = capnp_classes(last_, "prolific", "probe");
  ASSERT_EQ(classes.size(), 7u);
  EXPECT_EQ(classes[0], (std::vector<S>{S::Integer, S::Real, S::Text, S::Blob, S::Integer, S::Null}));
  EXPECT_EQ(classes[1], (std::vector<S>{S::Integer, S::Real, S::Text, S::Blob, S::Text, S::Null}));
  EXPECT_EQ(classes[3], (std::vector<S>{S::Integer, S::Real, S::Text, S::Blob, S::Real, S::Null}));
}

TEST_F(Rendering, MephistoIdValuesAreStringsWhateverTheirStorageClass) {
  exec("database.db",
       "CREATE TABLE probe (id INTEGER PRIMARY KEY, thing_id, note);"
       "INSERT INTO probe VALUES (1, 5, 5), (2, '007', '007'), (3, 2.5, 2.5), (4, 1e16, 1e16), (5, x'00ff', x'00ff'),"
       "(6, NULL, NULL), (7, -9223372036854775808, -9223372036854775808);");
  std::string json = export_json({"-i", "0"}, /*same_halves=*/false);
  expect_rows(json, {"\"thing_id\": \"5\",\n\"note\": 5\n", "\"thing_id\": \"007\",\n\"note\": \"007\"\n",
                     "\"thing_id\": \"2.5\",\n\"note\": 2.5\n", "\"thing_id\": \"1e+16\",\n\"note\": 1e+16\n",
                     "\"thing_id\": \"AP8=\",\n\"note\": \"AP8=\"\n", "\"thing_id\": null,\n\"note\": null\n",
                     "\"thing_id\": \"-9223372036854775808\",\n\"note\": -9223372036854775808\n"});
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
       "INSERT INTO probe VALUES (8, 1700000000000, NULL), (9, 999999999, NULL), (10, 0, NULL), (11, -1, NULL);");
  std::string json = export_json({"-i", "0"});
  expect_rows(json, {
                        "\"seen_at\": \"2024-01-01T00:00:00\",\n\"end_date\": \"2024-01-01T10:00:00\"\n",
                        "\"seen_at\": \"2024-01-01T10:00:00.123000\",\n\"end_date\": \"2024-01-01T10:00:00.123456\"\n",
                        "\"seen_at\": \"2024-01-01T10:00:00.123456\",\n\"end_date\": \"2024-01-01T10:00:00\"\n",
                        "\"seen_at\": \"2024-01-01T10:00:00+00:00\",\n\"end_date\": \"2024-01-01T10:00:00+02:00\"\n",
                        "\"seen_at\": \"2024-01-01T10:00:00-05:30\",\n\"end_date\": \"2024-02-29T23:59:59.500000\"\n",
                        "\"seen_at\": \"2023-11-15T03:43:20\",\n\"end_date\": null\n",
                        "\"seen_at\": \"2023-11-15T03:43:20.123000\",\n\"end_date\": null\n",
                        "\"seen_at\": \"2023-11-15T03:43:20\",\n\"end_date\": null\n",
                        "\"seen_at\": \"2001-09-09T07:16:39\",\n\"end_date\": null\n",
                        "\"seen_at\": \"1970-01-01T05:30:00\",\n\"end_date\": null\n",
                        "\"seen_at\": \"1970-01-01T05:29:59\",\n\"end_date\": null\n",
                    });
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
    RunResult r = export_dump(data_, out, {});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Nothing was exported."), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_TRUE(dump_zips(out).empty());
    EXPECT_EQ(state_of(data_), before);
    stdfs::copy_file(saved, db, stdfs::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace mdb::test
