#include "dump/dump_values.h"

#include <gtest/gtest.h>

namespace mdb {
namespace {

Value norm(DbId db, std::string_view column, Value v, std::string* problem = nullptr) {
  auto p = normalize_dump_value(db, column, v);
  if (problem) *problem = p.value_or("");
  return v;
}

TEST(DumpValues, MephistoKeysBecomeIntegers) {
  EXPECT_EQ(norm(DbId::Mephisto, "task_id", Value::text("3632310764262991685")), Value::integer(3632310764262991685));
  EXPECT_EQ(norm(DbId::Mephisto, "id", Value::text("12")), Value::integer(12));
  EXPECT_EQ(norm(DbId::Mephisto, "worker_id", Value::integer(5)), Value::integer(5));
  EXPECT_EQ(norm(DbId::Mephisto, "worker_id", Value::text("007")), Value::integer(7));
  EXPECT_EQ(norm(DbId::Mephisto, "parent_task_id", Value::null()), Value::null());
  std::string problem;
  EXPECT_EQ(norm(DbId::Mephisto, "task_id", Value::text("abc"), &problem), Value::text("abc"));
  EXPECT_EQ(problem, "\"abc\" is not an integer id");
  norm(DbId::Mephisto, "task_id", Value::text("9223372036854775808"), &problem);
  EXPECT_EQ(problem, "\"9223372036854775808\" is not an integer id");
  norm(DbId::Mephisto, "task_id", Value::real(1.5), &problem);
  EXPECT_EQ(problem, "1.5 is not an integer id");
}

TEST(DumpValues, ProviderTextKeysStayText) {
  EXPECT_EQ(norm(DbId::Prolific, "id", Value::text("6607656745167228066")), Value::integer(6607656745167228066));
  EXPECT_EQ(norm(DbId::Prolific, "task_run_id", Value::text("8206106900268541822")),
            Value::text("8206106900268541822"));
  EXPECT_EQ(norm(DbId::Mock, "worker_id", Value::text("42")), Value::text("42"));
  EXPECT_EQ(norm(DbId::Mturk, "hit_id", Value::text("HIT000")), Value::text("HIT000"));
}

TEST(DumpValues, DatesBecomeOurDbFormSoEqualInstantsCompareEqual) {
  EXPECT_EQ(norm(DbId::Mephisto, "creation_date", Value::text("2026-11-25T15:42:00.881000")),
            Value::text("2026-11-25 15:42:00.881"));
  EXPECT_EQ(norm(DbId::Mephisto, "creation_date", Value::text("2026-11-25 15:42:00.881")),
            Value::text("2026-11-25 15:42:00.881"));
  EXPECT_EQ(norm(DbId::Mephisto, "creation_date", Value::text("2026-11-25 15:42:00")),
            Value::text("2026-11-25 15:42:00.000"));
  EXPECT_EQ(norm(DbId::Prolific, "update_date", Value::text("2026-11-25T15:42:00.000001")),
            Value::text("2026-11-25 15:42:00.000001"));
  EXPECT_EQ(norm(DbId::Mephisto, "created_at", Value::text("2026-11-25T16:42:00+01:00")),
            Value::text("2026-11-25 15:42:00.000"));
  std::string problem;
  norm(DbId::Mephisto, "creation_date", Value::text("yesterday"), &problem);
  EXPECT_EQ(problem, "\"yesterday\" is not a date");
}

TEST(DumpValues, IntegerText) {
  EXPECT_EQ(parse_integer_text("-0012"), -12);
  EXPECT_EQ(parse_integer_text("+5"), 5);
  EXPECT_EQ(parse_integer_text("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(parse_integer_text("-9223372036854775808"), INT64_MIN);
  EXPECT_FALSE(parse_integer_text("9223372036854775808"));
  EXPECT_FALSE(parse_integer_text(""));
  EXPECT_FALSE(parse_integer_text("-"));
  EXPECT_FALSE(parse_integer_text("1 "));
  EXPECT_FALSE(parse_integer_text("0x10"));
}

}  // namespace
}  // namespace mdb
