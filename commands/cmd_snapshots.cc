// `mephisto db snapshots [--json]` (store.md): the store's snapshots, oldest first.
#include <cstdio>

#include "commands/commands.h"
#include "commands/outcome.h"
#include "datadir/journal.h"
#include "datadir/storeops.h"
#include "platform/console.h"
#include "platform/lock.h"
#include "store/store.h"

namespace mdb {

namespace {

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}


int list_snapshots(Context& ctx) {
  recover_before_reading(ctx, DbCommand::Snapshots);
  // A store found through a data dir that does not exist is a wrong --data-dir (or config), not
  // an empty store; a store named itself is listed from anywhere.
  if (ctx.locations().store_beside_data_dir) DataDir::open_existing(ctx.locations().data_dir);
  const stdfs::path& dir = ctx.locations().store_dir;
  ctx.console.set("store", dir.string());
  ctx.console.set("snapshots", nlohmann::ordered_json::array());
  if (!store::Store::exists(dir)) {
    ctx.console.info("No snapshots yet: there is no store at " + dir.string() + ".");
    return 0;
  }
  store::Store store(dir, store::Store::Mode::Read);
  std::vector<store::SnapshotInfo> snaps = store.snapshots();
  size_t width = 4;
  for (const auto& s : snaps) width = std::max(width, s.name.size());
  ctx.console.info(pad("name", width) + "  " + pad("time", 19) + "  " + pad("kind", 20) + "  " + pad("id", 12) + "  " +
                   pad("files", 8) + "  " + pad("size", 10) + "  new");
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& s : snaps) {
    const store::SnapshotRecord& r = s.record;
    std::string time = store::local_time_text(r.time_ns / 1'000'000'000);
    ctx.console.info(pad(s.name, width) + "  " + time + "  " + pad(store::kind_name(r.kind), 20) + "  " +
                     s.id.hex().substr(0, 12) + "  " +
                     pad(std::to_string(r.files), 8) + "  " + pad(human_bytes(r.bytes), 10) + "  " +
                     human_bytes(r.new_bytes));
    list.push_back({{"name", s.name},
                   {"id", s.id.hex()},
                   {"time", time},
                   {"time_ns", r.time_ns},
                   {"reason", r.reason},
                   {"kind", store::kind_name(r.kind)},
                   {"host", r.host},
                   {"data_dir", r.data_dir},
                   {"files", r.files},
                   {"dirs", r.dirs},
                   {"bytes", r.bytes},
                   {"new_bytes", r.new_bytes},
                   {"stored_bytes", r.stored_bytes},
                   {"changed_while_read", r.changed_while_read}});
  }
  ctx.console.set("snapshots", std::move(list));
  if (snaps.empty()) ctx.console.info("(no snapshots)");
  return 0;
}

}  // namespace

int run_snapshots(Context& ctx, const SnapshotsOptions&) {
  try {
    return list_snapshots(ctx);
  } catch (const Error& e) {
    throw finish(e, "Nothing was changed.");
  }
}

}  // namespace mdb
