// `mephisto db ls NAME [PATH] [--long]` and `mephisto db find PATTERN` (docs/cli.md, "ls /
// find"): what the snapshots hold, read from the store's manifests alone (the data dir is never
// read), so they work on any store, s3:// included.
#include <algorithm>
#include <filesystem>

#include "commands/commands.h"
#include "commands/outcome.h"
#include "commands/path_glob.h"
#include "commands/snapshot_view.h"
#include "formats/safe_path.h"
#include "store/store.h"

namespace mdb {

namespace {

// The store, which must exist: `what` says what was looked for ("the snapshot NAME").
store::Store open_store(Context& ctx, const std::string& what) {
  const std::filesystem::path& dir = ctx.locations().store_dir;
  if (!store::Store::exists(dir))
    throw Error("There is no store at " + dir.string() + ", so no " + what + ": `mephisto db backup` makes one.",
                ErrorKind::NotFound);
  return store::Store(dir, store::Store::Mode::Read);
}

// PATH as a manifest path ("" for the whole tree): trailing '/' and "./" dropped, '..' refused.
std::string normalize_path(const std::string& given) {
  std::string p = std::filesystem::path(given).lexically_normal().generic_string();
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (p == ".") return "";
  if (std::string problem = relative_path_problem(p); !problem.empty())
    throw UsageError("ls " + given + ": the path " + problem +
                     "; give a path relative to the data directory, without '..'.");
  return p;
}

bool under(const std::string& path, const std::string& top) {
  return top.empty() || path == top || (path.size() > top.size() && path.compare(0, top.size(), top) == 0 &&
                                        path[top.size()] == '/');
}

int list(Context& ctx, const LsOptions& opts) {
  std::string top = opts.path ? normalize_path(*opts.path) : "";
  store::Store store = open_store(ctx, "snapshot " + opts.name);
  store::SnapshotInfo snap = require_snapshot(store, opts.name, live_data_dir(ctx));
  ctx.console.set("store", store.dir().string());
  ctx.console.set("snapshot", snap.name);
  if (opts.path) ctx.console.set("path", top);
  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  store::ManifestReader reader(store, snap.record);
  store::Entry e;
  uint64_t shown = 0;
  while (reader.next(e)) {
    if (!under(e.path, top)) continue;
    ++shown;
    ctx.console.info(opts.long_format ? long_line(e) : display_path(e));
    if (ctx.console.json()) entries.push_back(entry_json(e));
  }
  if (!top.empty() && shown == 0) throw Error(top + " is not in snapshot " + snap.name + ".", ErrorKind::NotFound);
  ctx.console.set("entries", std::move(entries));
  return 0;
}

}  // namespace

int run_ls(Context& ctx, const LsOptions& opts) {
  try {
    return list(ctx, opts);
  } catch (const Error& e) {
    throw finish(e, "Nothing was changed.");
  }
}

}  // namespace mdb
