// base/read_ahead (issue 16): whatever the source's pieces and the reader's asks, the reader gets
// the source's bytes in order, then 0; what the source threw comes after the bytes before it, and
// the source is never called again after its end or its failure; a reader that stops early
// waits for nothing and leaks nothing.
#include "base/read_ahead.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>

namespace mdb {
namespace {

// `data` handed out in pieces of the sizes in `pieces` (cycled), counting the calls after its end.
struct Source {
  std::string data;
  std::vector<size_t> pieces{1};
  size_t fail_at = std::string::npos;  // throws once this many bytes were handed out
  size_t at = 0, calls = 0;
  std::atomic<int> calls_after_end{0};
  bool ended = false;

  size_t read(char* buf, size_t n) {
    if (ended) ++calls_after_end;
    if (at >= fail_at) {
      ended = true;
      throw std::runtime_error("the source broke at " + std::to_string(at));
    }
    size_t k = std::min({n, pieces[calls++ % pieces.size()], data.size() - at, fail_at - at});
    std::copy_n(data.data() + at, k, buf);
    at += k;
    if (k == 0) ended = true;
    return k;
  }
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + i / 251);
  return s;
}

// Reads `ahead` to its end with asks of the sizes in `asks` (cycled).
std::string drain(ReadAhead& ahead, const std::vector<size_t>& asks) {
  std::string out;
  for (size_t i = 0;; ++i) {
    std::string buf(asks[i % asks.size()], '\0');
    size_t n = ahead.read(buf.data(), buf.size());
    if (n == 0 && !buf.empty()) return out;
    out.append(buf, 0, n);
  }
}

RC_GTEST_PROP(ReadAhead, ReadsTheSourceInOrderThenEnds, ()) {
  const size_t size = *rc::gen::oneOf(rc::gen::inRange<size_t>(0, 1000),
                                      rc::gen::inRange<size_t>(ReadAhead::kChunk - 2, ReadAhead::kChunk + 3),
                                      rc::gen::inRange<size_t>(0, 5 * ReadAhead::kChunk));
  const bool serial = *rc::gen::arbitrary<bool>();
  Source src;
  src.data = pattern(size);
  src.pieces = *rc::gen::nonEmpty(rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(1, 300000)));
  auto asks = *rc::gen::nonEmpty(rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(1, 600000)));
  {
    ReadAhead ahead([&](char* b, size_t n) { return src.read(b, n); }, serial);
    RC_ASSERT(drain(ahead, asks) == src.data);
    char c;
    RC_ASSERT(ahead.read(&c, 1) == 0u);  // and stays at its end
  }
  RC_ASSERT(src.calls_after_end.load() == 0);
}

TEST(ReadAhead, WhatTheSourceThrewComesAfterTheBytesBeforeIt) {
  for (bool serial : {false, true}) {
    Source src;
    src.data = pattern(3 * ReadAhead::kChunk);
    src.pieces = {70000};
    src.fail_at = ReadAhead::kChunk + 12345;
    ReadAhead ahead([&](char* b, size_t n) { return src.read(b, n); }, serial);
    std::string got;
    std::string buf(4096, '\0');
    try {
      for (;;) {
        size_t n = ahead.read(buf.data(), buf.size());
        if (n == 0) {
          ADD_FAILURE() << "ended without the source's failure";
          break;
        }
        got.append(buf, 0, n);
      }
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), "the source broke at " + std::to_string(src.fail_at));
    }
    EXPECT_EQ(got.size(), src.fail_at) << "serial " << serial;
    EXPECT_TRUE(got == src.data.substr(0, src.fail_at)) << "serial " << serial;
    EXPECT_EQ(src.calls_after_end.load(), 0);
  }
}

TEST(ReadAhead, AReaderThatStopsEarlyWaitsForNothing) {
  Source src;
  src.data = pattern(20 * ReadAhead::kChunk);
  src.pieces = {4096};
  {
    ReadAhead ahead([&](char* b, size_t n) { return src.read(b, n); });
    char buf[100];
    ASSERT_EQ(ahead.read(buf, sizeof buf), sizeof buf);
  }
  // Only the chunks asked for ahead were read, not the whole source.
  EXPECT_LE(src.at, (1 + ReadAhead::kChunksAhead) * ReadAhead::kChunk);
}

}  // namespace
}  // namespace mdb
