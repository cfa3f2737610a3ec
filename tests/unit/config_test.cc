#include "datadir/config.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace mdb::core {
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
  EXPECT_THROW(parse_main_data_directory("core:\n  main_data_directory: 'x\n", "c"), Error);
}

}  // namespace
}  // namespace mdb::core
