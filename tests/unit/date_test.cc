#include "formats/date.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>

namespace mdb {
namespace {

std::string iso(std::string_view text) {
  auto d = parse_date(text);
  return d ? format_iso(*d) : "<invalid>";
}

TEST(Date, ParsesEveryStoredForm) {
  EXPECT_EQ(iso("2026-11-25 15:36:14.161"), "2026-11-25T15:36:14.161000");
  EXPECT_EQ(iso("2026-11-25 15:36:14"), "2026-11-25T15:36:14");
  EXPECT_EQ(iso("2026-11-25T15:36:14.123456"), "2026-11-25T15:36:14.123456");
  EXPECT_EQ(iso("2026-11-25 15:36:14.123456"), "2026-11-25T15:36:14.123456");
  EXPECT_EQ(iso("2024-01-01"), "2024-01-01T00:00:00");
  EXPECT_EQ(iso("2026-11-25 15:36:14.000"), "2026-11-25T15:36:14");
  EXPECT_EQ(iso("2026-11-25T15:36:16Z"), "2026-11-25T15:36:16+00:00");
  EXPECT_EQ(iso("2026-11-25T17:36:16+02:00"), "2026-11-25T17:36:16+02:00");
}

TEST(Date, RejectsGarbage) {
  for (auto bad : {"not-a-date", "2024-02-30", "2024-13-01", "2024-01-01T25:00", "2024-01-01 10:00:00.", "", "2024-1-1",
                   "2024-01-01T10:00:00+25:00", "2024-01-01x"})
    EXPECT_FALSE(parse_date(bad)) << bad;
}

TEST(Date, UnixTimesAsPythonsFromtimestampInLocalTime) {
  ::setenv("TZ", "UTC0", 1);
  ::tzset();
  auto iso_unix = [](int64_t v) {
    auto d = date_from_unix(v);
    return d ? format_iso(*d) : "<none>";
  };
  EXPECT_EQ(iso_unix(1700000000), "2023-11-14T22:13:20");
  EXPECT_EQ(iso_unix(1700000000123), "2023-11-14T22:13:20.123000");  // 13 digits: milliseconds
  EXPECT_EQ(iso_unix(-1), "1969-12-31T23:59:59");
  EXPECT_EQ(iso_unix(-123456789012), "1966-02-02T02:26:50.988000");  // 13 characters with the sign, as len(str())
  EXPECT_EQ(iso_unix(253402300799), "9999-12-31T23:59:59");
  EXPECT_EQ(iso_unix(-62135596800), "0001-01-01T00:00:00");
  // Outside Python's years 1..9999, and values that would overflow microseconds: no date.
  for (int64_t v : {int64_t{253402300800}, int64_t{-62135596801}, int64_t{99999999999999}, INT64_MAX, INT64_MIN})
    EXPECT_FALSE(date_from_unix(v)) << v;
  ::setenv("TZ", "IST-5:30", 1);
  ::tzset();
  EXPECT_EQ(iso_unix(0), "1970-01-01T05:30:00");
  EXPECT_FALSE(date_from_unix(253402300799));  // year 10000 in this zone
  ::unsetenv("TZ");
  ::tzset();
}

TEST(Date, StoredDatesAreTextOrIntegers) {
  EXPECT_TRUE(stored_date(Value::text("2024-01-01 10:00:00.000")));
  EXPECT_TRUE(stored_date(Value::integer(0)));
  EXPECT_FALSE(stored_date(Value::real(1.5)));
  EXPECT_FALSE(stored_date(Value::blob("2024-01-01")));
  EXPECT_FALSE(stored_date(Value::null()));
  EXPECT_FALSE(stored_date(Value::text("0000-01-01")));  // no year 0 in Python's datetime
}

TEST(Date, OffsetsCompareAsInstants) {
  auto a = parse_date("2026-11-25T17:36:16+02:00");
  auto b = parse_date("2026-11-25 15:36:16");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->instant(), b->instant());
}

TEST(Date, SqliteForm) {
  EXPECT_EQ(format_sqlite(*parse_date("2026-11-25T15:36:14.161")), "2026-11-25 15:36:14.161");
  EXPECT_EQ(format_sqlite(*parse_date("2026-11-25T15:36:14")), "2026-11-25 15:36:14.000");
  EXPECT_EQ(format_sqlite(*parse_date("2026-11-25T15:36:14.123456")), "2026-11-25 15:36:14.123456");
  EXPECT_EQ(format_sqlite(*parse_date("2026-11-25T17:36:14+02:00")), "2026-11-25 15:36:14.000");
}

RC_GTEST_PROP(Date, IsoRoundTrips, ()) {
  int64_t us = *rc::gen::inRange<int64_t>(-2'000'000'000'000'000, 4'000'000'000'000'000);
  DateTime d{us, std::nullopt};
  auto back = parse_date(format_iso(d));
  RC_ASSERT(back.has_value());
  RC_ASSERT(back->wall_us == us);
  auto back2 = parse_date(format_sqlite(d));
  RC_ASSERT(back2 && back2->wall_us == us);
}

}  // namespace
}  // namespace mdb
