#include "formats/pyjson.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

namespace mdb {
namespace {

TEST(PythonFloatRepr, MatchesPython) {
  EXPECT_EQ(python_float_repr(0.1), "0.1");
  EXPECT_EQ(python_float_repr(2.0), "2.0");
  EXPECT_EQ(python_float_repr(0.5), "0.5");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(python_float_repr(123456789012345678.0), "1.2345678901234568e+17");
  EXPECT_EQ(python_float_repr(1e-05), "1e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(1.5e-7), "1.5e-07");
  EXPECT_EQ(python_float_repr(-0.0), "-0.0");
  EXPECT_EQ(python_float_repr(-2.5), "-2.5");
  EXPECT_EQ(python_float_repr(1e300), "1e+300");
  EXPECT_EQ(python_float_repr(std::numeric_limits<double>::infinity()), "Infinity");
  EXPECT_EQ(python_float_repr(-std::numeric_limits<double>::infinity()), "-Infinity");
  EXPECT_EQ(python_float_repr(std::nan("")), "NaN");
  EXPECT_EQ(python_float_repr(5e-324), "5e-324");
}

RC_GTEST_PROP(PythonFloatRepr, RoundTrips, (double v)) {
  RC_PRE(std::isfinite(v));
  std::string s = python_float_repr(v);
  EXPECT_EQ(std::stod(s), v) << s;
}

TEST(JsonString, EnsureAsciiEscapes) {
  std::string out;
  append_json_string(out, "a\"b\\c\n\r\t\b\f\x01\x7f/\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(out, R"("a\"b\\c\n\r\t\b\f\u0001\u007f/\u00e9\ud83d\ude00")");
  out = "[";  // appends; escapes first, last and side by side; plain runs between them
  append_json_string(out, "\"\"plain run\\\t\xc3\xa9");
  EXPECT_EQ(out, R"(["\"\"plain run\\\t\u00e9")");
  out.clear();
  append_json_string(out, "");
  EXPECT_EQ(out, R"("")");
}

TEST(JsonString, InvalidUtf8BecomesSurrogateEscape) {
  std::string out;
  append_json_string(out, std::string("x\xff\xc3", 3));
  EXPECT_EQ(out, R"("x\udcff\udcc3")");
}

TEST(PythonRepr, QuotesAndEscapesLikePython) {
  // Expected values printed by CPython 3 repr().
  EXPECT_EQ(python_repr("plain"), "'plain'");
  EXPECT_EQ(python_repr("it's"), R"("it's")");
  EXPECT_EQ(python_repr("say \"hi\""), R"('say "hi"')");
  EXPECT_EQ(python_repr("both ' and \""), R"('both \' and "')");
  EXPECT_EQ(python_repr("tab\there\nnl\r"), R"('tab\there\nnl\r')");
  EXPECT_EQ(python_repr("\x01\x7f\u0085\u00a0\u00ad"), R"('\x01\x7f\x85\xa0\xad')");
  EXPECT_EQ(python_repr("ünï опрос 😀"), "'ünï опрос 😀'");
  EXPECT_EQ(python_repr("back\\slash"), R"('back\\slash')");
  EXPECT_EQ(python_repr(std::string("x\xffy", 3)), R"('x\udcffy')");
  EXPECT_EQ(python_repr(std::string("a\0b", 3)), R"('a\x00b')");
}

TEST(PyJsonWriter, IndentLikePython) {
  std::string out;
  PyJsonWriter w(out, 2);
  w.begin_object();
  w.key("a");
  w.begin_array();
  w.integer(1);
  w.string("x");
  w.end_array();
  w.key("b");
  w.begin_array();
  w.end_array();
  w.key("c");
  w.begin_object();
  w.end_object();
  w.key("d");
  w.null();
  w.end_object();
  EXPECT_EQ(out, "{\n  \"a\": [\n    1,\n    \"x\"\n  ],\n  \"b\": [],\n  \"c\": {},\n  \"d\": null\n}");
}

TEST(PyJsonWriter, IndentZeroAndNone) {
  std::string zero, none;
  for (auto [buf, indent] : {std::pair<std::string*, int>{&zero, 0}, {&none, -1}}) {
    PyJsonWriter w(*buf, indent);
    w.begin_array();
    w.string("a");
    w.boolean(true);
    w.real(2.0);
    w.end_array();
  }
  EXPECT_EQ(zero, "[\n\"a\",\ntrue,\n2.0\n]");
  EXPECT_EQ(none, "[\"a\", true, 2.0]");
}

// What a Cap'n Proto half keeps of dump_metadata (indent=None) is written again with the JSON
// member's indent, byte for byte as the writer renders it directly.
void metadata_like(PyJsonWriter& w) {
  w.begin_object();
  w.key("migrations");
  w.begin_object();
  w.key("mephisto");
  w.string("20241002_modify_qualifications");
  w.key("mock");
  w.null();
  w.end_object();
  w.key("export_options");
  w.begin_object();
  w.key("-l/--labels");
  w.begin_array();
  w.string("a, b: \"c\" [d] {e}");
  w.string(std::string("\xff\\", 2));
  w.end_array();
  w.key("-qn/--qualification-names");
  w.begin_array();
  w.end_array();
  w.key("-del/--delete-exported-data");
  w.boolean(false);
  w.key("-i/--export-indent");
  w.integer(2);
  w.end_object();
  w.key("pk_substitutions");
  w.begin_object();
  w.end_object();
  w.key("ratio");
  w.real(-1.5e-07);
  w.end_object();
}

TEST(PyJsonWriter, CompactIsWrittenAgainWithTheWritersIndent) {
  std::string compact;
  PyJsonWriter c(compact, -1);
  metadata_like(c);
  for (int indent : {-1, 0, 2, 7}) {
    std::string direct, again;
    PyJsonWriter d(direct, indent), a(again, indent);
    for (PyJsonWriter* w : {&d, &a}) {
      w->begin_object();
      w->key("mephisto");
      w->begin_object();
      w->end_object();
      w->key("dump_metadata");
    }
    metadata_like(d);
    ASSERT_TRUE(a.compact(compact)) << indent;
    d.end_object();
    a.end_object();
    EXPECT_EQ(again, direct) << indent;
  }
}

TEST(PyJsonWriter, CompactTakesOnlyTheFormItWrites) {
  for (std::string_view bad : {"", "{", "}", "{\"a\": 1,}", "{\"a\" 1}", "{\"a\":1}", "{1}", "[1 2]", "[1,2]",
                               "{\"a\": 1}}", "[1], [2]", "[1][2]", "\"open", "[\"a\": 1]", "{\"a\": }", "[,]",
                               "{\"a\": 1, 2}", "[1, ]", "{\"a\": [}]", "1 "}) {
    std::string out;
    PyJsonWriter w(out, 2);
    EXPECT_FALSE(w.compact(bad)) << bad;
  }
}

std::string utf8(uint32_t cp) {
  std::string o;
  if (cp < 0x80) o += static_cast<char>(cp);
  else if (cp < 0x800) { o += static_cast<char>(0xC0 | (cp >> 6)); o += static_cast<char>(0x80 | (cp & 0x3F)); }
  else if (cp < 0x10000) {
    o += static_cast<char>(0xE0 | (cp >> 12));
    o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    o += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    o += static_cast<char>(0xF0 | (cp >> 18));
    o += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    o += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return o;
}

RC_GTEST_PROP(JsonString, ValidUtf8RoundTripsThroughAParser, ()) {
  auto cps = *rc::gen::container<std::vector<uint32_t>>(rc::gen::oneOf(
      rc::gen::inRange<uint32_t>(0, 0x80), rc::gen::inRange<uint32_t>(0x80, 0xD800),
      rc::gen::inRange<uint32_t>(0xE000, 0x110000)));
  std::string s;
  for (uint32_t cp : cps) s += utf8(cp);
  std::string out;
  append_json_string(out, s);
  for (unsigned char c : out) RC_ASSERT(c >= 0x20 && c < 0x7f);
  RC_ASSERT(nlohmann::json::parse(out).get<std::string>() == s);
}

}  // namespace
}  // namespace mdb
