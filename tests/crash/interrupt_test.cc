// Interrupts end cleanly (docs/EXIT_CODES.md). SIGINT, SIGTERM or SIGHUP at sampled fault
// points of export (and -del), import, backup (and --zip), restore and prune
// (MDB_FAULT=sigint@N: the signal is raised exactly there; "@N+" raises it again at every later
// point, as a user pressing Ctrl-C while the command cleans up), from outside during verify
// --read-data and a large export, and at the prompt. Every run either was interrupted (exit
// 128 + signal, one "Interrupted: ..." line saying what became of the data, the data dir as
// before, no partial zip, temp, staging or journal file anywhere) or the signal came after the
// point where the command could stop (exit 0, the change complete). The next command then
// works and rolls nothing back.
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

const std::string kNoted = "Interrupt noted: still cleaning up, please wait.";

// A data dir, its store and outputs dir side by side (the outputs dir is the default one).
struct Dirs {
  TempDir t;
  stdfs::path data = t / "data", store = t / "store", outputs = t / "outputs";
};

void copy_dirs(const Dirs& from, const Dirs& to) {
  for (const char* name : {"data", "store", "outputs"})
    if (stdfs::exists(from.t / name)) copy_tree(from.t / name, to.t / name);
}

void make_sample(const stdfs::path& dir, int seed, std::vector<std::string> args) {
  std::vector<std::string> all = {"--out", dir.string(), "--seed", std::to_string(seed)};
  all.insert(all.end(), args.begin(), args.end());
  RunResult r = run(sample_binary(), all);
  if (r.exit_code != 0) throw std::runtime_error("mephisto-sample failed: " + r.err);
}

// The fault points `args` passes on a throwaway copy of `base`.
uint64_t count_points(const Dirs& base, const std::vector<std::string>& args) {
  Dirs d;
  copy_dirs(base, d);
  RunResult r = mdb(d.data, d.store, args, {{"MDB_FAULT_COUNT", (d.t / "count").string()}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return std::stoull(read(d.t / "count"));
}

// About a dozen points spread over 1..n, always including the first and the last.
std::vector<uint64_t> sample(uint64_t n) {
  std::set<uint64_t> s{1, 2, n - 1, n};
  for (uint64_t k = 1; k < 10; ++k) s.insert(std::max<uint64_t>(1, n * k / 10));
  return {s.begin(), s.upper_bound(n)};
}

// The signal of the i-th sample, raised once or (every other sample) repeatedly.
struct Shot {
  int signal;
  std::string fault;
};
Shot shot(size_t i, uint64_t at) {
  static const std::pair<int, const char*> kSignals[] = {{SIGINT, "sigint"}, {SIGTERM, "sigterm"}, {SIGHUP, "sighup"}};
  const auto& [sig, name] = kSignals[i % 3];
  return {sig, std::string(name) + "@" + std::to_string(at) + (i % 2 ? "+" : "")};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line != kNoted && line.rfind("Left out of ", 0) != 0)  // backup --zip's usual notes
      out.push_back(line);
  return out;
}

// Whether the run was interrupted: exit 128 + signal and stderr holding nothing but one line
// matching "Interrupted: <outcome>". Otherwise it must have finished: exit 0, and on stderr only
// the note that the signal came too late to stop it.
bool interrupted(const RunResult& r, int sig, const std::string& outcome) {
  std::vector<std::string> lines = lines_of(r.err);
  if (r.exit_code == 0) {
    EXPECT_EQ(lines.size(), 1u) << r.err;
    EXPECT_NE(r.err.find("arrived after the point where the command could stop: it ran to completion."),
              std::string::npos)
        << r.err;
    return false;
  }
  EXPECT_EQ(r.exit_code, 128 + sig) << r.out << r.err;
  EXPECT_EQ(lines.size(), 1u) << r.err;
  if (!lines.empty()) {
    EXPECT_TRUE(std::regex_match(lines.back(), std::regex("Interrupted: " + outcome))) << r.err;
  }
  return true;
}

// No partial zip, temp or staging dir, journal marker, trash or temporary pack anywhere.
void expect_no_leftovers(const Dirs& d) {
  for (const auto& e : stdfs::directory_iterator(d.t.path())) {
    std::string n = e.path().filename().string();
    EXPECT_TRUE(n == "data" || n == "store" || n == "outputs" || n == "count") << "leftover " << e.path();
  }
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(d.outputs, ec); it != stdfs::recursive_directory_iterator();
       ++it)
    EXPECT_NE(it->path().filename().string()[0], '.') << "leftover " << it->path();
  for (const auto& e : stdfs::directory_iterator(d.data / ".mephisto-db", ec))
    EXPECT_EQ(e.path().filename(), "lock") << "leftover " << e.path();
  for (const auto& e : stdfs::directory_iterator(d.store / "tmp", ec)) ADD_FAILURE() << "leftover " << e.path();
  for (const auto& e : stdfs::directory_iterator(d.store / "packs", ec))
    EXPECT_NE(e.path().filename().string().rfind("tmp-", 0), 0u) << "leftover " << e.path();
  for (const auto& e : stdfs::directory_iterator(d.store, ec))
    EXPECT_EQ(e.path().filename().string().find("rebuild"), std::string::npos) << "leftover " << e.path();
}

// The next command that touches the data dir works and has nothing to roll back.
void expect_next_command_clean(const Dirs& d) {
  RunResult r = mdb(d.data, d.store, {"backup"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  r = mdb(d.data, d.store, {"verify", "--read-data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// What a trial's run left, checked by each test: the trial's dirs, the run, and whether it was
// interrupted (else it finished).
using TrialCheck = std::function<void(const Dirs&, const RunResult&, bool stopped)>;

// One run of `args` per sampled fault point, each on a fresh copy of `base` with the signal of
// shot(i): it was interrupted with one line matching "Interrupted: <outcome>", or it finished.
// The first point always stops it and the last never does. After `check`, nothing is left over
// and the next command is clean. Returns the number of fault points of the run.
uint64_t at_sampled_points(const Dirs& base, const std::vector<std::string>& args, const std::string& outcome,
                           const TrialCheck& check) {
  uint64_t n = count_points(base, args);
  std::vector<uint64_t> points = sample(n);
  for (size_t i = 0; i < points.size(); ++i) {
    Shot s = shot(i, points[i]);
    SCOPED_TRACE(args[0] + " " + s.fault + " of " + std::to_string(n));
    Dirs d;
    copy_dirs(base, d);
    RunResult r = mdb(d.data, d.store, args, {{"MDB_FAULT", s.fault}});
    bool stopped = interrupted(r, s.signal, outcome);
    if (points[i] == 1) {
      EXPECT_TRUE(stopped);
    }
    if (points[i] == n) {  // e.g. export: the zip's last write is its commit
      EXPECT_FALSE(stopped);
    }
    check(d, r, stopped);
    expect_no_leftovers(d);
    expect_next_command_clean(d);
  }
  return n;
}

std::vector<std::string> zips_in(const stdfs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir, ec))
    if (e.path().extension() == ".zip") out.push_back(e.path().string());
  return out;
}

std::vector<std::string> snapshot_names(const Dirs& d) {
  RunResult r = mdb(d.data, d.store, {"--json", "snapshots"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  for (const auto& s : j["snapshots"]) out.push_back(s["name"]);
  return out;
}

// A task run id of a sample data dir.
std::string some_task_run(const stdfs::path& data) {
  RunResult r = run("/usr/bin/sqlite3", {(data / "database.db").string(),
                                         "SELECT task_run_id FROM task_runs ORDER BY task_run_id LIMIT 1"});
  if (r.exit_code != 0) throw std::runtime_error(r.err);
  return r.out.substr(0, r.out.find('\n'));
}

// What an import leaves, in a form two imports of the same dump share: every file's content
// (extraction sets the mtimes) and, for databases, the row count of each table (ids that clash
// are replaced by random ones, and imported_data rows carry the time).
std::map<std::string, std::string> imported_state(const stdfs::path& data) {
  std::map<std::string, std::string> out;
  for (const auto& [path, node] : describe(data, false)) {
    if (path.size() < 3 || path.compare(path.size() - 3, 3, ".db") != 0) {
      out[path] = node.content;
      continue;
    }
    RunResult tables = run("/usr/bin/sqlite3", {(data / path).string(),
                                                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"});
    std::istringstream in(tables.out);
    for (std::string table; std::getline(in, table);)
      out[path + ":" + table] =
          run("/usr/bin/sqlite3", {(data / path).string(), "SELECT count(*) FROM \"" + table + "\""}).out;
  }
  return out;
}

const std::string kNothingExported = "nothing was exported; no partial zip or temporary files were left\\.";

TEST(Interrupt, ExportAtSampledPoints) {
  Dirs base;
  make_sample(base.data, 1, {"--task-runs", "4", "--units-per-run", "4", "--media-fraction", "0.2"});
  auto before = describe(base.data, false);
  uint64_t n = at_sampled_points(base, {"export"}, kNothingExported, [&](const Dirs& d, const RunResult&, bool stopped) {
    EXPECT_EQ(zips_in(d.outputs / "export").size(), stopped ? 0u : 1u);
    EXPECT_EQ(diff(before, describe(d.data, false)), "");
  });
  EXPECT_GT(n, 10u);
}

TEST(Interrupt, ExportDeleteAtSampledPoints) {
  Dirs base;
  make_sample(base.data, 2, {"--task-runs", "4", "--units-per-run", "4", "--media-fraction", "0.2"});
  std::vector<std::string> args = {"export", "-del", "-tri", some_task_run(base.data)};
  auto before = describe(base.data, false);
  Dirs reference;
  copy_dirs(base, reference);
  ASSERT_EQ(mdb(reference.data, reference.store, args).exit_code, 0);
  auto after = describe(reference.data, false);
  ASSERT_NE(diff(before, after), "");
  std::set<std::string> outcomes;
  const std::string outcome =
      "(nothing was exported or deleted; no partial zip or temporary files were left, and the data dir is as it was "
      "before|the dump was saved to .*_mephisto_dump\\.zip, but nothing was deleted: the data dir is as it was "
      "before)\\.";
  at_sampled_points(base, args, outcome, [&](const Dirs& d, const RunResult& r, bool stopped) {
    std::vector<std::string> zips = zips_in(d.outputs / "export");
    if (!stopped) {
      outcomes.insert("finished");
      EXPECT_EQ(diff(after, describe(d.data, false)), "");
      EXPECT_EQ(zips.size(), 1u);
      return;
    }
    EXPECT_EQ(diff(before, describe(d.data, false)), "");
    bool saved = r.err.find("the dump was saved to") != std::string::npos;
    outcomes.insert(saved ? "dump saved, nothing deleted" : "nothing exported");
    ASSERT_EQ(zips.size(), saved ? 1u : 0u);
    if (saved) {
      EXPECT_NE(r.err.find(zips[0]), std::string::npos);
    }
  });
  EXPECT_EQ(outcomes.size(), 3u) << "the samples reach every phase";
}

TEST(Interrupt, ImportAtSampledPoints) {
  Dirs base, source;
  make_sample(base.data, 3, {"--task-runs", "3", "--units-per-run", "3"});
  make_sample(source.data, 4, {"--task-runs", "4", "--units-per-run", "4", "--media-fraction", "0.2"});
  ASSERT_EQ(mdb(source.data, source.store, {"export"}).exit_code, 0);
  std::vector<std::string> zips = zips_in(source.outputs / "export");
  ASSERT_EQ(zips.size(), 1u);
  std::vector<std::string> args = {"import", "-f", zips[0]};
  auto before = describe(base.data, false);
  Dirs reference;
  copy_dirs(base, reference);
  ASSERT_EQ(mdb(reference.data, reference.store, args).exit_code, 0);
  auto after = imported_state(reference.data);
  at_sampled_points(base, args, "nothing was imported; the data dir is as it was before\\.",
                    [&](const Dirs& d, const RunResult&, bool stopped) {
                      if (stopped) {
                        EXPECT_EQ(diff(before, describe(d.data, false)), "");
                      } else {
                        EXPECT_EQ(changed_paths(after, imported_state(d.data)), "");
                      }
                    });
}

// A data dir with one backup, then changed: what backup and restore trials start from.
struct Changed {
  Dirs base;
  std::string first;  // the snapshot of the original data
  std::map<std::string, Node> original, changed;
  Changed() {
    make_data_dir(base.data);
    original = describe(base.data, false);
    RunResult r = mdb(base.data, base.store, {"--json", "backup"});
    first = nlohmann::json::parse(r.out)["snapshot"];
    write(base.data / "data" / "runs" / "new_run" / "unit" / "agent_data.json", std::string(300000, 'a'));
    sqlite_exec(base.data / "database.db", "INSERT INTO projects(project_id, project_name) VALUES (42, 'later')");
    stdfs::remove(base.data / "readonly.txt");
    changed = describe(base.data, false);
  }
};

TEST(Interrupt, BackupAtSampledPoints) {
  Changed c;
  for (bool zip : {false, true}) {
    std::vector<std::string> args = {"backup"};
    if (zip) args.push_back("--zip");
    SCOPED_TRACE(args.back());
    std::set<std::string> outcomes;
    const std::string outcome =
        "(the backup was not saved; the store has no new snapshot \\(blobs it already stored are unreferenced: "
        "`mephisto db prune` removes them\\)|the backup was saved as snapshot \\S+, but the backup zip was not "
        "written \\(no partial zip was left\\))\\.";
    at_sampled_points(c.base, args, outcome, [&](const Dirs& d, const RunResult& r, bool stopped) {
      bool saved = !stopped || r.err.find("the backup was saved") != std::string::npos;
      outcomes.insert(!stopped ? "finished" : saved ? "snapshot saved, zip not" : "nothing saved");
      EXPECT_EQ(snapshot_names(d).size(), saved ? 2u : 1u);
      EXPECT_EQ(zips_in(d.outputs / "backup").size(), zip && !stopped ? 1u : 0u);
      EXPECT_EQ(diff(c.changed, describe(d.data, false)), "");
    });
    EXPECT_EQ(outcomes.size(), zip ? 3u : 2u) << "the samples reach every phase";
  }
}

TEST(Interrupt, RestoreAtSampledPoints) {
  Changed c;
  at_sampled_points(c.base, {"restore", "-f", c.first}, "nothing was restored; the data dir is as it was before\\.",
                    [&](const Dirs& d, const RunResult&, bool stopped) {
                      EXPECT_EQ(diff(stopped ? c.changed : c.original, describe(d.data, false)), "");
                    });
}

TEST(Interrupt, PruneAtSampledPoints) {
  Changed c;
  for (int k = 0; k < 3; ++k) {  // more snapshots, each with data of its own
    write(c.base.data / ("file" + std::to_string(k) + ".bin"), std::string(200000 + k, static_cast<char>('a' + k)));
    ASSERT_EQ(mdb(c.base.data, c.base.store, {"backup"}).exit_code, 0);
  }
  std::vector<std::string> all = snapshot_names(c.base);
  ASSERT_EQ(all.size(), 4u);
  std::vector<std::string> args = {"prune", "--keep-last", "1"};
  const std::string outcome =
      "prune stopped part way; the store is consistent and every snapshot it keeps is intact \\(snapshots it had "
      "already forgotten stay forgotten\\)\\. Run `mephisto db prune` again to reclaim the rest\\.";
  at_sampled_points(c.base, args, outcome, [&](const Dirs& d, const RunResult&, bool stopped) {
    std::vector<std::string> now = snapshot_names(d);
    if (stopped) {
      EXPECT_TRUE(now == all || now == std::vector<std::string>{all.back()}) << now.size();
    } else {
      EXPECT_EQ(now, std::vector<std::string>{all.back()});
    }
    RunResult v = mdb(d.data, d.store, {"verify", "--read-data"});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    RunResult again = mdb(d.data, d.store, args);
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(snapshot_names(d), std::vector<std::string>{all.back()});
  });
}

// A store big enough that re-hashing every blob takes a while.
TEST(Interrupt, VerifyReadDataStopsAtASignalFromOutside) {
  Dirs d;
  make_sample(d.data, 5, {"--task-runs", "10", "--units-per-run", "10", "--media-fraction", "0.5"});
  ASSERT_EQ(mdb(d.data, d.store, {"backup"}).exit_code, 0);
  auto store_before = tree(d.store / "packs");
  int stopped = 0;
  for (int sig : {SIGINT, SIGTERM, SIGINT}) {
    std::vector<std::string> args = {"--data-dir", d.data.string(), "--store", d.store.string(), "db", "verify",
                                     "--read-data"};
    RunResult r = run_mephisto_signalled(args, "", sig);
    if (interrupted(r, sig, "the check stopped before it finished; nothing was changed\\.")) {
      ++stopped;
    } else {
      EXPECT_NE(r.out.find("No problems found."), std::string::npos) << r.out;
    }
    EXPECT_EQ(tree(d.store / "packs"), store_before);
    expect_no_leftovers(d);
  }
  RecordProperty("interrupted_runs", stopped);
  expect_next_command_clean(d);
}

// Ctrl-C from outside while a large export writes its zip.
TEST(Interrupt, LargeExportStopsAtCtrlC) {
  Dirs d;
  make_sample(d.data, 6, {"--task-runs", "10", "--units-per-run", "10", "--media-fraction", "0.5"});
  auto before = describe(d.data, false);
  std::vector<std::string> args = {"--data-dir", d.data.string(), "db", "export"};
  RunResult r = run_mephisto_signalled(args, "Copying database records ...", SIGINT);
  bool stopped = interrupted(r, SIGINT, kNothingExported);
  EXPECT_EQ(zips_in(d.outputs / "export").size(), stopped ? 0u : 1u);
  EXPECT_EQ(diff(before, describe(d.data, false)), "");
  expect_no_leftovers(d);
}

// The prompt: a blocked read that the signal ends; nothing has begun.
void expect_prompt_interrupted(const Dirs& d, const std::vector<std::string>& command, int sig,
                               const std::string& outcome) {
  auto before = describe(d.data, false);
  std::vector<std::string> args = {"--data-dir", d.data.string(), "--store", d.store.string(), "db"};
  args.insert(args.end(), command.begin(), command.end());
  RunResult r = run_mephisto_signalled(args, "Are you sure?", sig, "yes\n");
  EXPECT_TRUE(interrupted(r, sig, outcome));
  EXPECT_EQ(r.exit_code, 128 + sig);
  EXPECT_EQ(r.out.find("Exiting now"), std::string::npos) << r.out;
  EXPECT_EQ(diff(before, describe(d.data, false)), "");
  expect_no_leftovers(d);
  expect_next_command_clean(d);
}

TEST(Interrupt, AtThePrompt) {
  Changed c;
  {
    Dirs d;
    copy_dirs(c.base, d);
    expect_prompt_interrupted(d, {"export", "-del"}, SIGINT,
                              "nothing was exported or deleted; no partial zip or temporary files were left, and "
                              "the data dir is as it was before\\.");
  }
  {
    Dirs d;
    copy_dirs(c.base, d);
    expect_prompt_interrupted(d, {"restore", "-f", c.first}, SIGHUP,
                              "nothing was restored; the data dir is as it was before\\.");
  }
  Dirs target, source;
  make_sample(target.data, 8, {"--task-runs", "2", "--units-per-run", "2"});
  make_sample(source.data, 9, {"--task-runs", "2", "--units-per-run", "2"});
  ASSERT_EQ(mdb(source.data, source.store, {"export"}).exit_code, 0);
  std::vector<std::string> zips = zips_in(source.outputs / "export");
  ASSERT_EQ(zips.size(), 1u);
  expect_prompt_interrupted(target, {"import", "-f", zips[0]}, SIGTERM,
                            "nothing was imported; the data dir is as it was before\\.");
}

TEST(Interrupt, JsonReportsTheInterruptAsAnError) {
  Dirs d;
  make_sample(d.data, 7, {"--task-runs", "2", "--units-per-run", "2"});
  RunResult r = mdb(d.data, d.store, {"--json", "export"}, {{"MDB_FAULT", "sigterm@1"}});
  EXPECT_EQ(r.exit_code, 143) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"],
            "Interrupted: nothing was exported; no partial zip or temporary files were left.");
  EXPECT_EQ(j["signal"], "SIGTERM");
  EXPECT_EQ(r.err, "Interrupted: nothing was exported; no partial zip or temporary files were left.\n");
  expect_no_leftovers(d);
}

}  // namespace
}  // namespace mdb::test
