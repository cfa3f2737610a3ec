// `mephisto db find PATTERN` (docs/cli.md, "ls / find"): which snapshots hold a path matching a
// glob, newest first, read from the store's manifests alone.
#include <algorithm>

#include "commands/commands.h"
#include "commands/outcome.h"
#include "commands/path_glob.h"
#include "commands/snapshot_view.h"
#include "platform/lock.h"
#include "store/store.h"

namespace mdb {

namespace {

std::string none_found(const std::string& pattern) { return "No snapshot holds a path matching " + pattern + "."; }

std::string pad_left(std::string s, size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

// The entries of one snapshot whose path matches, printed under its name; how many. Only --json
// collects them (its one object holds them all): printed lines leave nothing per entry in memory.
uint64_t matches_in(Context& ctx, store::Store& store, const store::SnapshotInfo& snap, const std::string& pattern,
                    nlohmann::ordered_json& entries) {
  uint64_t count = 0;
  store::ManifestReader reader(store, snap.record);
  store::Entry e;
  while (reader.next(e)) {
    if (!glob_match(pattern, e.path)) continue;
    if (count++ == 0)
      ctx.console.info(snap.name + "  (" + store::local_time_text(snap.record.time_ns / 1'000'000'000) + ")");
    ctx.console.info("  " + pad_left(std::to_string(e.size), 12) + "  " + store::local_time_text(e.mtime.tv_sec) +
                     "  " + display_path(e));
    if (ctx.console.json()) entries.push_back(entry_json(e));
  }
  return count;
}

int find(Context& ctx, const FindOptions& opts) {
  const stdfs::path& dir = ctx.locations().store_dir;
  ctx.console.set("store", dir.string());
  ctx.console.set("pattern", opts.pattern);
  if (!store::Store::exists(dir))
    throw Error(none_found(opts.pattern) + " There is no store at " + dir.string() + ".", ErrorKind::NotFound);
  store::Store store(dir, store::Store::Mode::Read);
  std::vector<store::SnapshotInfo> snaps = store.snapshots();
  std::reverse(snaps.begin(), snaps.end());  // newest first
  nlohmann::ordered_json found = nlohmann::ordered_json::array();
  for (const store::SnapshotInfo& snap : snaps) {
    nlohmann::ordered_json entries = nlohmann::ordered_json::array();
    if (matches_in(ctx, store, snap, opts.pattern, entries) == 0) continue;
    found.push_back({{"name", snap.name},
                     {"id", snap.id.hex()},
                     {"time", store::local_time_text(snap.record.time_ns / 1'000'000'000)},
                     {"time_ns", snap.record.time_ns},
                     {"entries", std::move(entries)}});
  }
  if (found.empty()) throw Error(none_found(opts.pattern), ErrorKind::NotFound);
  ctx.console.set("snapshots", std::move(found));
  return 0;
}

}  // namespace

int run_find(Context& ctx, const FindOptions& opts) {
  try {
    return find(ctx, opts);
  } catch (const Error& e) {
    throw finish(e, "Nothing was changed.");
  }
}

}  // namespace mdb
