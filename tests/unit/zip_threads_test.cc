// formats/zip's writer on a pool (issue 16): whatever the members (text, noise, empty, large enough
// to be streamed), the zip written with one thread and with several is the same bytes, what was
// written reads back, and data that do not compress are stored, not deflated.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "formats/zip.h"
#include "platform/zipfile.h"
#include "tests/support/testenv.h"

namespace mdb {
namespace {

namespace stdfs = std::filesystem;
using test::TempDir;

constexpr time_t kMtime = 1764000000;

std::string noise(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed | 1;
  for (char& c : s) c = static_cast<char>((x ^= x << 13, x ^= x >> 7, x ^= x << 17) >> 24);
  return s;
}

std::string write_zip(const stdfs::path& target, const std::vector<std::pair<std::string, std::string>>& files,
                      unsigned threads) {
  zip::Writer w(fs::ZipFileOutput::reserve(target), kMtime, threads);
  for (const auto& [name, content] : files) w.add_file(name, zip::memory_input(content));
  w.commit();
  return test::read(target);
}

// Text, noise, or text with noise in it, of sizes around the pool's 1 MiB limit and the probe's 4 KiB.
rc::Gen<std::string> member() {
  return rc::gen::mapcat(rc::gen::inRange(0, 6), [](int kind) -> rc::Gen<std::string> {
    auto size = rc::gen::oneOf(rc::gen::inRange<size_t>(0, 5000), rc::gen::inRange<size_t>(4000, 70000),
                               rc::gen::inRange<size_t>((1 << 20) - 10, (1 << 20) + 70000));
    return rc::gen::map(rc::gen::pair(size, rc::gen::arbitrary<uint64_t>()), [kind](std::pair<size_t, uint64_t> p) {
      if (kind < 2) return noise(p.first, p.second);
      std::string text;
      while (text.size() < p.first) text += "line " + std::to_string(text.size() % 977) + " of some text\n";
      text.resize(p.first);
      if (kind == 2 && !text.empty()) text.replace(0, std::min<size_t>(text.size(), 3000), noise(3000, p.second), 0,
                                                   std::min<size_t>(text.size(), 3000));
      return text;
    });
  });
}

RC_GTEST_PROP(ZipThreads, OneOrManyThreadsWriteTheSameBytesThatReadBack, ()) {
  auto contents = *rc::gen::resize(12, rc::gen::container<std::vector<std::string>>(member()));
  unsigned threads = *rc::gen::inRange(2u, 6u);
  std::vector<std::pair<std::string, std::string>> files;
  for (size_t i = 0; i < contents.size(); ++i) files.push_back({"m/" + std::to_string(i), contents[i]});
  if (files.empty()) files.push_back({"only", ""});
  TempDir dir;
  std::string serial = write_zip(dir / "1.zip", files, 1);
  std::string pooled = write_zip(dir / "n.zip", files, threads);
  RC_ASSERT(serial == pooled);
  zip::Reader r(dir / "n.zip");
  r.validate({});
  RC_ASSERT(r.size() == files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    const zip::Entry& e = r.entry(i);
    RC_ASSERT(e.name == files[i].first);
    RC_ASSERT(r.read(e, 1 << 30) == files[i].second);
    RC_ASSERT(e.compressed_size <= e.size);  // stored when deflate would not shrink it
  }
}

TEST(ZipThreads, NoiseIsStoredTextIsDeflatedAndUnzipAgrees) {
  TempDir dir;
  std::string big_text;  // streamed in pieces of 1 MiB, each deflated on its own
  for (int i = 0; big_text.size() < (3u << 20) + 12345; ++i) big_text += "{\"row\": " + std::to_string(i % 5000) + "},\n";
  std::vector<std::pair<std::string, std::string>> files = {
      {"small_noise.bin", noise(100000, 7)}, {"big_noise.webm", noise(3 << 20, 9)},
      {"text.json", std::string(200000, 'a')}, {"empty", ""}, {"big_text.json", big_text}};
  write_zip(dir / "z.zip", files, 4);
  zip::Reader r(dir / "z.zip");
  EXPECT_EQ(r.find("small_noise.bin")->compressed_size, 100000u);
  EXPECT_EQ(r.find("big_noise.webm")->compressed_size, uint64_t{3} << 20);
  EXPECT_LT(r.find("text.json")->compressed_size, 2000u);
  EXPECT_EQ(r.find("empty")->compressed_size, 0u);
  EXPECT_LT(r.find("big_text.json")->compressed_size, big_text.size() / 5);
  EXPECT_EQ(r.read(*r.find("big_text.json"), 1 << 30), big_text);
  test::RunResult t = test::run("/usr/bin/unzip", {"-tq", (dir / "z.zip").string()});
  EXPECT_EQ(t.exit_code, 0) << t.out << t.err;
  test::RunResult py = test::run(
      "/usr/bin/env", {"python3", "-c",
                       "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(z.testzip(), "
                       "[i.compress_type for i in z.infolist()], len(z.read('big_text.json')))",
                       (dir / "z.zip").string()});
  EXPECT_EQ(py.out, "None [0, 0, 8, 0, 8] " + std::to_string(big_text.size()) + "\n") << py.err;
}

}  // namespace
}  // namespace mdb
