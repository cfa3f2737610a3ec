// `mephisto db prune [--keep-last N] [--keep-hourly N] ... [--keep-within DURATION] [--keep-tag T]
// [--keep-auto N] [--tag T] [--dry-run]` and `mephisto db forget NAME... [--dry-run]` (store.md,
// docs/PRUNE.md): one removal path, store::prune.
#include <algorithm>
#include <optional>

#include "commands/commands.h"
#include "commands/outcome.h"
#include "commands/snapshot_view.h"
#include "datadir/journal.h"
#include "datadir/storeops.h"
#include "platform/console.h"
#include "base/interrupt.h"
#include "store/prune.h"
#include "platform/lock.h"

namespace mdb {

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

std::optional<uint64_t> count(const std::optional<int>& n) {
  if (!n) return std::nullopt;
  return static_cast<uint64_t>(*n);
}

store::PrunePolicy policy_of(const PruneOptions& opts) {
  store::PrunePolicy policy;
  store::KeepPolicy& keep = policy.keep;
  keep.last = count(opts.keep_last);
  keep.hourly = count(opts.keep_hourly);
  keep.daily = count(opts.keep_daily);
  keep.weekly = count(opts.keep_weekly);
  keep.monthly = count(opts.keep_monthly);
  keep.yearly = count(opts.keep_yearly);
  if (opts.keep_within) keep.within_ns = parse_duration_ns(*opts.keep_within);
  keep.tags = checked_tags(opts.keep_tags);
  policy.only_tags = checked_tags(opts.tags);
  policy.keep_auto = static_cast<uint64_t>(opts.keep_auto);
  policy.dry_run = opts.dry_run;
  policy.now_ns = fs::env().now_ns();
  return policy;
}

// What an interrupted change still needs. Pins are read after the store is open, so with
// the store lock held (a real run) no new pin appears meanwhile and dead ones may go.
void protect_pending(Context& ctx, store::Store& store, store::PrunePolicy& policy) {
  for (const store::Pin& pin : live_pins(store.backend(), !policy.dry_run))
    policy.protect[pin.snapshot] = "the interrupted `mephisto db " + pin.command + "` of " + pin.data_dir +
                                   " rolls back to it (pin " + pin.name + ")";
  // A marker written before pins existed has none.
  stdfs::path data_dir;
  try {
    data_dir = ctx.locations().data_dir;
  } catch (const Error&) {
    return;  // no data dir configured: prune needs only the store
  }
  std::error_code ec;
  if (stdfs::is_directory(data_dir, ec))
    if (auto name = journal_snapshot(DataDir(data_dir)))
      policy.protect.emplace(*name, "the journal marker of " + data_dir.string() + " names it");
}

void print_report(Context& ctx, const store::PruneReport& r, bool dry_run) {
  size_t total = r.kept.size() + r.forgotten.size();
  if (r.forgotten.empty())
    ctx.console.info(std::string(dry_run ? "Would forget" : "Forgot") + " no snapshots (" + std::to_string(total) +
                     " kept).");
  else
    ctx.console.info(std::string(dry_run ? "Would forget " : "Forgot ") + std::to_string(r.forgotten.size()) +
                     " of " + std::to_string(total) + " snapshots:");
  size_t width = 0;
  for (const store::SnapshotInfo& s : r.forgotten) width = std::max(width, s.name.size());
  for (const store::SnapshotInfo& s : r.forgotten)
    ctx.console.info("  " + s.name + std::string(width - s.name.size(), ' ') + "  " +
                     store::local_time_text(s.record.time_ns / 1'000'000'000) + "  " + store::kind_name(s.record.kind));
  for (const auto& [name, why] : r.protected_kept)
    ctx.console.info("Kept " + name + " although outside the policy: " + why + ".");
  std::string packs = std::to_string(r.packs_deleted) + " packs and " + (dry_run ? "rewrite " : "rewrote ") +
                      std::to_string(r.packs_rewritten) + ", freeing " + human_bytes(r.bytes_before - r.bytes_after);
  if (dry_run)
    ctx.console.info("Would delete " + packs + "; packs would take " + human_bytes(r.bytes_after) + " (now " +
                     human_bytes(r.bytes_before) + "). Dry run: nothing was changed.");
  else
    ctx.console.info("Deleted " + packs + "; packs now take " + human_bytes(r.bytes_after) + " (were " +
                     human_bytes(r.bytes_before) + ").");
  if (r.damaged_packs_kept)
    ctx.console.warn("Run `mephisto db verify`: " + std::to_string(r.damaged_packs_kept) +
                     (r.damaged_packs_kept == 1 ? " pack was" : " packs were") + " kept as " +
                     (r.damaged_packs_kept == 1 ? "it is" : "they are") + " because of damage (see above).");
}

nlohmann::ordered_json names(const std::vector<store::SnapshotInfo>& snaps) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const store::SnapshotInfo& s : snaps) out.push_back(s.name);
  return out;
}

void report_json(Context& ctx, const store::PruneReport& r, bool dry_run) {
  nlohmann::ordered_json forgotten = nlohmann::ordered_json::array();
  for (const store::SnapshotInfo& s : r.forgotten)
    forgotten.push_back({{"name", s.name},
                         {"time", store::local_time_text(s.record.time_ns / 1'000'000'000)},
                         {"time_ns", s.record.time_ns},
                         {"kind", store::kind_name(s.record.kind)},
                         {"data_dir", s.record.data_dir}});
  nlohmann::ordered_json kept_protected = nlohmann::ordered_json::array();
  for (const auto& [name, why] : r.protected_kept) kept_protected.push_back({{"name", name}, {"why", why}});
  Console& c = ctx.console;
  c.set("ok", true);
  c.set("dry_run", dry_run);
  c.set("kept", names(r.kept));
  c.set("forgotten", names(r.forgotten));
  c.set("forgotten_snapshots", std::move(forgotten));
  c.set("kept_protected", std::move(kept_protected));
  nlohmann::ordered_json kept_why = nlohmann::ordered_json::object();
  for (const store::SnapshotInfo& s : r.kept)
    if (auto why = r.kept_why.find(s.name); why != r.kept_why.end()) kept_why[s.name] = why->second;
  c.set("kept_why", std::move(kept_why));
  c.set("packs_deleted", r.packs_deleted);
  c.set("packs_rewritten", r.packs_rewritten);
  c.set("bytes_before", r.bytes_before);
  c.set("bytes_after", r.bytes_after);
  c.set("bytes_freed", r.bytes_before - r.bytes_after);
}

// The prune (or forget); `started` is set once the store may have changed.
int prune_command(Context& ctx, store::PrunePolicy policy, bool& started) {
  recover_before_reading(ctx, DbCommand::Prune);
  if (!store::Store::exists(ctx.locations().store_dir))
    throw Error("There is no store at " + ctx.locations().store_dir.string() +
                ", so there is nothing to prune (--store / MEPHISTO_STORE choose another).",
                ErrorKind::NotFound);
  // A dry run only reads: no lock, nothing written (LMDB's MVCC gives it one consistent view).
  store::Store store(ctx.locations().store_dir, policy.dry_run ? store::Store::Mode::Read : store::Store::Mode::Exclusive,
                     "prune");
  for (std::string& spec : policy.forget) spec = require_snapshot(store, spec, live_data_dir(ctx)).name;  // id prefixes too
  protect_pending(ctx, store, policy);
  ConsoleReporter reporter(ctx.console);
  store::PruneReport r;
  started = !policy.dry_run;
  try {
    r = store::prune(store, policy, reporter);
  } catch (const interrupt::Interrupted& e) {  // every step of prune is a transaction of its own
    throw e.with_outcome(
        "prune stopped part way; the store is consistent and every snapshot it keeps is intact (snapshots it "
        "had already forgotten stay forgotten). Run `mephisto db prune` again to reclaim the rest.");
  }
  print_report(ctx, r, policy.dry_run);
  report_json(ctx, r, policy.dry_run);
  return 0;
}

}  // namespace

int run_prune(Context& ctx, const PruneOptions& opts) {
  bool started = false;
  try {
    return prune_command(ctx, policy_of(opts), started);
  } catch (const Error& e) {  // every step of prune is a transaction of its own
    throw finish(e, started ? "The store is consistent and every snapshot it keeps is intact."
                            : "Nothing was changed.");
  }
}

int run_forget(Context& ctx, const ForgetOptions& opts) {
  store::PrunePolicy policy;
  policy.forget = opts.names;
  policy.dry_run = opts.dry_run;
  policy.now_ns = fs::env().now_ns();
  bool started = false;
  try {
    return prune_command(ctx, std::move(policy), started);
  } catch (const Error& e) {  // the snapshots are forgotten in one transaction, before any pack changes
    throw finish(e, started ? "The store is consistent and every snapshot it keeps is intact."
                            : "Nothing was changed.");
  }
}

}  // namespace mdb
