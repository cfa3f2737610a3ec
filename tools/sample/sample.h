#pragma once
// mephisto-sample: writes realistic Mephisto data dirs (generate) and simulates a day of
// work on one (mutate). Deterministic: the same seed gives the same files, mtimes and DBs.
#include <cstdint>
#include <filesystem>

namespace mdb::sample {

struct GenerateOptions {
  uint64_t seed = 1;
  int task_runs = 6;
  int units_per_run = 4;
  double media_fraction = 0.015;  // share of finished agents that uploaded a file
  bool legacy = false;           // pre-migration schema, small sequential ids
  bool empty = false;            // only database.db without rows, as Mephisto's first start leaves it
};

struct Report {
  uint64_t files = 0;
  uint64_t bytes = 0;
};

// Writes a data dir into `out`, which must not exist or be empty.
Report generate(const std::filesystem::path& out, const GenerateOptions& options);

// One day of work on the data dir `dir`, through SQLite as Mephisto does it: earlier runs
// finish, waiting units are reviewed or expire, a new run starts, about 1% of
// agent_data.json files are rewritten, a qualification changes.
Report mutate(const std::filesystem::path& dir, uint64_t seed);

}  // namespace mdb::sample
