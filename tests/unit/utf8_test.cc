// utf8::valid against a reading one code point at a time (utf8::decode), over strings built
// from ASCII runs (the fast path reads eight bytes a step) and every kind of bad sequence.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>

#include "formats/utf8.h"

namespace mdb {
namespace {

bool valid_one_at_a_time(std::string_view s) {
  unsigned cp;
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8::decode(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

TEST(Utf8, BadSequencesAfterAsciiRunsAreFoundWhereverTheyFall) {
  for (std::string bad : {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xff"}) {
    for (size_t before = 0; before < 20; ++before) {
      std::string s = std::string(before, 'a') + bad + std::string(before % 9, 'b');
      EXPECT_FALSE(utf8::valid(s)) << before;
    }
  }
  EXPECT_TRUE(utf8::valid("runs/project/1/assignment/agent/data/caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80.json"));
  EXPECT_TRUE(utf8::valid(""));
}

RC_GTEST_PROP(Utf8, AgreesWithDecodingOneCodePointAtATime, ()) {
  auto pieces = *rc::gen::container<std::vector<std::string>>(rc::gen::oneOf(
      rc::gen::map(rc::gen::inRange(0, 24), [](int n) { return std::string(static_cast<size_t>(n), 'x'); }),
      rc::gen::map(rc::gen::arbitrary<std::string>(),
                   [](std::string bytes) { return bytes.substr(0, 4); }),
      rc::gen::element(std::string("\xc3\xa9"), std::string("\xe2\x82\xac"), std::string("\xf0\x9f\x98\x80"))));
  std::string s;
  for (const std::string& p : pieces) s += p;
  for (size_t pad = 0; pad < 8; ++pad) {  // every alignment of the pieces to the eight-byte steps
    std::string padded = std::string(pad, ' ') + s;
    RC_ASSERT(utf8::valid(padded) == valid_one_at_a_time(padded));
  }
}

}  // namespace
}  // namespace mdb
