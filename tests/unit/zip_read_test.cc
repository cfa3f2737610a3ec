// The zip reader's whole-member reads (issue 16: a member of up to 1 MiB is read with its local
// header in one read and inflated by libdeflate in one call): they give the bytes that streaming
// and pull reading give, around every size boundary, and find the same damage (deflate data, CRC,
// sizes that lie either way), naming the zip and the member.
#include <gtest/gtest.h>

#include <cstring>

#include "base/error.h"
#include "formats/zip.h"
#include "platform/zipfile.h"
#include "tests/support/testenv.h"

namespace mdb {
namespace {

namespace stdfs = std::filesystem;
using test::TempDir;

constexpr time_t kMtime = 1764000000;

std::string text(size_t n) {
  std::string s(n, ' ');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
  return s;
}

std::string noise(size_t n) {
  std::string s(n, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : s) c = static_cast<char>((x ^= x << 13, x ^= x >> 7, x ^= x << 17) >> 24);
  return s;
}

void write_zip(const stdfs::path& target, const std::vector<std::pair<std::string, std::string>>& files) {
  zip::Writer w(fs::ZipFileOutput::reserve(target), kMtime);
  for (const auto& [name, content] : files) w.add_file(name, zip::memory_input(content));
  w.commit();
}

std::string streamed(const zip::Reader& r, const zip::Entry& e) {
  std::string out;
  r.stream(e, [&](std::string_view chunk) { out.append(chunk); });
  return out;
}

std::string pulled(const zip::Reader& r, const zip::Entry& e) {
  std::unique_ptr<zip::MemberReader> in = r.open(e);
  std::string out;
  char buf[4099];
  while (size_t n = in->read(buf, sizeof buf)) out.append(buf, n);
  return out;
}

// The error of reading member 0 whole, or "" when it reads.
std::string read_error(const stdfs::path& path) {
  zip::Reader r(path);
  try {
    r.read(r.entry(0), uint64_t{1} << 30);
  } catch (const Error& e) {
    std::string streaming;
    try {
      streamed(r, r.entry(0));
    } catch (const Error& s) {
      streaming = s.what();
    }
    EXPECT_FALSE(streaming.empty()) << "streaming reads what a whole read refuses: " << e.what();
    return e.what();
  }
  return "";
}

// The zip's bytes with the 4 bytes at `at` (little-endian) of the first central directory record set to `v`.
std::string with_central_u32(std::string bytes, size_t at, uint32_t v) {
  size_t record = bytes.find(std::string("PK\x01\x02", 4));
  EXPECT_NE(record, std::string::npos);
  for (int i = 0; i < 4; ++i) bytes[record + at + i] = static_cast<char>(v >> (8 * i));
  return bytes;
}

TEST(ZipWholeRead, GivesWhatStreamingGivesAtEverySizeBoundary) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> files;
  for (size_t n : {size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{65537}, size_t{1} << 20,
                   (size_t{1} << 20) + 1, size_t{3} << 20}) {
    files.push_back({"text_" + std::to_string(n), text(n)});
    files.push_back({"noise_" + std::to_string(n), noise(n)});  // stored: it does not compress
  }
  stdfs::path path = dir / "sizes.zip";
  write_zip(path, files);
  zip::Reader r(path);
  ASSERT_EQ(r.size(), files.size());
  for (const zip::Entry& e : r.entries()) {
    const std::string& want = files[e.index].second;
    EXPECT_EQ(r.read(e, want.size()), want) << e.name;
    EXPECT_EQ(streamed(r, e), want) << e.name;
    EXPECT_EQ(pulled(r, e), want) << e.name;
  }
}

TEST(ZipWholeRead, FindsDamageLikeStreaming) {
  TempDir dir;
  int round = 0;
  for (const std::string& content : {text(5000), noise(5000), text(3 << 20)}) {
    std::string prefix = std::to_string(++round) + "_";
    stdfs::path good = dir / (prefix + "good.zip");
    write_zip(good, {{"m", content}});
    std::string bytes = test::read(good);
    ASSERT_EQ(read_error(good), "");
    auto error_of = [&](const std::string& label, const std::string& damaged) {
      stdfs::path p = dir / (prefix + label + ".zip");
      test::write(p, damaged);
      std::string err = read_error(p);
      EXPECT_NE(err.find(p.string()), std::string::npos) << label << ": " << err;
      EXPECT_NE(err.find("member 'm'"), std::string::npos) << label << ": " << err;
      return err;
    };
    uint32_t size = static_cast<uint32_t>(content.size());
    EXPECT_NE(error_of("crc", with_central_u32(bytes, 16, 12345)).find("CRC error"), std::string::npos);
    EXPECT_NE(error_of("smaller", with_central_u32(bytes, 24, size - 1)).find("more data than"), std::string::npos);
    EXPECT_NE(error_of("larger", with_central_u32(bytes, 24, size + 1)).find("holds " + std::to_string(size)),
              std::string::npos);
    std::string flipped = bytes;
    for (size_t i = 40; i < 70; ++i) flipped[i] = static_cast<char>(~flipped[i]);  // in the member's data
    EXPECT_NE(error_of("flipped", flipped).find("is damaged"), std::string::npos);
  }
}

}  // namespace
}  // namespace mdb
