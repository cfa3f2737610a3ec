// How export packs members (issue 16): media that do not compress are stored (method 0), not
// deflated, and come back exactly through import; members are packed on a pool of threads, yet the
// zip holds the same members in the same order with the same bytes whether MDB_THREADS is 1 or more.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/export/export_support.h"

namespace mdb::test {
namespace {

// One line per member, in the zip's order: name, method, CRC, sizes and a hash of its raw
// (compressed) bytes as they lie in the zip, read by Python's zipfile as the original reads it.
std::vector<std::string> raw_members(const stdfs::path& zip) {
  const char* script = R"(
import hashlib, struct, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
f = open(sys.argv[1], 'rb')
for i in z.infolist():
    f.seek(i.header_offset)
    head = f.read(30)
    name_len, extra_len = struct.unpack('<HH', head[26:30])
    f.seek(i.header_offset + 30 + name_len + extra_len)
    raw = f.read(i.compress_size)
    assert z.read(i.filename) is not None
    print(i.filename, i.compress_type, i.CRC, i.file_size, i.compress_size, hashlib.sha256(raw).hexdigest())
)";
  RunResult r = run("/usr/bin/env", {"python3", "-c", script, zip.string()});
  if (r.exit_code != 0) throw std::runtime_error("python3 could not read " + zip.string() + ": " + r.err);
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string field(const std::string& line, int index) {
  std::istringstream in(line);
  std::string f;
  for (int i = 0; i <= index; ++i) in >> f;
  return f;
}

bool is_media(const std::string& name) {
  for (const char* ext : {".jpg", ".webm", ".pdf"})
    if (name.size() > 5 && name.ends_with(ext)) return true;
  return false;
}

stdfs::path export_with_threads(const stdfs::path& data, const stdfs::path& out, const std::string& threads) {
  RunResult r = export_dump(data, out, {}, "", {{"MDB_THREADS", threads}});
  if (r.exit_code != 0) throw std::runtime_error("export failed: " + r.err);
  return dump_zips(out).back();
}

// The run files of a data dir (path -> content).
std::map<std::string, std::string> run_files(const stdfs::path& data) {
  std::map<std::string, std::string> out;
  for (const auto& [path, content] : tree(data))
    if (path.find("runs/") != std::string::npos && path.find(".mephisto-db") == std::string::npos)
      out[path] = content;
  return out;
}

TEST(ExportPacking, RandomMediaAreStoredAndImportBackExactly) {
  TempDir tmp;
  stdfs::path data = sample(tmp.path(), 5, {"--task-runs", "3", "--units-per-run", "6", "--media-fraction", "1"});
  stdfs::path zip = export_with_threads(data, tmp / "out", "2");
  int media = 0, deflated_json = 0;
  for (const std::string& line : raw_members(zip)) {
    std::string name = field(line, 0), method = field(line, 1);
    if (is_media(name)) {
      ++media;
      EXPECT_EQ(method, "0") << line;                      // stored
      EXPECT_EQ(field(line, 3), field(line, 4)) << line;  // not grown by a single byte
    }
    if (name.ends_with("agent_data.json") && method == "8") ++deflated_json;
  }
  EXPECT_GT(media, 2);
  EXPECT_GT(deflated_json, 2);

  stdfs::path target = tmp / "target" / "data";
  stdfs::create_directories(target);
  RunResult r = run_mephisto({"--data-dir", target.string(), "-y", "db", "import", "-f", zip.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> before = run_files(data), after = run_files(target);
  EXPECT_FALSE(before.empty());
  EXPECT_EQ(before, after) << changed_paths(before, after);
}

TEST(ExportPacking, OneOrManyThreadsGiveTheSameMembersAndBytes) {
  TempDir tmp;
  stdfs::path data = sample(tmp.path(), 9, {"--task-runs", "4", "--units-per-run", "8", "--media-fraction", "0.5"});
  std::vector<std::string> one = raw_members(export_with_threads(data, tmp / "one", "1"));
  std::vector<std::string> many = raw_members(export_with_threads(data, tmp / "many", "3"));
  ASSERT_EQ(one.size(), many.size());
  ASSERT_GT(one.size(), 50u);
  for (size_t i = 0; i < one.size(); ++i) {
    // The JSON and Cap'n Proto members hold the export's timestamp; the rest must match byte for byte.
    std::string name = field(one[i], 0), other = field(many[i], 0);
    bool top = name.find('/') == std::string::npos && (name.ends_with(".json") || name.ends_with(".capnp"));
    if (top) {  // named after the time of the export
      EXPECT_EQ(name.substr(name.find('.')), other.substr(other.find('.')));
      continue;
    }
    EXPECT_EQ(one[i], many[i]);
  }
}

}  // namespace
}  // namespace mdb::test
