#include "import/resolver.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "tests/support/testenv.h"

namespace mdb {
namespace {

const std::vector<std::string> kGrantCols = {"granted_qualification_id", "worker_id", "qualification_id", "value",
                                             "update_date", "creation_date"};

Row grant(int64_t id, int64_t value, const char* update, const char* creation) {
  return {Value::integer(id), Value::integer(7), Value::integer(8), Value::integer(value), Value::text(update),
          Value::text(creation)};
}

TEST(Resolver, DefaultKeepsTheSmallerGrantValueTheLocalKeyAndTheDateBounds) {
  ConflictResolver r = ConflictResolver::builtin_default();
  Row local = grant(1, 5, "2024-01-01 00:00:00.000", "2024-01-01 00:00:00.000");
  Row dump = grant(2, 3, "2025-01-01 00:00:00.000", "2023-06-01 00:00:00.000");
  Row merged = r.resolve(DbId::Mephisto, "granted_qualifications", kGrantCols, 0, local, dump);
  EXPECT_EQ(merged[0], Value::integer(1));  // local key
  EXPECT_EQ(merged[3], Value::integer(3));  // smaller value
  EXPECT_EQ(merged[4], Value::text("2025-01-01 00:00:00.000"));  // latest update
  EXPECT_EQ(merged[5], Value::text("2023-06-01 00:00:00.000"));  // earliest creation
  // A tie keeps the local row.
  Row same = grant(2, 5, "2024-01-01 00:00:00.000", "2024-01-01 00:00:00.000");
  EXPECT_EQ(r.resolve(DbId::Mephisto, "granted_qualifications", kGrantCols, 0, local, same), local);
}

TEST(Resolver, DefaultTakesTheLargerProlificBlockAndKeepsLocalRowsElsewhere) {
  ConflictResolver r = ConflictResolver::builtin_default();
  std::vector<std::string> cols = {"id", "worker_id", "is_blocked", "update_date", "creation_date"};
  Row local = {Value::integer(1), Value::text("w"), Value::integer(0), Value::null(), Value::null()};
  Row dump = {Value::integer(9), Value::text("w"), Value::integer(1), Value::null(), Value::null()};
  EXPECT_EQ(r.resolve(DbId::Prolific, "workers", cols, 0, local, dump)[2], Value::integer(1));
  // A provider without an entry (mock) uses the default strategy: keep local.
  std::vector<std::string> mock_cols = {"worker_id", "is_blocked"};
  Row ml = {Value::text("5"), Value::integer(0)}, md = {Value::text("5"), Value::integer(1)};
  EXPECT_EQ(r.resolve(DbId::Mock, "workers", mock_cols, 0, ml, md), ml);
}

TEST(Resolver, ExampleSetsY2kAndConcatenatesTaskNamesAndCoversProlific) {
  ConflictResolver r = ConflictResolver::builtin_example();
  std::vector<std::string> cols = {"task_id", "task_name", "creation_date"};
  Row local = {Value::integer(1), Value::text("t"), Value::text("2024-01-01 00:00:00.000")};
  Row dump = {Value::integer(2), Value::text("t"), Value::text("2023-01-01 00:00:00.000")};
  Row merged = r.resolve(DbId::Mephisto, "tasks", cols, 0, local, dump);
  EXPECT_EQ(merged[1], Value::text("t + t"));
  EXPECT_EQ(merged[2], Value::text("2000-01-01 00:00:00.000"));
  // Defect 11: the original fails on any prolific conflict with this resolver.
  std::vector<std::string> pcols = {"id", "worker_id", "is_blocked", "update_date", "creation_date"};
  Row pl = {Value::integer(1), Value::text("w"), Value::integer(0), Value::null(), Value::text("2024-01-01 00:00:00.000")};
  Row pd = {Value::integer(2), Value::text("w"), Value::integer(1), Value::null(), Value::null()};
  Row pm = r.resolve(DbId::Prolific, "workers", pcols, 0, pl, pd);
  EXPECT_EQ(pm[2], Value::integer(0));
  EXPECT_EQ(pm[4], Value::text("2000-01-01 00:00:00.000"));
}

TEST(Resolver, CustomDescriptionWithEveryMethod) {
  ConflictResolver r = ConflictResolver::parse(R"({"default_strategy": "pick_row_from_dump",
    "strategies": {"mephisto": {"granted_qualifications": {"method": "pick_row_with_larger_value",
                                                          "kwargs": {"row_field_name": "value"}},
                                "workers": {"method": "pick_row_with_earlier_value"},
                                "projects": {"method": "pick_row_with_later_value", "kwargs": {}},
                                "requesters": {"method": "concatenate_values",
                                               "kwargs": {"row_field_name": "requester_name", "separator": "|"}}},
                   "prolific": {}, "mock": {"workers": {"method": "pick_row_from_db"}}}})",
                                               "r.json");
  EXPECT_EQ(r.strategy(DbId::Mephisto, "granted_qualifications").method, Method::PickLarger);
  EXPECT_EQ(r.strategy(DbId::Mephisto, "workers").field, "creation_date");
  EXPECT_EQ(r.strategy(DbId::Prolific, "workers").method, Method::PickFromDump);  // empty entry: default
  Row local = grant(1, 5, "2024-01-01 00:00:00", "2024-01-01 00:00:00");
  Row dump = grant(2, 9, "2024-01-01 00:00:00", "2024-01-01 00:00:00");
  EXPECT_EQ(r.resolve(DbId::Mephisto, "granted_qualifications", kGrantCols, 0, local, dump)[3], Value::integer(9));
  EXPECT_EQ(r.resolve(DbId::Mephisto, "tasks", kGrantCols, 0, local, dump)[3], Value::integer(9));  // from dump
}

TEST(Resolver, ComparisonRules) {
  EXPECT_LT(compare_for_resolver("value", Value::null(), Value::integer(-5)), 0);
  EXPECT_LT(compare_for_resolver("value", Value::text("9"), Value::integer(10)), 0);  // number stored as text
  EXPECT_LT(compare_for_resolver("value", Value::text("9"), Value::text("10")), 0);
  EXPECT_EQ(compare_for_resolver("creation_date", Value::text("2024-01-01T00:00:00"),
                                 Value::text("2024-01-01 00:00:00.000")), 0);  // instants
  EXPECT_GT(compare_for_resolver("creation_date", Value::text("2024-01-01T01:00:00+00:00"),
                                 Value::text("2024-01-01T01:30:00+01:00")), 0);
  EXPECT_LT(compare_for_resolver("name", Value::text("a"), Value::text("\xc3\xa9")), 0);
  // NULL loses: the smaller non-NULL value wins either way round.
  ConflictResolver r = ConflictResolver::builtin_default();
  Row local = grant(1, 5, "2024-01-01 00:00:00", "2024-01-01 00:00:00");
  Row dump = local;
  dump[3] = Value::null();
  EXPECT_EQ(r.resolve(DbId::Mephisto, "granted_qualifications", kGrantCols, 0, local, dump)[3], Value::integer(5));
  EXPECT_EQ(r.resolve(DbId::Mephisto, "granted_qualifications", kGrantCols, 0, dump, local)[3], Value::integer(5));
}

std::string usage_error(const std::string& json) {
  try {
    ConflictResolver::parse(json, "r.json");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Resolver, EveryMistakeInADescriptionIsAUsageError) {
  EXPECT_NE(usage_error("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(usage_error("[]").find("must hold a JSON object"), std::string::npos);
  EXPECT_NE(usage_error(R"({"default": "x"})").find("unknown field \"default\""), std::string::npos);
  EXPECT_NE(usage_error(R"({"default_strategy": "pick_best"})").find("unknown method \"pick_best\""), std::string::npos);
  EXPECT_NE(usage_error(R"({"default_strategy": "pick_row_with_smaller_value"})").find("needs the argument"),
            std::string::npos);
  EXPECT_NE(usage_error(R"({"strategies": {"nosuchdb": {}}})").find("unknown database \"nosuchdb\""), std::string::npos);
  EXPECT_NE(usage_error(R"({"strategies": {"mephisto": {"nosuch": {"method": "pick_row_from_db"}}}})")
                .find("unknown table \"nosuch\""), std::string::npos);
  EXPECT_NE(usage_error(R"({"strategies": {"mephisto": {"tasks": {"method": "pick_row_with_smaller_value",
      "kwargs": {"row_field_name": "nosuchcol"}}}}})").find("no column \"nosuchcol\""), std::string::npos);
  EXPECT_NE(usage_error(R"({"strategies": {"mephisto": {"tasks": {"method": "pick_row_from_db",
      "kwargs": {"row_field_name": "task_name"}}}}})").find("takes no argument"), std::string::npos);
  EXPECT_NE(usage_error(R"({"strategies": {"mephisto": {"tasks": {"method": "concatenate_values",
      "kwargs": {"row_field_name": "task_name"}}}}})").find("needs the argument \"separator\""), std::string::npos);
  EXPECT_NE(usage_error(R"({"strategies": {"mephisto": {"tasks": {"method": 3}}}})").find("needs a \"method\""),
            std::string::npos);
  EXPECT_NE(usage_error(std::string(100, '[') + std::string(100, ']')).find("nested too deeply"), std::string::npos);
}

TEST(Resolver, UnknownNameIsAUsageError) {
  EXPECT_THROW(ConflictResolver::from_option("NoSuchResolver"), UsageError);
  EXPECT_EQ(ConflictResolver::from_option("ExampleMergeConflictResolver").name(), "ExampleMergeConflictResolver");
  test::TempDir dir;
  test::write(dir / "r.json", R"({"default_strategy": "pick_row_from_dump"})");
  EXPECT_EQ(ConflictResolver::from_option((dir / "r.json").string()).strategy(DbId::Mock, "units").method,
            Method::PickFromDump);
}

}  // namespace
}  // namespace mdb
