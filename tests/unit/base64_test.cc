// base64 of BLOB values in the JSON half: the test vectors of RFC 4648, section 10, and bytes
// with the high bit set.
#include <gtest/gtest.h>

#include "formats/base64.h"

namespace mdb {
namespace {

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
}

TEST(Base64, EveryByteValue) {
  EXPECT_EQ(base64(std::string("\x00\xff\xfe", 3)), "AP/+");
  EXPECT_EQ(base64(std::string("\xfb\xef\xbe", 3)), "++++");
}

}  // namespace
}  // namespace mdb
