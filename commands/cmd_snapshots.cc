// `mephisto db snapshots [--tag T] [--json]` (store.md, docs/PRUNE.md): the store's snapshots, oldest
// first, in a table that fits 100 columns, and their count.
#include <algorithm>
#include <array>
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

constexpr size_t kColumns = 100;  // the table fits a 100-column terminal

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string pad_left(std::string s, size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

std::string joined(const std::vector<std::string>& tags) {
  std::string out;
  for (const std::string& t : tags) out += (out.empty() ? "" : ",") + t;
  return out;
}

bool selected(const store::SnapshotInfo& s, const std::vector<std::string>& tags) {
  if (tags.empty()) return true;
  return std::any_of(tags.begin(), tags.end(), [&](const std::string& t) { return s.record.has_tag(t); });
}

// name, local time with its zone, kind, size, tags, in 100 columns: a name too long for its
// column (an automatic snapshot before `export -del`) gets a line of its own, the rest of its
// row follows on the next; a row still too long (tags) is cut (--json has every tag).
void print_table(Console& console, const std::vector<store::SnapshotInfo>& snaps) {
  std::vector<std::array<std::string, 5>> rows;
  rows.push_back({"name", "time", "kind", "size", "tags"});
  bool any_tags = false;
  for (const store::SnapshotInfo& s : snaps) {
    const store::SnapshotRecord& r = s.record;
    rows.push_back({s.name, store::local_time_zone_text(r.time_ns / 1'000'000'000), store::kind_name(r.kind),
                    human_bytes(r.bytes), joined(r.tags)});
    any_tags = any_tags || !r.tags.empty();
  }
  std::array<size_t, 4> width{};
  for (const auto& row : rows)
    for (size_t c = 0; c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  size_t rest = 2 + width[1] + 2 + width[2] + 2 + width[3];
  width[0] = std::min(width[0], kColumns > rest + 4 ? kColumns - rest : size_t{4});
  auto emit = [&](std::string line) {
    if (line.size() > kColumns) line.replace(kColumns - 3, std::string::npos, "...");
    while (!line.empty() && line.back() == ' ') line.pop_back();
    console.info(line);
  };
  for (const auto& row : rows) {
    std::string name = row[0];
    if (name.size() > width[0]) {
      emit(name);
      name.clear();
    }
    std::string line = pad(name, width[0]) + "  " + pad(row[1], width[1]) + "  " + pad(row[2], width[2]) + "  " +
                       pad_left(row[3], width[3]);
    emit(any_tags ? line + "  " + row[4] : line);
  }
}

nlohmann::ordered_json snapshot_json(const store::SnapshotInfo& s) {
  const store::SnapshotRecord& r = s.record;
  return {{"name", s.name},
          {"id", s.id.hex()},
          {"time", store::local_time_text(r.time_ns / 1'000'000'000)},
          {"time_ns", r.time_ns},
          {"reason", r.reason},
          {"kind", store::kind_name(r.kind)},
          {"tags", r.tags},
          {"host", r.host},
          {"data_dir", r.data_dir},
          {"files", r.files},
          {"dirs", r.dirs},
          {"bytes", r.bytes},
          {"new_bytes", r.new_bytes},
          {"stored_bytes", r.stored_bytes},
          {"changed_while_read", r.changed_while_read}};
}

int list_snapshots(Context& ctx, const SnapshotsOptions& opts) {
  std::vector<std::string> tags = checked_tags(opts.tags);
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
  std::vector<store::SnapshotInfo> snaps;
  for (store::SnapshotInfo& s : store.snapshots())
    if (selected(s, tags)) snaps.push_back(std::move(s));
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& s : snaps) list.push_back(snapshot_json(s));
  ctx.console.set("snapshots", std::move(list));
  if (!snaps.empty()) print_table(ctx.console, snaps);
  std::string count = std::to_string(snaps.size()) + (snaps.size() == 1 ? " snapshot" : " snapshots");
  if (!tags.empty()) count += " with the tag " + joined(tags);
  ctx.console.info(count);
  return 0;
}

}  // namespace

int run_snapshots(Context& ctx, const SnapshotsOptions& opts) {
  try {
    return list_snapshots(ctx, opts);
  } catch (const Error& e) {
    throw finish(e, "Nothing was changed.");
  }
}

}  // namespace mdb
