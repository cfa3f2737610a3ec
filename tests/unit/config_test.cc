#include "datadir/config.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace mdb {
namespace {

TEST(Config, ReadsMainDataDirectory) {
  EXPECT_EQ(parse_main_data_directory("core:\n  main_data_directory: /srv/data\n", "c"), "/srv/data");
  EXPECT_EQ(parse_main_data_directory("# c\nmturk:\n  x: 1\ncore:\n  main_data_directory: '/a b/o''k' # c\n", "c"),
            "/a b/o'k");
  EXPECT_EQ(parse_main_data_directory("core:\n    main_data_directory: \"/q\\\"x\"\n", "c"), "/q\"x");
  EXPECT_EQ(parse_main_data_directory("core:\n  main_data_directory: null\n", "c"), std::nullopt);
  EXPECT_EQ(parse_main_data_directory("core:\n  other: 1\n", "c"), std::nullopt);
  EXPECT_EQ(parse_main_data_directory("", "c"), std::nullopt);
  EXPECT_EQ(parse_main_data_directory("main_data_directory: /top-level-does-not-count\n", "c"), std::nullopt);
}

TEST(Config, ParseErrorsNameFileAndLine) {
  try {
    parse_main_data_directory("core:\n  main_data_directory: [a]\n", "/home/u/.mephisto/config.yml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/home/u/.mephisto/config.yml: line 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_main_data_directory("core\n", "c"), Error);
  EXPECT_THROW(parse_main_data_directory("  core: 1\n", "c"), Error);
  EXPECT_THROW(parse_main_data_directory("core:\n    a: 1\n  b: 2\n", "c"), Error);
  EXPECT_THROW(parse_main_data_directory("core:\n\tmain_data_directory: x\n", "c"), Error);
  EXPECT_THROW(parse_main_data_directory("core:\n  main_data_directory: {a: 1}\n", "c"), Error);
  EXPECT_THROW(parse_main_data_directory("core: 1\n", "c"), Error);
  EXPECT_THROW(parse_main_data_directory("a: 1\n---\nb: 2\n", "c"), Error);
  EXPECT_THROW(parse_main_data_directory("core: &x\n  <<: *x\n", "c"), Error);  // a merge into itself
  // yaml-cpp 0.7 loops forever on these unless they are refused first (as Python's yaml refuses them).
  for (std::string_view hang : {std::string_view(","), std::string_view(",e#"), std::string_view("&)\0\0,o", 6),
                                std::string_view("core:\n\xfe\xff\n")})
    EXPECT_THROW(parse_main_data_directory(hang, "c"), Error) << hang;
}

// As Python's yaml.safe_load builds mappings.
TEST(Config, RepeatedAndMergedKeysAsPythonsYaml) {
  EXPECT_EQ(parse_main_data_directory("core:\n  main_data_directory: /a\n  main_data_directory: /b\n", "c"), "/b");
  EXPECT_EQ(parse_main_data_directory("d: &d {main_data_directory: /m}\ncore:\n  <<: *d\n", "c"), "/m");
  EXPECT_EQ(parse_main_data_directory("d: &d {main_data_directory: /m}\ncore: {main_data_directory: /own, <<: *d}\n",
                                      "c"),
            "/own");
  EXPECT_EQ(parse_main_data_directory(
                "a: &a {x: 1}\nb: &b {main_data_directory: /b}\nc: &c {main_data_directory: /c}\n"
                "core: {<<: [*a, *b, *c]}\n",
                "c"),
            "/b");
  EXPECT_EQ(parse_main_data_directory("d: &d {main_data_directory: /m}\ncore: {'<<': *d}\n", "c"), std::nullopt);
  EXPECT_EQ(parse_main_data_directory("core: {main_data_directory: ''}\n", "c"), std::nullopt);
  EXPECT_EQ(parse_main_data_directory("core: {main_data_directory: 'null'}\n", "c"), "null");
}

}  // namespace
}  // namespace mdb
