#include "formats/date.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <utility>

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
  // An offset can shift the instant out of years 1..9999; written as printf's %04d writes the year.
  EXPECT_EQ(format_sqlite(*parse_date("0001-01-01T00:30:00+01:00")), "0000-12-31 23:30:00.000");
  EXPECT_EQ(format_sqlite(*parse_date("9999-12-31T23:30:00.000007-01:00")), "10000-01-01 00:30:00.000007");
}

TEST(Date, IsoFormKeepsItsOffset) {
  EXPECT_EQ(format_iso(*parse_date("2026-11-25 07:05:09.5+05:30")), "2026-11-25T07:05:09.500000+05:30");
  EXPECT_EQ(format_iso(*parse_date("2026-11-25T07:05:09-0300")), "2026-11-25T07:05:09-03:00");
  EXPECT_EQ(format_python_str(*parse_date("2026-01-02T03:04:05Z")), "2026-01-02 03:04:05+00:00");
}

// Python's datetime over its whole range (values printed by datetime(...).isoformat() and
// (dt - datetime(1970, 1, 1)) // timedelta(microseconds=1)): the proleptic Gregorian calendar,
// no 1582 gap, leap days in 4, 400, 1600, 2000 and 2400 only.
TEST(Date, KnownValuesAcrossPythonsRange) {
  const std::pair<int64_t, const char*> known[] = {
      {-62135596800000000LL, "0001-01-01T00:00:00"},
      {-62104060800000001LL, "0001-12-31T23:59:59.999999"},
      {-62035848000000000LL, "0004-02-29T12:00:00"},
      {-59006361599999999LL, "0100-03-01T00:00:00.000001"},
      {-49539317400000000LL, "0400-02-29T06:30:00"},
      {-12220243200000000LL, "1582-10-04T00:00:00"},
      {-12219292800000000LL, "1582-10-15T00:00:00"},
      {-11670998400000000LL, "1600-02-29T00:00:00"},
      {-6857218677000000LL, "1752-09-14T01:02:03"},
      {-2208988800500000LL, "1899-12-31T23:59:59.500000"},
      {-2203891200000000LL, "1900-03-01T00:00:00"},
      {-1LL, "1969-12-31T23:59:59.999999"},
      {0LL, "1970-01-01T00:00:00"},
      {951827696789000LL, "2000-02-29T12:34:56.789000"},
      {2147483648000000LL, "2038-01-19T03:14:08"},
      {4107456000000000LL, "2100-02-28T00:00:00"},
      {13574563200000000LL, "2400-02-29T00:00:00"},
      {64092124800000000LL, "4000-12-31T00:00:00"},
      {190271181600000042LL, "7999-06-15T18:00:00.000042"},
      {253402300799999999LL, "9999-12-31T23:59:59.999999"},
  };
  for (auto [us, text] : known) {
    EXPECT_EQ(format_iso(DateTime{us, std::nullopt}), text) << us;
    auto parsed = parse_date(text);
    ASSERT_TRUE(parsed) << text;
    EXPECT_EQ(parsed->wall_us, us) << text;
  }
  for (auto no_leap_day : {"0100-02-29", "1700-02-29", "1900-02-29", "2100-02-29", "9999-02-29"})
    EXPECT_FALSE(parse_date(no_leap_day)) << no_leap_day;
}

// The calendar against glibc's (gmtime_r), any instant of years 1..9999, both ways.
RC_GTEST_PROP(Date, CalendarAgreesWithLibcOverPythonsRange, ()) {
  const int64_t secs = *rc::gen::inRange<int64_t>(-62'135'596'800, 253'402'300'800);
  const int64_t us = *rc::gen::inRange<int64_t>(0, 1'000'000);
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  RC_ASSERT(::gmtime_r(&t, &tm) != nullptr);
  char want[64];
  std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string text = want;
  if (us != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(us));
    text += frac;
  }
  const int64_t wall_us = secs * 1'000'000 + us;
  RC_ASSERT(format_iso(DateTime{wall_us, std::nullopt}) == text);
  auto parsed = parse_date(text);
  RC_ASSERT(parsed && parsed->wall_us == wall_us);
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
