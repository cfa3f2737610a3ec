// mephisto-sample: the command line of the sample data generator (CLI11 stays in this file).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "base/error.h"
#include "tools/sample/sample.h"

namespace {

constexpr const char* kSizes = R"(
Sizes used by the tests and the benchmark (add --seed N; each is deterministic):
  tiny  (defaults)                                            ~100 files, ~3 MB, well under 1 s
  XS    --task-runs 20 --units-per-run 30                     ~2k files, ~25 MB
  S     --task-runs 60 --units-per-run 110                    ~20k files, ~275 MB, a few seconds
  M     --task-runs 200 --units-per-run 330 --media-fraction 0.02
                                                              ~200k files, ~3 GB, about a minute
Memory stays flat (~20 MB) at every size.

--mutate DIR --seed N simulates one day of work on DIR through SQLite: unfinished runs
finish, waiting units are reviewed or expire, a few workers join, a new run starts (of
about the average run size), about 1% of agent_data.json files are rewritten and a
qualification changes. The same DIR state and seed give the same result.)";

}  // namespace

int main(int argc, char** argv) {
  mdb::sample::GenerateOptions o;
  std::string out, mutate_dir;
  CLI::App app{"Writes a realistic Mephisto data dir (the real schema, provider datastores, run files)",
               "mephisto-sample"};
  app.footer(kSizes);
  CLI::Option* out_opt = app.add_option("--out", out, "New data dir to write (must not exist or be empty)")
                             ->type_name("DIR");
  CLI::Option* mutate_opt =
      app.add_option("--mutate", mutate_dir, "Simulate one day of work on this data dir")->type_name("DIR");
  out_opt->excludes(mutate_opt);
  app.add_option("--seed", o.seed, "Seed: the same seed gives the same bytes (default 1)")->type_name("N");
  CLI::Option* runs = app.add_option("--task-runs", o.task_runs, "Number of task runs (default 6)")
                          ->type_name("N")
                          ->check(CLI::PositiveNumber);
  CLI::Option* units = app.add_option("--units-per-run", o.units_per_run, "Units per task run (default 4)")
                           ->type_name("N")
                           ->check(CLI::PositiveNumber);
  CLI::Option* media =
      app.add_option("--media-fraction", o.media_fraction,
                     "Share of finished agents that uploaded a 0.1-2 MB file (default 0.015)")
          ->type_name("F")
          ->check(CLI::Range(0.0, 1.0));
  CLI::Option* legacy =
      app.add_flag("--legacy", o.legacy, "Pre-migration schema with small sequential ids (mock and prolific only)");
  CLI::Option* empty = app.add_flag("--empty", o.empty,
                                    "Only database.db with no rows, as Mephisto's first start leaves a data dir");
  for (CLI::Option* opt : {runs, units, media}) opt->excludes(empty);
  for (CLI::Option* opt : {runs, units, media, legacy, empty}) opt->excludes(mutate_opt);

  try {
    app.parse(argc, argv);
    if (out.empty() && mutate_dir.empty()) throw CLI::RequiredError("--out or --mutate");
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  try {
    auto start = std::chrono::steady_clock::now();
    mdb::sample::Report r = out.empty() ? mdb::sample::mutate(mutate_dir, o.seed) : mdb::sample::generate(out, o);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s %s: %llu files written (%.1f MB) in %.2f s\n", out.empty() ? "Mutated" : "Generated",
                out.empty() ? mutate_dir.c_str() : out.c_str(), static_cast<unsigned long long>(r.files),
                static_cast<double>(r.bytes) / 1e6, secs);
    return 0;
  } catch (const mdb::Error& e) {
    std::cerr << "Error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << "\n";
    return 1;
  }
}
