// `mephisto db prune [--keep-last N] [--keep-within DURATION]` (store.md).
#include <chrono>
#include <optional>

#include "core/commands.h"
#include "core/journal.h"
#include "core/storeops.h"
#include "store/prune.h"

namespace mdb::core {

namespace {

// "30d", "12h", "2w", "6m" (30-day months), "1y", or sums such as "1d12h".
int64_t parse_duration_ns(const std::string& text) {
  constexpr int64_t kHour = int64_t{3600} * 1'000'000'000;
  int64_t total = 0;
  size_t pos = 0;
  bool any = false;
  while (pos < text.size()) {
    size_t end = pos;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end == pos || end == text.size() || end - pos > 6) break;
    int64_t n = std::stoll(text.substr(pos, end - pos));
    int64_t unit = 0;
    switch (text[end]) {
      case 'h':
        unit = kHour;
        break;
      case 'd':
        unit = 24 * kHour;
        break;
      case 'w':
        unit = 7 * 24 * kHour;
        break;
      case 'm':
        unit = 30 * 24 * kHour;
        break;
      case 'y':
        unit = 365 * 24 * kHour;
        break;
      default:
        unit = 0;
    }
    if (unit == 0) break;
    total += n * unit;
    pos = end + 1;
    any = true;
  }
  if (!any || pos != text.size())
    throw UsageError("--keep-within " + text + ": give a duration such as 30d, 12h, 2w, 6m, 1y or 1d12h.");
  return total;
}

}  // namespace

int run_prune(Context& ctx, const PruneOptions& opts) {
  store::PrunePolicy policy;
  if (opts.keep_last) policy.keep_last = static_cast<uint64_t>(*opts.keep_last);
  if (opts.keep_within) policy.keep_within_ns = parse_duration_ns(*opts.keep_within);
  policy.now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  recover_before_reading(ctx);
  // A snapshot a journal marker names is the way back from an interrupted change (one still
  // running, or one whose rollback failed).
  std::error_code ec;
  if (stdfs::is_directory(ctx.locations().data_dir, ec))
    if (auto name = journal_snapshot(DataDir(ctx.locations().data_dir))) policy.protect.insert(*name);

  if (!store::Store::exists(ctx.locations().store_dir))
    throw Error("There is no store at " + ctx.locations().store_dir.string() +
                ", so there is nothing to prune (--store / MEPHISTO_STORE choose another). Nothing was changed.");
  store::Store store(ctx.locations().store_dir, store::Store::Mode::Write, "prune");
  ConsoleReporter reporter(ctx.console);
  store::PruneReport r = store::prune(store, policy, reporter);
  std::string forgotten;
  for (const std::string& n : r.forgotten) forgotten += (forgotten.empty() ? ": " : ", ") + n;
  ctx.console.info("Kept " + std::to_string(r.kept.size()) + " snapshots, forgot " +
                   std::to_string(r.forgotten.size()) + forgotten + ".");
  ctx.console.info("Deleted " + std::to_string(r.packs_deleted) + " packs, rewrote " +
                   std::to_string(r.packs_rewritten) + "; packs now take " + human_bytes(r.bytes_after) + " (were " +
                   human_bytes(r.bytes_before) + ").");
  ctx.console.set("ok", true);
  ctx.console.set("kept", r.kept);
  ctx.console.set("forgotten", r.forgotten);
  ctx.console.set("packs_deleted", r.packs_deleted);
  ctx.console.set("packs_rewritten", r.packs_rewritten);
  ctx.console.set("bytes_before", r.bytes_before);
  ctx.console.set("bytes_after", r.bytes_after);
  return 0;
}

}  // namespace mdb::core
