// `mephisto db verify -f DUMP.zip` through the real binary: sound dumps (ours and the
// original's) pass; an edited JSON member, a changed run file, and the original's tampered
// dumps are each reported with exit 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "tests/support/testenv.h"

namespace mdb::test {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

RunResult verify(const stdfs::path& zip) { return run_mephisto({"--data-dir", "/nonexistent", "db", "verify", "-f", zip.string()}); }

// Unzips `zip`, lets `edit` change the tree, and zips it again with the system's zip.
stdfs::path rezip(const TempDir& tmp, const stdfs::path& zip, const std::function<void(const stdfs::path&)>& edit) {
  stdfs::path dir = tmp / "unpacked";
  unzip_to(zip, dir);
  edit(dir);
  stdfs::path out = tmp / zip.filename();
  RunResult r = run("/bin/sh", {"-c", "cd '" + dir.string() + "' && zip -q -r '" + out.string() + "' ."});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return out;
}

// In an unpacked dump at `dir`, the JSON member's first `from` becomes `to` (of the same length).
void replace_in_json(const stdfs::path& dir, const stdfs::path& dump, const std::string& from, const std::string& to) {
  stdfs::path json = dir / (dump.stem().string() + ".json");
  std::string text = read(json);
  size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  write(json, text);
}

RunResult verify_with_threads(const stdfs::path& zip, const char* threads) {
  return run_mephisto({"--data-dir", "/nonexistent", "db", "verify", "-f", zip.string()}, "", {{"MDB_THREADS", threads}});
}

// Our dump of the s1 data (unpacked from the original's backup).
stdfs::path our_dump(const TempDir& tmp) {
  unzip_to(fixtures() / "s1_realistic_export/backups/2026_11_25_15_40_27_mephisto_backup.zip", tmp / "data");
  RunResult r = run_mephisto({"--data-dir", (tmp / "data").string(), "db", "export"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const auto& e : stdfs::directory_iterator(tmp / "outputs/export")) return e.path();
  return {};
}

TEST(VerifyDump, OriginalDumpsPass) {
  for (const char* z : {"s1_realistic_export/dumps/2026_11_25_15_36_49_mephisto_dump.zip",
                        "s1_realistic_export/dumps/2026_11_25_15_39_06_mephisto_dump.zip",
                        "s4_legacy/dumps/2026_11_25_15_47_35_mephisto_dump.zip"}) {
    RunResult r = verify(fixtures() / z);
    EXPECT_EQ(r.exit_code, 0) << z << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "No problems found.")) << r.out;
  }
}

TEST(VerifyDump, OurDumpPassesWithBothHalvesCompared) {
  TempDir tmp;
  RunResult r = verify(our_dump(tmp));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "JSON and Cap'n Proto halves compared")) << r.out;
}

TEST(VerifyDump, EditedJsonIsReported) {
  TempDir tmp;
  stdfs::path dump = our_dump(tmp);
  stdfs::path edited = rezip(
      tmp, dump, [&](const stdfs::path& dir) { replace_in_json(dir, dump, "project_alpha", "project_omega"); });
  RunResult r = verify(edited);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(contains(r.err, "was changed after the export")) << r.err;
}

// The JSON member is checked beside the comparison of the halves, and the run files after both: the
// report keeps that order whatever the threads.
TEST(VerifyDump, ProblemsComeJsonFirstThenHalvesThenFiles) {
  TempDir tmp;
  stdfs::path dump = our_dump(tmp);
  std::string changed;
  stdfs::path edited = rezip(tmp, dump, [&](const stdfs::path& dir) {
    replace_in_json(dir, dump, "\"dump_metadata\"", "\"dump_metadatb\"");
    for (const auto& e : stdfs::recursive_directory_iterator(dir / "runs"))
      if (e.is_regular_file() && changed.empty()) {
        write(e.path(), read(e.path()) + " ");
        changed = stdfs::relative(e.path(), dir).string();
      }
  });
  for (const char* threads : {"1", "3"}) {
    RunResult r = verify_with_threads(edited, threads);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    size_t json = r.err.find("the JSON member has no dump_metadata");
    size_t halves = r.err.find("was changed after the export");
    size_t file = r.err.find(changed + " does not match the size and hash recorded for it");
    ASSERT_NE(json, std::string::npos) << r.err;
    ASSERT_NE(halves, std::string::npos) << r.err;
    ASSERT_NE(file, std::string::npos) << r.err;
    EXPECT_LT(json, halves) << "MDB_THREADS=" << threads << ":\n" << r.err;
    EXPECT_LT(halves, file) << "MDB_THREADS=" << threads << ":\n" << r.err;
  }
}

// issue 10.7: a Cap'n Proto half that no longer renders to the JSON member's bytes is a problem,
// though the JSON hash recorded inside it still matches.
TEST(VerifyDump, AlteredCapnpHalfIsReported) {
  TempDir tmp;
  stdfs::path dump = our_dump(tmp);
  stdfs::path altered = rezip(tmp, dump, [&](const stdfs::path& dir) {
    stdfs::path capnp = dir / (dump.stem().string() + ".capnp");
    std::string bytes = read(capnp);
    size_t at = bytes.find("project_alpha");
    while (at != std::string::npos && at >= 5 && bytes.compare(at - 5, 5, "runs/") == 0)  // a file record's path
      at = bytes.find("project_alpha", at + 1);
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 13, "project_omega");
    write(capnp, bytes);
  });
  RunResult r = verify(altered);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(contains(r.err, "does not match the JSON member " + dump.stem().string() + ".json")) << r.err;
  EXPECT_TRUE(contains(r.err, "table mephisto.projects, row ")) << r.err;
}

TEST(VerifyDump, ChangedRunFileIsReported) {
  TempDir tmp;
  stdfs::path dump = our_dump(tmp);
  std::string changed;
  stdfs::path edited = rezip(tmp, dump, [&](const stdfs::path& dir) {
    for (const auto& e : stdfs::recursive_directory_iterator(dir / "runs"))
      if (e.is_regular_file() && e.path().filename() == "agent_data.json") {
        write(e.path(), read(e.path()) + " ");
        changed = stdfs::relative(e.path(), dir).string();
        return;
      }
  });
  ASSERT_FALSE(changed.empty()) << "the dump holds no agent_data.json to change";
  RunResult r = verify(edited);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_TRUE(contains(r.err, changed)) << r.err;
}

// The run files are hashed on worker threads and judged in zip order: every changed file is named,
// no other, and the report is the same with one thread and with several.
TEST(VerifyDump, ChangedRunFilesAreNamedInZipOrderWithAnyNumberOfThreads) {
  TempDir tmp;
  stdfs::path dump = our_dump(tmp);
  std::vector<std::string> changed, kept;
  stdfs::path edited = rezip(tmp, dump, [&](const stdfs::path& dir) {
    for (const auto& e : stdfs::recursive_directory_iterator(dir / "runs")) {
      if (!e.is_regular_file()) continue;
      std::string name = stdfs::relative(e.path(), dir).string();
      if ((changed.size() + kept.size()) % 2 == 0) {
        write(e.path(), read(e.path()) + " ");
        changed.push_back(name);
      } else {
        kept.push_back(name);
      }
    }
  });
  ASSERT_GE(kept.size(), 3u) << "the dump holds too few run files";
  ASSERT_GE(changed.size(), 3u) << "the dump holds too few run files to change";
  RunResult listing = run("/usr/bin/unzip", {"-Z1", edited.string()});
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  std::string report;
  for (const char* threads : {"1", "3"}) {
    RunResult r = verify_with_threads(edited, threads);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    size_t last = 0;
    std::istringstream names(listing.out);
    size_t named = 0;
    for (std::string name; std::getline(names, name);) {
      if (std::find(changed.begin(), changed.end(), name) == changed.end()) continue;
      size_t at = r.err.find(name + " does not match the size and hash recorded for it");
      ASSERT_NE(at, std::string::npos) << name << " is not named with MDB_THREADS=" << threads << ":\n" << r.err;
      EXPECT_GT(at, last) << name << " is out of zip order with MDB_THREADS=" << threads;
      last = at;
      ++named;
    }
    EXPECT_EQ(named, changed.size());
    for (const std::string& name : kept)
      EXPECT_FALSE(contains(r.err, name + " ")) << name << " is unchanged but named with MDB_THREADS=" << threads;
    if (report.empty())
      report = r.err;
    else
      EXPECT_EQ(r.err, report) << "the report differs between one thread and three";
  }
}

// The half's file records are matched against the zip's run files one at a time: every file the
// zip lost is named (in byte order), and so is a file it gained.
TEST(VerifyDump, LostAndGainedRunFilesAreNamed) {
  TempDir tmp;
  stdfs::path dump = our_dump(tmp);
  std::vector<std::string> lost;
  std::string gained;
  stdfs::path edited = rezip(tmp, dump, [&](const stdfs::path& dir) {
    std::vector<std::string> files;
    for (const auto& e : stdfs::recursive_directory_iterator(dir / "runs"))
      if (e.is_regular_file()) files.push_back(stdfs::relative(e.path(), dir).string());
    ASSERT_GE(files.size(), 2u);
    std::sort(files.begin(), files.end());
    lost = {files.front(), files.back()};
    for (const std::string& f : lost) stdfs::remove(dir / f);
    gained = stdfs::path(files.front()).parent_path().string() + "/gained.txt";
    write(dir / gained, "not recorded");
  });
  ASSERT_EQ(lost.size(), 2u);
  RunResult r = verify(edited);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  size_t first = r.err.find(lost[0] + " is recorded in the Cap'n Proto header but missing");
  size_t last = r.err.find(lost[1] + " is recorded in the Cap'n Proto header but missing");
  ASSERT_NE(first, std::string::npos) << r.err;
  ASSERT_NE(last, std::string::npos) << r.err;
  EXPECT_LT(first, last) << r.err;
  EXPECT_TRUE(contains(r.err, gained + " is in the zip but not recorded in the Cap'n Proto header")) << r.err;
}

TEST(VerifyDump, TamperedDumpsOfTheOriginalAreReported) {
  for (auto [zip, says] : std::vector<std::pair<std::string, std::string>>{
           {"tamper_invalid_json.zip", "Could not read the JSON"},
           {"tamper_no_metadata.zip", "no dump_metadata"},
           {"tamper_bad_structure.zip", "no_such_table"},
           {"tamper_prolific_bad_column.zip", "bogus_column"}}) {
    RunResult r = verify(fixtures() / "s6_backup_restore_and_import_errors/tampered_dumps" / zip);
    EXPECT_EQ(r.exit_code, 1) << zip << r.out;
    EXPECT_TRUE(contains(r.err, says)) << zip << ": " << r.err;
  }
}

}  // namespace
}  // namespace mdb::test
