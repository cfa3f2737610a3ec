// The dump zip as other tools see it (export.md "The zip"), checked with Info-ZIP's unzip and
// zipinfo and the raw central directory rather than our own reader; and exports running at the
// same time (the original's defect 14: a shared temp dir gave a zip without its JSON).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "tests/export/export_support.h"

namespace mdb::test {
namespace {

uint32_t le(const std::string& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b.at(at + static_cast<size_t>(i)));
  return v;
}

// Each member's name and whether its general purpose flag has the UTF-8 bit (11), read from the
// central directory.
std::map<std::string, bool> utf8_flags(const stdfs::path& zip) {
  std::string b = read(zip);
  size_t eocd = b.rfind(std::string("PK\x05\x06", 4));
  if (eocd == std::string::npos) throw std::runtime_error("no end of central directory in " + zip.string());
  size_t count = le(b, eocd + 10, 2), at = le(b, eocd + 16, 4);
  std::map<std::string, bool> out;
  for (size_t i = 0; i < count; ++i) {
    if (b.compare(at, 4, std::string("PK\x01\x02", 4)) != 0) throw std::runtime_error("bad central directory");
    size_t name_len = le(b, at + 28, 2), extra_len = le(b, at + 30, 2), comment_len = le(b, at + 32, 2);
    out[b.substr(at + 46, name_len)] = (le(b, at + 8, 2) & 0x800) != 0;
    at += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

bool ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

TEST(ZipLayout, UnzipAndZipinfoSeeRelativeUtf8NamesDirectoryEntriesAndModes) {
  TempDir tmp;
  // Generated run dirs: project names with spaces, apostrophes and non-ASCII letters.
  stdfs::path data = sample(tmp.path(), 3);
  RunResult r = export_dump(data, tmp / "out", {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  stdfs::path zip = dump_zips(tmp / "out").at(0);
  std::string stem = zip.stem().string();

  EXPECT_EQ(run("/usr/bin/unzip", {"-tq", zip.string()}).exit_code, 0);
  RunResult names = run("/usr/bin/unzip", {"-Z1", zip.string()});
  ASSERT_EQ(names.exit_code, 0) << names.err;
  std::vector<std::string> members = lines(names.out);
  std::set<std::string> all(members.begin(), members.end());
  EXPECT_EQ(all.size(), members.size()) << "duplicate member names";
  EXPECT_EQ(members.at(0), stem + ".json");
  EXPECT_TRUE(all.count(stem + ".capnp"));
  size_t files = 0;
  bool non_ascii = false;
  for (const std::string& m : members) {
    SCOPED_TRACE(m);
    EXPECT_NE(m.front(), '/');
    EXPECT_EQ(("/" + m + "/").find("/../"), std::string::npos);
    EXPECT_EQ(m.find('\\'), std::string::npos);
    if (m == stem + ".json" || m == stem + ".capnp") continue;
    EXPECT_EQ(m.rfind("runs/", 0), 0u);
    // Every parent directory has its own entry.
    for (size_t slash = m.find('/'); slash != std::string::npos && slash + 1 < m.size(); slash = m.find('/', slash + 1))
      EXPECT_TRUE(all.count(m.substr(0, slash + 1))) << m.substr(0, slash + 1);
    if (m.back() != '/') ++files;
    non_ascii |= !ascii(m);
  }
  EXPECT_TRUE(non_ascii);
  // The files of the dump are the files of the run dirs, byte for byte (unzipped by Info-ZIP).
  unzip_to(zip, tmp / "unzipped");
  std::map<std::string, std::string> ours = tree(tmp / "unzipped" / "runs"), source = tree(data / "data" / "runs");
  EXPECT_EQ(ours, source);
  EXPECT_EQ(files, std::count_if(source.begin(), source.end(), [](const auto& e) { return e.first.back() != '/'; }));

  // Modes 0644 for files and 0755 for directories, as zipinfo lists them.
  RunResult info = run("/usr/bin/zipinfo", {"-s", zip.string()});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  std::vector<std::string> rows = lines(info.out);
  ASSERT_EQ(rows.size(), members.size() + 3);  // "Archive:", "Zip file size:", entries, totals
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string& row = rows[i + 2];
    EXPECT_EQ(row.substr(0, 10), members[i].back() == '/' ? "drwxr-xr-x" : "-rw-r--r--") << row;
    EXPECT_NE(row.find(" unx "), std::string::npos) << row;
  }

  // Non-ASCII names carry the UTF-8 flag, so every unzip reads them as UTF-8.
  for (const auto& [name, flagged] : utf8_flags(zip)) EXPECT_TRUE(flagged || ascii(name)) << name;
}

// Exports started together (in the same second, as far as a test can arrange it) each write a
// complete zip of their own, also with a fourth one running -qo beside them.
TEST(ZipLayout, ExportsRunningAtOnceEachWriteACompleteZip) {
  TempDir tmp;
  stdfs::path data = unpack(s1_backup(), tmp.path());
  // Start right after a second begins, so the dump names most likely collide.
  using namespace std::chrono;
  auto now = system_clock::now();
  std::this_thread::sleep_until(ceil<seconds>(now) + milliseconds(10));
  std::vector<std::future<RunResult>> running;
  for (int i = 0; i < 4; ++i)
    running.push_back(std::async(std::launch::async, [&, i] {
      return export_dump(data, tmp / "out", i == 3 ? std::vector<std::string>{"-qo"} : std::vector<std::string>{});
    }));
  std::set<std::string> reported;
  for (auto& f : running) {
    RunResult r = f.get();
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    size_t at = r.out.find("saved to file: ");
    ASSERT_NE(at, std::string::npos) << r.out;
    reported.insert(r.out.substr(at + 15, r.out.find('\n', at) - at - 15));
  }
  std::vector<stdfs::path> zips = dump_zips(tmp / "out");
  ASSERT_EQ(zips.size(), 4u);
  std::set<std::string> written;
  for (const stdfs::path& z : zips) written.insert(z.string());
  EXPECT_EQ(reported, written);
  std::vector<Dump> full;
  for (const stdfs::path& z : zips) {
    SCOPED_TRACE(z.filename().string());
    EXPECT_EQ(run("/usr/bin/unzip", {"-tq", z.string()}).exit_code, 0);
    Dump d = read_dump(z);  // the JSON member is named after its own zip
    EXPECT_EQ(d.json["dump_metadata"]["timestamp"], z.filename().string().substr(0, 19));
    if (d.json["dump_metadata"]["export_options"]["-qo/--qualification-only"] == true) {
      EXPECT_TRUE(d.files.empty());
    } else {
      full.push_back(std::move(d));
    }
  }
  ASSERT_EQ(full.size(), 3u);
  EXPECT_FALSE(full[0].files.empty());
  for (const Dump& d : full) {
    EXPECT_EQ(without_timestamp(d.json_text), without_timestamp(full[0].json_text));
    EXPECT_EQ(d.files, full[0].files);
  }
  // Nothing else is left in the export dir: no temp dirs, no partial zips.
  EXPECT_EQ(listing(tmp / "out" / "export").size(), 4u);
}

}  // namespace
}  // namespace mdb::test
