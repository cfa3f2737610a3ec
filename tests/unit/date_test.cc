#include "formats/date.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

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
  for (auto bad : {"not-a-date", "2024-02-30", "2024-13-01", "2024-01-01T25:00", "2024-01-01 10:00:00.", "",
                   "2024-1-1", "2024-01-01T10:00:00+25:00", "2024-01-01x"})
    EXPECT_FALSE(parse_date(bad)) << bad;
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
