// The lines a Mephisto user sees (issue 12, point 4), through the real binary, against the
// original's own console logs (tests/fixtures/mephisto-1.5.2/*/logs): the options block of
// export, import, backup and restore; the snapshot and undo command before an import; the
// documented `import --file NAME.json` and `--verbosity` without a value; the original's words
// for a missing -f, a declined prompt and nothing to export, with our exit codes (docs/CONFORMANCE.md).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

const stdfs::path kS1Backup = fixtures() / "s1_realistic_export/backups/2026_11_25_15_40_27_mephisto_backup.zip";
const stdfs::path kSeeded = fixtures() / "s2_import/backups/2026_11_25_15_42_21_mephisto_backup.zip";
const stdfs::path kS1nFull = fixtures() / "s1n_source_without_mturk_hits/dumps/2026_11_25_15_42_09_mephisto_dump.zip";
const stdfs::path kLogs6 = fixtures() / "s6_backup_restore_and_import_errors/logs";
const stdfs::path kLogs1 = fixtures() / "s1_realistic_export/logs";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// "Running command with the following options:" up to and including the empty line after it.
std::string options_block(const std::string& text) {
  size_t start = text.find("Running command with the following options:\n");
  if (start == std::string::npos) return "";
  size_t end = text.find("\n\n", start);
  return end == std::string::npos ? text.substr(start) : text.substr(start, end + 2 - start);
}

std::string fixture_block(const stdfs::path& log) { return options_block(read(log)); }

// The original's block with one of our own options' lines added before its empty line.
std::string with_line(const std::string& block, const std::string& line) {
  return block.substr(0, block.size() - 1) + "        " + line + "\n\n";
}

// Our own options' lines, at their defaults, after the original's.
const std::string kImportOurs = "--strict = False\n        --dry-run = False";
const std::string kBackupOurs = "--zip = False\n        --tag = None";
const std::string kRestoreOurs = "--only = None\n        --target = None\n        --tag = None\n        --dry-run = False";

// A data dir unpacked from an original backup zip, with its outputs dir beside it.
struct Dir {
  explicit Dir(const stdfs::path& backup, const std::string& name = "data") : data(tmp / name) {
    unzip_to(backup, data);
  }
  TempDir tmp;
  stdfs::path data;
  stdfs::path outputs = tmp / "outputs";
  std::vector<std::string> args(std::vector<std::string> command) const {
    std::vector<std::string> all = {"--data-dir", data.string(), "--outputs-dir", outputs.string(), "db"};
    all.insert(all.end(), command.begin(), command.end());
    return all;
  }
  RunResult run(std::vector<std::string> command, const std::string& answer = "yes\n") const {
    return run_mephisto(args(std::move(command)), answer);
  }
};

TEST(Messages, OptionsBlockOfExportIsTheOriginals) {
  Dir d(kS1Backup);
  RunResult r = d.run({"export"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(options_block(r.out), fixture_block(kLogs1 / "export_full.log"));
  EXPECT_EQ(r.out.rfind("Running command with the following options:\n", 0), 0u) << "the block comes first";
  r = d.run({"export", "-tn", "image_labeling", "-v", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(options_block(r.out), fixture_block(kLogs1 / "export_verbose.log"));
}

TEST(Messages, OptionsBlockOfImportIsTheOriginals) {
  Dir d(kSeeded);
  // The same command line as the original's log: a name not in <outputs>/export.
  RunResult r = d.run({"import", "-f", "nope.zip"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, with_line(fixture_block(kLogs6 / "import_nonexistent.log"), kImportOurs));
  EXPECT_TRUE(contains(r.err, "Could not find dump file nope.zip")) << r.err;
  // Every option set: lists as Python prints them, in the original's order.
  r = d.run({"import", "-f", "nope.zip", "-l", "x", "-l", "it's", "-cr", "ExampleMergeConflictResolver", "-k", "-v",
             "1", "--strict"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out,
            "Running command with the following options:\n"
            "        -f/--file = nope.zip\n"
            "        -l/--labels = ['x', \"it's\"]\n"
            "        -cr/--conflict-resolver = ExampleMergeConflictResolver\n"
            "        -k/--keep-import-metadata = True\n"
            "        -qo/--qualification-only = False\n"
            "        -v/--verbosity = 1\n"
            "        --strict = True\n"
            "        --dry-run = False\n\n");
  // A real import starts with the same block as the original's successful one, but for the path.
  r = d.run({"import", "-f", kS1nFull.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected =
      with_line(fixture_block(fixtures() / "s2_import/logs/import_plain_success.log"), kImportOurs);
  std::string original_path = "/srv/mephisto/outputs/export/2026_11_25_15_42_09_mephisto_dump.zip";
  expected.replace(expected.find(original_path), original_path.size(), kS1nFull.string());
  EXPECT_EQ(options_block(r.out), expected);
  EXPECT_EQ(r.out.rfind(expected, 0), 0u) << r.out;
}

TEST(Messages, OptionsBlockOfBackupAndRestoreIsTheOriginalsPlusOurOwnOption) {
  Dir d(kSeeded);
  RunResult r = d.run({"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(options_block(r.out), with_line(fixture_block(kLogs6 / "backup.log"), kBackupOurs));
  EXPECT_EQ(r.out.rfind("Running command with the following options:\n", 0), 0u);
  r = d.run({"backup", "--zip"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(options_block(r.out), "        --zip = True\n")) << r.out;

  r = d.run({"restore", "-f", "nope.zip"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, with_line(fixture_block(kLogs6 / "restore_nonexistent.log"), kRestoreOurs));
  r = d.run({"restore", "-f", "nope.zip", "--only", "data"});
  EXPECT_TRUE(contains(r.out, "        -v/--verbosity = 0\n        --only = data\n        --target = None\n")) << r.out;
}

TEST(Messages, NoOptionsBlockWithJson) {
  Dir d(kSeeded);
  std::vector<std::string> json_args = d.args({"backup"});
  json_args.insert(json_args.begin(), "--json");
  RunResult r = run_mephisto(json_args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.out, "Running command")) << r.out;
  EXPECT_TRUE(nlohmann::json::accept(r.out)) << r.out;
}

// The data dir of `d` as the user sees it (databases by content).
std::map<std::string, std::string> user_view(const stdfs::path& data) { return logical_tree(data); }

// The snapshot name and the undo command from an import's output.
struct UndoLines {
  std::string snapshot, command;
};
UndoLines undo_lines(const std::string& out) {
  UndoLines u;
  const std::string saved = "Saved the current data as snapshot ", undo = "To undo this import: ";
  size_t a = out.find(saved), b = out.find(undo);
  if (a == std::string::npos || b == std::string::npos) return u;
  a += saved.size();
  b += undo.size();
  u.snapshot = out.substr(a, out.find('\n', a) - a);
  u.command = out.substr(b, out.find('\n', b) - b);
  return u;
}

TEST(Messages, ImportNamesItsSnapshotAndTheExactCommandThatUndoesIt) {
  // A data dir path a shell must quote: the printed command is run by /bin/sh as the user would.
  Dir d(kSeeded, "my data's dir");
  auto before = user_view(d.data);
  RunResult r = d.run({"import", "-f", kS1nFull.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  UndoLines u = undo_lines(r.out);
  ASSERT_FALSE(u.snapshot.empty()) << r.out;
  EXPECT_NE(u.snapshot.find("_before_import"), std::string::npos) << u.snapshot;
  std::string quoted = d.data.string();
  quoted.replace(quoted.find('\''), 1, "'\\''");
  EXPECT_EQ(u.command, "mephisto --data-dir '" + quoted + "' --outputs-dir " + d.outputs.string() +
                           " db restore -f " + u.snapshot)
      << r.out;
  // The lines come after the prompt and before the import starts, where the original names its backup.
  EXPECT_LT(r.out.find("Are you sure?"), r.out.find("Saved the current data as snapshot"));
  EXPECT_LT(r.out.find("To undo this import: "), r.out.find("Started importing from dump file"));
  EXPECT_TRUE(contains(r.out, "Finished successfully. Imported 5 TaskRuns")) << r.out;
  EXPECT_NE(user_view(d.data), before);

  std::string command = u.command;
  command.replace(0, std::string("mephisto").size(), "'" + mephisto_binary().string() + "'");
  RunResult undo = run("/bin/sh", {"-c", command}, "yes\n");
  ASSERT_EQ(undo.exit_code, 0) << undo.out << undo.err;
  EXPECT_EQ(changed_paths(before, user_view(d.data)), "");
}

TEST(Messages, UndoCommandWithoutGlobalOptionsWhenTheEnvironmentChoseTheDirs) {
  Dir d(kSeeded);
  std::map<std::string, std::string> env = {{"MEPHISTO_DATA_DIR", d.data.string()},
                                            {"MEPHISTO_OUTPUTS_DIR", d.outputs.string()}};
  auto before = user_view(d.data);
  RunResult r = run_mephisto({"db", "import", "-f", kS1nFull.string()}, "yes\n", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  UndoLines u = undo_lines(r.out);
  EXPECT_EQ(u.command, "mephisto db restore -f " + u.snapshot) << r.out;
  RunResult undo = run_mephisto({"db", "restore", "-f", u.snapshot}, "yes\n", env);
  ASSERT_EQ(undo.exit_code, 0) << undo.err;
  EXPECT_EQ(changed_paths(before, user_view(d.data)), "");

  // --json: the same in the result, and stdout is only the JSON object.
  r = run_mephisto({"--json", "-y", "db", "import", "-f", kS1nFull.string()}, "", env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("snapshot_before")) << r.out;
  EXPECT_EQ(j["undo"], "mephisto db restore -f " + j["snapshot_before"].get<std::string>());
}

TEST(Messages, ImportFileNamedJsonFindsTheZipOfThatName) {
  // The original's reference: `mephisto db import --file 2024_01_01_00_00_01_mephisto_dump.json --verbosity`.
  Dir d(kSeeded);
  stdfs::create_directories(d.outputs / "export");
  stdfs::path zip = d.outputs / "export" / "2024_01_01_00_00_01_mephisto_dump.zip";
  stdfs::copy_file(kS1nFull, zip);
  RunResult r = d.run({"import", "--file", "2024_01_01_00_00_01_mephisto_dump.json", "--verbosity"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "        -f/--file = 2024_01_01_00_00_01_mephisto_dump.json\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "        -v/--verbosity = 1\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "Started importing from dump file " + zip.string() + " ...")) << r.out;
  EXPECT_TRUE(contains(r.out, "Finished successfully. Imported 5 TaskRuns")) << r.out;
  EXPECT_TRUE(contains(r.out, "mephisto.task_runs: 5 inserted")) << r.out;  // -v 1's per-table counts
  // The default label is the dump's name, as for the .zip.
  RunResult labels = run("/usr/bin/sqlite3", {(d.data / "database.db").string(),
                                              "SELECT DISTINCT data_labels FROM imported_data"});
  EXPECT_EQ(labels.out, "[\"2024_01_01_00_00_01_mephisto_dump\"]\n");

  // A path given with .json works too; a name with neither file is an error naming both tries.
  Dir e(kSeeded);
  std::string as_json = (zip.parent_path() / "2024_01_01_00_00_01_mephisto_dump.json").string();
  r = e.run({"import", "-f", as_json});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = e.run({"import", "-f", "2030_01_01_00_00_00_mephisto_dump.json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "Could not find dump file 2030_01_01_00_00_00_mephisto_dump.json")) << r.err;
  EXPECT_TRUE(contains(r.err, "nor the same with .zip for .json")) << r.err;
}

TEST(Messages, VerbosityWithoutAValueMeansOne) {
  Dir d(kS1Backup);
  // The original's reference: `mephisto db export --verbosity`.
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"export", "--verbosity"}, {"export", "-v"}, {"export", "-v", "-tn", "image_labeling"},
           {"export", "-tn", "image_labeling", "-v"}, {"export", "-v", "1"}, {"export", "--verbosity=1"}}) {
    RunResult r = d.run(args);
    ASSERT_EQ(r.exit_code, 0) << args.back() << r.err;
    EXPECT_TRUE(contains(r.out, "        -v/--verbosity = 1\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "Archiving data files started ...")) << r.out;  // what -v 1 adds
  }
  RunResult r = d.run({"export", "-v", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "        -v/--verbosity = 0\n")) << r.out;
  EXPECT_FALSE(contains(r.out, "Archiving data files started ...")) << r.out;
  EXPECT_EQ(d.run({"export", "-v", "2"}).exit_code, 2);
  EXPECT_EQ(d.run({"export", "-v", "x"}).exit_code, 2);

  r = d.run({"backup", "-v"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "        -v/--verbosity = 1\n")) << r.out;
  r = d.run({"restore", "-f", "nope.zip", "--verbosity"});
  EXPECT_TRUE(contains(r.out, "        -v/--verbosity = 1\n")) << r.out;
  r = d.run({"import", "-v", "-f", "nope.zip"});
  EXPECT_TRUE(contains(r.out, "        -f/--file = nope.zip\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "        -v/--verbosity = 1\n")) << r.out;
}

TEST(Messages, MissingFileOptionInTheOriginalsWordsExitTwo) {
  // A data dir that does not exist: the check comes before any file is looked at.
  const std::string no_dir = "/nonexistent/mephisto-data";
  for (const char* command : {"import", "restore"}) {
    RunResult r = run_mephisto({"--data-dir", no_dir, "db", command});
    EXPECT_EQ(r.exit_code, 2) << command;
    std::string log = std::string(command) + "_missing_f.log";
    std::string expected = fixture_block(kLogs6 / log);
    expected = with_line(expected, std::string(command) == "restore" ? kRestoreOurs : kImportOurs);
    EXPECT_EQ(r.out, expected) << command;
    EXPECT_EQ(r.err, "Error: Option `-f/--file` is required.\n") << command;
  }
}

TEST(Messages, DeclinedPromptInTheOriginalsWordsExitOneNothingChanged) {
  Dir d(kS1Backup);
  RunResult b = d.run({"backup"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  std::string snapshot = b.out.substr(b.out.find("saved to snapshot: ") + 19);
  snapshot = snapshot.substr(0, snapshot.find('\n'));
  auto before = user_view(d.data);
  const std::string prompt =
      "Are you sure? It will affect your databases and related files. Type 'yes' and press Enter if you want to "
      "proceed: Exiting now ...\n";
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"import", "-f", kS1nFull.string()}, {"restore", "-f", snapshot}, {"export", "-del"}}) {
    RunResult r = d.run(args, "no\n");
    EXPECT_EQ(r.exit_code, 1) << args[0] << r.err;
    EXPECT_TRUE(contains(r.out, prompt)) << r.out;
    EXPECT_EQ(r.out.substr(r.out.size() - std::string("Exiting now ...\n").size()), "Exiting now ...\n") << r.out;
    EXPECT_EQ(changed_paths(before, user_view(d.data)), "") << args[0];
  }
  // The original's own log of the declined import ends the same way.
  EXPECT_TRUE(contains(read(kLogs6 / "import_answer_no.log"), prompt));
}

TEST(Messages, NothingToExportInTheOriginalsWordsExitOne) {
  Dir d(kS1Backup);
  RunResult r = d.run({"export", "-trs", "2099-01-01"});
  EXPECT_EQ(r.exit_code, 1);
  std::string original = "Nothing to export - no TaskRuns found that were created after 2099-01-01 00:00:00";
  EXPECT_TRUE(contains(read(kLogs1 / "err_future_date.log"), original));
  EXPECT_TRUE(contains(r.err, original)) << r.err;
  EXPECT_FALSE(stdfs::exists(d.outputs / "export") && !stdfs::is_empty(d.outputs / "export"));

  // A task without task runs: the original's generic "Nothing to export - no TaskRuns found".
  sqlite_exec(d.data / "database.db",
              "INSERT INTO tasks (task_id, task_name, task_type) VALUES (4242424242, 'no_runs_yet', 'static')");
  r = d.run({"export", "-tn", "no_runs_yet"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "Nothing to export - no TaskRuns found")) << r.err;
  EXPECT_TRUE(contains(r.err, "Nothing was exported.")) << r.err;
}

}  // namespace
}  // namespace mdb::test
