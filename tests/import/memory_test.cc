// Peak memory of an import (the product target: <= 64 MB for every command at every size). What
// grows with a dump is what it holds per run file (the zip's directory, where each file goes) and
// per row (the staging database, whose page cache is bounded): a regression shows as a steeper
// growth between two dump sizes, whatever the process's fixed part on the machine at hand.
#include <gtest/gtest.h>

#include "platform/console.h"
#include "import/import_dump.h"
#include "formats/zip.h"
#include "tests/import/import_util.h"
#include "tests/support/sanitized.h"

namespace mdb::test {
namespace {

struct Peak {
  long rss_kb = 0;
  long files = 0;
};

Peak import_peak(const stdfs::path& dir, int task_runs, int units_per_run) {
  make_sample(dir / "a", 5, {"--task-runs", std::to_string(task_runs), "--units-per-run", std::to_string(units_per_run)});
  stdfs::path dump = export_dump(dir / "a", dir / "out");
  RunResult r = import(dir / "b", dump);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Peak p{r.max_rss_kb, 0};
  zip::Reader zip(dump);
  for (const zip::Entry& e : zip.entries()) p.files += e.name.rfind("runs/", 0) == 0 && !e.is_directory;
  return p;
}

TEST(ImportMemory, GrowsByLessThanTwoAndAHalfKilobytesPerRunFile) {
  TempDir tmp;
  Peak small = import_peak(tmp / "small", 5, 20), large = import_peak(tmp / "large", 15, 70);
  ASSERT_GT(large.files - small.files, 2500);
  // In the sanitized build the peaks are ASan's (shadow memory, redzones, the quarantine of
  // freed blocks), not the product's: there the imports at both sizes run, the bounds hold in build/.
  if (kSanitized) return;
  double per_file = 1024.0 * static_cast<double>(large.rss_kb - small.rss_kb) / static_cast<double>(large.files - small.files);
  EXPECT_LT(per_file, 2500) << small.rss_kb << " KB for " << small.files << " files, " << large.rss_kb << " KB for "
                            << large.files << " files";
  EXPECT_LT(large.rss_kb, 64 * 1024);
}

// The staging database spills to its temporary file beyond a bounded page cache.
TEST(ImportMemory, TheStagingDatabaseHasABoundedPageCache) {
  mdb::Console console(true, true);
  mdb::Problems problems;
  TempDir tmp;
  make_sample(tmp / "a", 5);
  mdb::Dump dump(export_dump(tmp / "a", tmp / "out"), tmp.path(), console, problems);
  int64_t cache = dump.stage().query_value("PRAGMA cache_size").i;  // negative: KiB
  EXPECT_LT(cache, 0);
  EXPECT_GE(cache, -16 * 1024);
}

}  // namespace
}  // namespace mdb::test
