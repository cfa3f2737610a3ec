// formats/zip + store/zipfile: the deterministic writer (read back by Python's zipfile and
// by unzip), the safe reader on the original's zips and on hostile archives, and the
// all-or-nothing output file; members worked on in batches on threads (formats/zip_batches.h).
#include "formats/zip.h"
#include "formats/zip_batches.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <cstring>
#include <set>

#include "base/error.h"
#include "platform/fault_env.h"
#include "platform/zipfile.h"
#include "tests/support/fault_trace.h"
#include "tests/support/testenv.h"

namespace mdb {
namespace {

namespace stdfs = std::filesystem;
using test::TempDir;

constexpr time_t kMtime = 1764000000;  // 2025-11-24, a fixed time for reproducible archives

// Writes a zip of `files` (name -> content; names ending in '/' are directories).
void write_zip(const stdfs::path& target, const std::vector<std::pair<std::string, std::string>>& files) {
  zip::Writer w(fs::ZipFileOutput::reserve(target), kMtime);
  for (const auto& [name, content] : files) {
    if (name.back() == '/')
      w.add_directory(name);
    else
      w.add_file(name, zip::memory_input(content));
  }
  w.commit();
}

std::map<std::string, std::string> read_all(const stdfs::path& path) {
  zip::Reader r(path);
  r.validate({});
  std::map<std::string, std::string> out;
  for (const zip::Entry& e : r.entries()) out[e.name] = r.read(e, 1 << 30);
  return out;
}

std::set<std::string> dir_listing(const stdfs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : stdfs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

bool have_python() { return test::run("/usr/bin/env", {"python3", "-c", "pass"}).exit_code == 0; }

std::string validation_error(const stdfs::path& zip_path, const zip::Limits& limits = {}) {
  try {
    zip::Reader r(zip_path);
    r.validate(limits);
    for (const zip::Entry& e : r.entries()) r.read(e, 1 << 20);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// --- MemberBatches (formats/zip_batches.h)

// Results come back in the order the members were added, whatever the threads and however the
// batches were cut; a partial batch is handed over when its first result is asked for.
TEST(MemberBatches, ResultsComeInTheOrderAddedWithAnyThreads) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 100; ++i) files.emplace_back("m" + std::to_string(i), std::string(size_t(i) * 37, 'a' + i % 26));
  write_zip(dir / "z.zip", files);
  zip::Reader r(dir / "z.zip");
  for (const char* threads : {"1", "3"}) {
    test::ThreadsForTest with(threads);
    std::string got;
    {
      auto work = [](const zip::Reader& z, const zip::Entry& e) { return e.name + ":" + z.read(e, 1 << 20); };
      zip::MemberBatches<std::string> batches(r, work, 7, 1000);
      size_t added = 0, taken = 0;
      for (const zip::Entry& e : r.entries()) {
        batches.add(e);
        if (++added % 3 == 0) got += batches.next() + "|", ++taken;  // take some back while adding
      }
      batches.flush();
      for (; taken < added; ++taken) got += batches.next() + "|";
    }
    std::string want;
    for (const auto& [name, content] : files) want += name + ":" + content + "|";
    EXPECT_EQ(got, want) << "MDB_THREADS=" << threads;
  }
}

// What the work threw reaches next(), no later than the turn of the member it threw for.
TEST(MemberBatches, AFailureComesByItsMembersTurn) {
  TempDir dir;
  write_zip(dir / "z.zip", {{"a", "1"}, {"b", "2"}, {"bad", "3"}, {"c", "4"}});
  zip::Reader r(dir / "z.zip");
  for (const char* threads : {"1", "3"}) {
    test::ThreadsForTest with(threads);
    {
      auto work = [](const zip::Reader&, const zip::Entry& e) {
        if (e.name == "bad") throw Error("cannot read " + e.name);
        return e.name;
      };
      zip::MemberBatches<std::string> batches(r, work, 2, 1 << 20);
      for (const zip::Entry& e : r.entries()) batches.add(e);
      batches.flush();
      EXPECT_EQ(batches.next(), "a") << "MDB_THREADS=" << threads;
      EXPECT_EQ(batches.next(), "b") << "MDB_THREADS=" << threads;
      EXPECT_THROW(batches.next(), Error) << "MDB_THREADS=" << threads;
    }
  }
}

// --- Writer

TEST(ZipWriter, RoundTripsNamesModesAndContent) {
  TempDir dir;
  stdfs::path target = dir / "out.zip";
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  write_zip(target, {{"runs/", ""},
                     {"runs/Проект_β/", ""},
                     {"runs/Проект_β/a b'c\"d;%_.json", "{\"x\": 1}"},
                     {"runs/empty.bin", ""},
                     {"runs/big.bin", big},
                     {"dump.json", "{}"}});
  EXPECT_EQ(dir_listing(dir.path()), std::set<std::string>{"out.zip"});  // no partial file left
  auto content = read_all(target);
  EXPECT_EQ(content.size(), 6u);
  EXPECT_EQ(content["runs/Проект_β/a b'c\"d;%_.json"], "{\"x\": 1}");
  EXPECT_EQ(content["runs/big.bin"], big);
  EXPECT_EQ(content["runs/empty.bin"], "");

  zip::Reader r(target);
  for (const zip::Entry& e : r.entries()) EXPECT_EQ(e.unix_mode, e.is_directory ? 040755u : 0100644u) << e.name;

  // An independent reader agrees, with the same modes.
  test::RunResult z = test::run("/usr/bin/zipinfo", {target.string()});
  EXPECT_EQ(z.exit_code, 0) << z.err;
  EXPECT_NE(z.out.find("drwxr-xr-x"), std::string::npos);
  EXPECT_NE(z.out.find("-rw-r--r--"), std::string::npos);
  EXPECT_EQ(test::run("/usr/bin/unzip", {"-tq", target.string()}).exit_code, 0);
}

TEST(ZipWriter, PythonZipfileReadsItWithUtf8FlagModesAndFixedTimes) {
  if (!have_python()) GTEST_SKIP() << "python3 not installed";
  TempDir dir;
  stdfs::path target = dir / "py.zip";
  write_zip(target, {{"runs/", ""}, {"runs/ünï/", ""}, {"runs/ünï/f.json", "[1]"}, {"plain.txt", "abc"}});
  std::string script = R"(
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
for i in z.infolist():
    utf8 = bool(i.flag_bits & 0x800)
    print(i.filename, oct(i.external_attr >> 16), utf8, i.date_time, i.compress_type, z.read(i).decode())
)";
  test::RunResult r = test::run("/usr/bin/env", {"python3", "-c", script, target.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct tm local {};
  localtime_r(&kMtime, &local);  // zip times are local wall-clock times
  char when[64];
  std::snprintf(when, sizeof when, "(%d, %d, %d, %d, %d, %d)", local.tm_year + 1900, local.tm_mon + 1, local.tm_mday,
                local.tm_hour, local.tm_min, local.tm_sec / 2 * 2);
  std::string t = when;
  EXPECT_EQ(r.out, "runs/ 0o40755 False " + t + " 0 \n" + "runs/ünï/ 0o40755 True " + t + " 0 \n" +
                       "runs/ünï/f.json 0o100644 True " + t + " 0 [1]\n" + "plain.txt 0o100644 False " + t +
                       " 0 abc\n");  // too small for deflate to shrink: stored, as zip stores them
}

TEST(ZipWriter, SameInputGivesSameBytes) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> files = {
      {"a/", ""}, {"a/x", "hello"}, {"b", std::string(100000, 'z')}};
  write_zip(dir / "1.zip", files);
  write_zip(dir / "2.zip", files);
  EXPECT_EQ(test::read(dir / "1.zip"), test::read(dir / "2.zip"));
}

TEST(ZipWriter, ManyMembersUseZip64AndStillRead) {
  TempDir dir;
  stdfs::path target = dir / "many.zip";
  {
    zip::Writer w(fs::ZipFileOutput::reserve(target), kMtime);
    for (int i = 0; i < 66000; ++i) w.add_file("f/" + std::to_string(i), zip::memory_input(std::to_string(i)));
    w.commit();
  }
  zip::Reader r(target);
  ASSERT_EQ(r.size(), 66000u);
  r.validate({});
  EXPECT_EQ(r.read(r.entry(65999), 100), "65999");
  if (have_python()) {
    test::RunResult py =
        test::run("/usr/bin/env",
                  {"python3", "-c", "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(len(z.namelist()))",
                   target.string()});
    EXPECT_EQ(py.out, "66000\n") << py.err;
  }
}

// A central directory past the writer's in-memory bound goes through its scratch file and comes
// back whole and in order (memory stays flat for dumps of any number of files). The scratch file
// is beside the zip, never in $TMPDIR or /tmp: nothing outside the outputs dir is written.
TEST(ZipWriter, LargeCentralDirectorySpillsBesideTheZipAndReadsBackInOrder) {
  TempDir dir;
  const std::string pad(80, 'p');
  auto name = [&](int i) { return "runs/" + pad + "/" + std::to_string(i); };
  for (const char* file : {"1.zip", "2.zip"}) {
    zip::Writer w(fs::ZipFileOutput::reserve(dir / file), kMtime);
    for (int i = 0; i < 50000; ++i) w.add_file(name(i), zip::memory_input(std::to_string(i)));  // ~7 MB of records
    std::vector<std::string> unnamed = test::open_unnamed_files();
    ASSERT_FALSE(unnamed.empty()) << "no scratch file: the records did not spill";
    for (const std::string& f : unnamed) EXPECT_TRUE(f.starts_with((dir.path() / "").string())) << f;
    w.commit();
    EXPECT_TRUE(test::open_unnamed_files().empty());
  }
  EXPECT_EQ(std::distance(stdfs::directory_iterator(dir.path()), stdfs::directory_iterator()), 2) << "only the two zips are left";
  EXPECT_EQ(test::read(dir / "1.zip"), test::read(dir / "2.zip"));
  zip::Reader r(dir / "1.zip");
  r.validate({});
  ASSERT_EQ(r.size(), 50000u);
  for (int i = 0; i < 50000; ++i) ASSERT_EQ(r.entry(static_cast<size_t>(i)).name, name(i));
  EXPECT_EQ(r.read(r.entry(0), 100), "0");
  EXPECT_EQ(r.read(r.entry(49999), 100), "49999");
  if (have_python()) {
    test::RunResult py = test::run(
        "/usr/bin/env", {"python3", "-c", "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(z.testzip(), len(z.namelist()))",
                         (dir / "1.zip").string()});
    EXPECT_EQ(py.out, "None 50000\n") << py.err;
  }
}

// A disk that fills at the first write of the set-aside central directory: the error comes out,
// and neither the zip, its partial file nor the scratch file is left behind.
TEST(ZipWriter, ADiskFullAtTheSetAsideCentralDirectoryLeavesNothing) {
  TempDir dir, traces;
  const std::string pad(80, 'p');
  auto write_zip = [&](fs::Env& env) {
    fs::UseEnv use(env);
    zip::Writer w(fs::ZipFileOutput::reserve(dir / "x.zip"), kMtime, 1);
    for (int i = 0; i < 50000; ++i) w.add_file("runs/" + pad + "/" + std::to_string(i), zip::memory_input("x"));
    w.commit();
  };
  {
    fs::FaultEnv traced(fs::posix_env(), {}, {}, (traces / "trace").string());
    write_zip(traced);
  }
  stdfs::remove(dir / "x.zip");
  int n = test::first_fault_point(traces / "trace", [&](const test::FaultPoint& p) {
    return p.what == "write" && p.path == (dir / "(a file with no name)").string();
  });
  ASSERT_GT(n, 0);
  fs::FaultEnv full(fs::posix_env(), fs::FaultSpec::parse("enospc@" + std::to_string(n)));
  try {
    write_zip(full);
    FAIL() << "the zip was written";
  } catch (const fs::IoError& e) {
    EXPECT_EQ(e.err(), ENOSPC) << e.what();
  }
  EXPECT_TRUE(stdfs::is_empty(dir.path()));
  EXPECT_TRUE(test::open_unnamed_files().empty());
}

// Members of unknown size get zip64 fields in their local header; every reader copes.
TEST(ZipWriter, MembersOfUnknownSizeAndIncompressibleDataRead) {
  class Unsized : public zip::Input {
   public:
    explicit Unsized(std::string d) : d_(std::move(d)) {}
    size_t read(char* buf, size_t n) override {
      size_t k = std::min(n, d_.size() - pos_);
      std::memcpy(buf, d_.data() + pos_, k);
      pos_ += k;
      return k;
    }

   private:
    std::string d_;
    size_t pos_ = 0;
  };
  TempDir dir;
  stdfs::path target = dir / "u.zip";
  std::string noise(300000, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : noise) c = static_cast<char>((x ^= x << 13, x ^= x >> 7, x ^= x << 17));
  {
    zip::Writer w(fs::ZipFileOutput::reserve(target), kMtime);
    w.add_file("unsized.txt", std::make_unique<Unsized>("hello, unknown size"));
    w.add_file("noise.bin", zip::memory_input(noise));
    w.add_file("empty", std::make_unique<Unsized>(""));
    w.commit();
  }
  auto back = read_all(target);
  EXPECT_EQ(back["unsized.txt"], "hello, unknown size");
  EXPECT_EQ(back["noise.bin"], noise);
  EXPECT_EQ(back["empty"], "");
  zip::Reader r(target);
  EXPECT_LT(r.find("noise.bin")->compressed_size, noise.size() + 100);  // stored blocks, not expanded
  EXPECT_EQ(test::run("/usr/bin/unzip", {"-tq", target.string()}).exit_code, 0);
  if (have_python()) {
    test::RunResult py = test::run(
        "/usr/bin/env",
        {"python3", "-c",
         "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(z.testzip(), z.read('unsized.txt').decode())",
         target.string()});
    EXPECT_EQ(py.out, "None hello, unknown size\n") << py.err;
  }
}

TEST(ZipWriter, RefusesUnsafeNames) {
  TempDir dir;
  zip::Writer w(fs::ZipFileOutput::reserve(dir / "x.zip"), kMtime);
  for (std::string bad :
       std::vector<std::string>{"/abs", "../up", "a/../b", "a//b", "./a", "", "a/", std::string("bad\xff", 4)})
    EXPECT_THROW(w.add_file(bad, zip::memory_input("x")), Error) << bad;
  EXPECT_THROW(w.add_directory("a/../"), Error);
}

// An input that fails after some bytes, like a file read error or a vanished file.
class FailingInput : public zip::Input {
 public:
  size_t read(char* buf, size_t n) override {
    if (calls_++ == 3) throw Error("disk on fire");
    std::memset(buf, 'x', n);
    return n;
  }

 private:
  int calls_ = 0;
};

TEST(ZipWriter, FailureLeavesNothingAndPassesTheErrorOn) {
  TempDir dir;
  {
    zip::Writer w(fs::ZipFileOutput::reserve(dir / "x.zip"), kMtime);
    w.add_file("ok", zip::memory_input("fine"));
    try {
      w.add_file("bad", std::make_unique<FailingInput>());
      w.commit();
      FAIL() << "commit succeeded";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "disk on fire");
    }
  }
  EXPECT_TRUE(dir_listing(dir.path()).empty());
}

TEST(ZipWriter, InputThatLiesAboutItsSizeIsAnError) {
  class Liar : public zip::Input {
   public:
    size_t read(char* buf, size_t n) override {
      return std::exchange(done_, true) ? 0 : (std::memset(buf, 'a', 5), std::min<size_t>(n, 5));
    }
    std::optional<uint64_t> size() override { return 3; }
    bool done_ = false;
  };
  TempDir dir;
  {
    zip::Writer w(fs::ZipFileOutput::reserve(dir / "x.zip"), kMtime);
    EXPECT_THROW(w.add_file("liar", std::make_unique<Liar>()), Error);
  }
  EXPECT_TRUE(dir_listing(dir.path()).empty());
}

TEST(ZipWriter, AbandonedWriterLeavesNothing) {
  TempDir dir;
  {
    zip::Writer w(fs::ZipFileOutput::reserve(dir / "x.zip"), kMtime);
    w.add_file("a", zip::memory_input("a"));
  }
  EXPECT_TRUE(dir_listing(dir.path()).empty());
}

TEST(ZipFileOutput, ReservesTheNameUntilDoneAndReclaimsStalePartials) {
  TempDir dir;
  stdfs::path target = dir / "d.zip";
  auto first = fs::ZipFileOutput::reserve(target);
  ASSERT_TRUE(first);
  EXPECT_FALSE(fs::ZipFileOutput::reserve(target));  // a live writer holds it
  first.reset();
  EXPECT_TRUE(dir_listing(dir.path()).empty());
  // A partial file nobody holds (its writer was killed) is reclaimed.
  test::write(dir / ".d.zip.partial", "junk");
  auto again = fs::ZipFileOutput::reserve(target);
  EXPECT_TRUE(again);
  again.reset();
  test::write(dir / ".other.zip.partial", "junk");
  fs::ZipFileOutput::remove_stale_partials(dir.path());
  EXPECT_TRUE(dir_listing(dir.path()).empty());
  write_zip(target, {{"a", "b"}});
  EXPECT_FALSE(fs::ZipFileOutput::reserve(target));  // an existing zip is never overwritten
}

// --- Reader

TEST(ZipReader, ReadsEveryFixtureZipLikeUnzipDoes) {
  int count = 0;
  for (const auto& f : stdfs::recursive_directory_iterator(test::fixtures())) {
    if (f.path().extension() != ".zip") continue;
    SCOPED_TRACE(f.path().string());
    ++count;
    zip::Reader r(f.path());
    r.validate({});
    ASSERT_FALSE(r.size() == 0);
    for (const zip::Entry& e : r.entries()) {
      if (e.is_directory) continue;
      std::string ours = r.read(e, 1 << 26);
      test::RunResult u = test::run("/usr/bin/unzip", {"-p", f.path().string(), e.name});
      ASSERT_EQ(u.exit_code, 0) << e.name << u.err;
      EXPECT_EQ(ours, u.out) << e.name;
    }
  }
  EXPECT_GE(count, 40);
}

TEST(ZipReader, RejectsHostileMembers) {
  TempDir dir;
  struct Case {
    std::string label;
    std::vector<test::RawZipMember> members;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"dotdot", {{"a/../../etc/passwd", "x"}}, "path component that is '..'"},
      {"absolute", {{"/etc/passwd", "x"}}, "absolute path"},
      {"symlink", {{"link", "/etc/passwd", 0120777}}, "symbolic link"},
      {"device", {{"dev", "", 0020644}}, "device"},
      {"duplicate", {{"a", "1"}, {"a", "2"}}, "appears twice"},
      {"file_as_dir", {{"a", "1"}, {"a/b", "2"}}, "which is a file"},
      {"bad_utf8", {{std::string("n\xff\xfe"), "1"}}, "not valid UTF-8"},
      {"dir_with_content", {{"d/", "data", 040755}}, "directory with content"},
      {"larger_than_declared", {{"big", std::string(5000, 'a'), 0100644, 100}}, "is damaged"},
      {"empty_component", {{"a//b", "x"}}, "path component that is empty"},
  };
  for (const Case& c : cases) {
    stdfs::path p = dir / (c.label + ".zip");
    test::write(p, test::raw_zip(c.members));
    std::string err = validation_error(p);
    EXPECT_NE(err.find(c.expected), std::string::npos) << c.label << ": " << err;
    EXPECT_NE(err.find(p.string()), std::string::npos) << c.label << ": " << err;
  }
}

TEST(ZipReader, EnforcesSizeLimitsBeforeExtracting) {
  TempDir dir;
  stdfs::path p = dir / "sizes.zip";
  test::write(p, test::raw_zip({{"a", std::string(1000, 'a')}, {"b", std::string(1000, 'b')}}));
  auto limits = [](auto set) {
    zip::Limits l;
    set(l);
    return l;
  };
  EXPECT_NE(validation_error(p, limits([](zip::Limits& l) { l.max_member_size = 999; })).find("per member"),
            std::string::npos);
  EXPECT_NE(validation_error(p, limits([](zip::Limits& l) { l.max_total_size = 1500; })).find("declared total"),
            std::string::npos);
  EXPECT_NE(validation_error(p, limits([](zip::Limits& l) { l.max_entries = 1; })).find("2 members"),
            std::string::npos);
  zip::Reader r(p);
  EXPECT_THROW(r.read(r.entry(0), 10), Error);
  stdfs::path here = dir.path();
  EXPECT_EQ(validation_error(p, limits([&](zip::Limits& l) { l.extract_to = here; })), "");
}

TEST(ZipReader, SymlinksFromTheZipToolAreRejected) {
  TempDir dir;
  stdfs::create_directories(dir / "src");
  stdfs::create_symlink("/etc/passwd", dir / "src" / "link");
  test::RunResult r = test::run("/bin/sh", {"-c", "cd \"$0\" && zip -qry s.zip src", dir.path().string()});
  if (r.exit_code != 0) GTEST_SKIP() << "zip unavailable: " << r.err;
  std::string err = validation_error(dir / "s.zip");
  EXPECT_NE(err.find("symbolic link"), std::string::npos) << err;
}

TEST(ZipReader, DamagedArchivesGiveErrorsNamingTheZip) {
  TempDir dir;
  stdfs::path good = dir / "good.zip";
  write_zip(good, {{"a", std::string(10000, 'q')}, {"b", "bb"}});
  std::string bytes = test::read(good);
  std::vector<std::pair<std::string, std::string>> damaged = {
      {"empty.zip", ""},
      {"garbage.zip", "this is not a zip file at all"},
      {"truncated.zip", bytes.substr(0, bytes.size() / 2)},
      {"no_eocd.zip", bytes.substr(0, bytes.size() - 22)},
  };
  // Corrupt compressed data while keeping the directory intact.
  std::string flipped = bytes;
  for (size_t i = 60; i < 90; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  damaged.push_back({"flipped.zip", flipped});
  for (const auto& [name, content] : damaged) {
    test::write(dir / name, content);
    std::string err = validation_error(dir / name);
    EXPECT_NE(err.find((dir / name).string()), std::string::npos) << name << ": " << err;
  }
  EXPECT_NE(validation_error(dir / "missing.zip").find("missing.zip"), std::string::npos);
}

TEST(ZipExtract, WritesTheMemberAndRemovesItOnFailure) {
  TempDir dir;
  stdfs::path good = dir / "g.zip";
  write_zip(good, {{"a", "content"}});
  zip::Reader r(good);
  fs::extract_member(r, r.entry(0), dir / "a.out");
  EXPECT_EQ(test::read(dir / "a.out"), "content");
  EXPECT_THROW(fs::extract_member(r, r.entry(0), dir / "a.out"), Error);  // never overwrites

  stdfs::path liar = dir / "liar.zip";
  test::write(liar, test::raw_zip({{"big", std::string(5000, 'a'), 0100644, 100}}));
  zip::Reader lr(liar);
  EXPECT_THROW(fs::extract_member(lr, lr.entry(0), dir / "big.out"), Error);
  EXPECT_FALSE(stdfs::exists(dir / "big.out"));
}

RC_GTEST_PROP(ZipProperty, WhatIsWrittenIsReadBack, ()) {
  auto contents =
      *rc::gen::container<std::vector<std::string>>(rc::gen::container<std::string>(rc::gen::arbitrary<char>()));
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> files;
  for (size_t i = 0; i < contents.size(); ++i) files.push_back({"m/" + std::to_string(i) + "_ä", contents[i]});
  if (files.empty()) files.push_back({"only", ""});
  write_zip(dir / "p.zip", files);
  auto back = read_all(dir / "p.zip");
  RC_ASSERT(back.size() == files.size());
  for (const auto& [name, content] : files) RC_ASSERT(back[name] == content);
}

TEST(ZipReader, PullReadingChecksLikeStreaming) {
  TempDir dir;
  stdfs::path good = dir / "g.zip";
  std::string content(200000, 'x');
  for (size_t i = 0; i < content.size(); i += 7) content[i] = static_cast<char>('a' + i % 26);
  write_zip(good, {{"a", content}});
  zip::Reader r(good);
  std::unique_ptr<zip::MemberReader> in = r.open(r.entry(0));
  std::string got;
  char buf[333];
  while (size_t n = in->read(buf, sizeof buf)) got.append(buf, n);
  EXPECT_EQ(got, content);
  EXPECT_EQ(in->read(buf, sizeof buf), 0u);

  stdfs::path liar = dir / "liar.zip";
  test::write(liar, test::raw_zip({{"big", std::string(5000, 'a'), 0100644, 100}}));
  zip::Reader lr(liar);
  std::unique_ptr<zip::MemberReader> lin = lr.open(lr.entry(0));
  EXPECT_THROW(while (lin->read(buf, sizeof buf)){}, Error);
}

// The reader keeps the archive open: a zip replaced or removed under its path while it is being
// read is still read as it was validated, never a mix of two archives.
TEST(ZipReader, TheArchiveOpenedIsReadEvenWhenItsPathIsReplaced) {
  TempDir dir;
  stdfs::path path = dir / "r.zip";
  write_zip(path, {{"d/", ""}, {"d/a", "alpha"}, {"b", "beta"}});
  zip::Reader r(path);
  r.validate({});
  write_zip(dir / "other.zip", {{"d/", ""}, {"d/a", "alpha"}, {"b", "gamma"}});  // same names, other sizes
  stdfs::rename(dir / "other.zip", path);
  EXPECT_EQ(r.read(r.entry(2), 100), "beta");
  stdfs::remove(path);
  EXPECT_EQ(r.read(r.entry(1), 100), "alpha");
  EXPECT_EQ(r.find("b")->size, 4u);
  EXPECT_FALSE(r.find("c"));
  EXPECT_THROW(r.entry(3), Error);
}

}  // namespace
}  // namespace mdb
