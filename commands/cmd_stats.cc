// `mephisto db stats [NAME]` (docs/INSPECT.md, "stats"): what the store holds and what it saves,
// from the index and the snapshots' manifests (no file content is read), so it works on any
// store, s3:// included. Per snapshot: its raw size and the bytes only it holds, which are
// what prune would free if that snapshot alone were forgotten.
#include <limits>
#include <unordered_map>

#include "commands/commands.h"
#include "commands/outcome.h"
#include "commands/snapshot_view.h"
#include "store/store.h"

namespace mdb {

namespace {

using json = nlohmann::ordered_json;

constexpr uint32_t kShared = std::numeric_limits<uint32_t>::max();

struct Totals {
  uint64_t packs = 0, pack_bytes = 0, blobs = 0, raw = 0, stored = 0;
  uint64_t data_raw = 0;  // raw bytes of the distinct file-content blobs the snapshots use
  uint64_t logical = 0;   // the snapshots' file bytes, each snapshot counted whole
  std::vector<uint64_t> unique;  // per snapshot: stored bytes of the blobs only it uses
};

// Each blob a snapshot uses (content chunks and manifest parts) -> the one snapshot using it,
// or kShared.
std::unordered_map<store::BlobId, uint32_t, store::BlobIdHash> owners(store::Store& store, const std::vector<store::SnapshotInfo>& snaps) {
  std::unordered_map<store::BlobId, uint32_t, store::BlobIdHash> owner;
  auto use = [&owner](const store::BlobId& id, uint32_t i) {
    auto [it, fresh] = owner.emplace(id, i);
    if (!fresh && it->second != i) it->second = kShared;
  };
  for (uint32_t i = 0; i < snaps.size(); ++i) {
    for (const store::BlobId& part : snaps[i].record.manifest) use(part, i);
    store::ManifestReader reader(store, snaps[i].record);
    store::Entry e;
    while (reader.next(e))
      if (e.kind == store::EntryKind::File)  // a hard link's chunks are its file's
        for (const store::BlobId& c : e.chunks) use(c, i);
  }
  return owner;
}

Totals totals(store::Store& store, const std::vector<store::SnapshotInfo>& snaps) {
  Totals t;
  t.unique.assign(snaps.size(), 0);
  for (const store::SnapshotInfo& s : snaps) t.logical += s.record.bytes;
  std::unordered_map<store::BlobId, uint32_t, store::BlobIdHash> owner = owners(store, snaps);
  store.index().for_each_pack(store.state(), [&t](const std::string&, const store::PackRecord& p) {
    ++t.packs;
    t.pack_bytes += p.size;
  });
  store.index().for_each_blob(store.state(), [&](const store::BlobLocation& loc) {
    ++t.blobs;
    t.raw += loc.entry.raw_len;
    t.stored += loc.entry.stored_len;
    auto it = owner.find(loc.entry.id);
    if (it == owner.end()) return;
    if (loc.entry.type == store::BlobType::Data) t.data_raw += loc.entry.raw_len;
    if (it->second != kShared) t.unique[it->second] += loc.entry.stored_len;
  });
  return t;
}

double ratio(uint64_t a, uint64_t b) { return b == 0 ? 1.0 : static_cast<double>(a) / static_cast<double>(b); }

std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string pad(std::string s, size_t width, bool left) {
  if (s.size() < width) s.insert(left ? 0 : s.size(), width - s.size(), ' ');
  return s;
}

json snapshot_json(const store::SnapshotInfo& s, uint64_t unique) {
  return {{"name", s.name},
          {"id", s.id.hex()},
          {"time", store::local_time_text(s.record.time_ns / 1'000'000'000)},
          {"time_ns", s.record.time_ns},
          {"bytes", s.record.bytes},
          {"bytes_unique", unique}};
}

void store_figures(Console& console, const Totals& t, size_t snapshots) {
  double dedup = ratio(t.logical, t.data_raw), compression = ratio(t.raw, t.stored);
  console.info("Snapshots: " + std::to_string(snapshots) + ", blobs: " + std::to_string(t.blobs) +
               ", packs: " + std::to_string(t.packs));
  console.info("Stored: " + human_bytes(t.pack_bytes) + " in packs; raw: " + human_bytes(t.raw) +
               " of distinct blobs before compression");
  console.info("Data in the snapshots: " + human_bytes(t.logical) + "; deduplication ratio " + fixed2(dedup) +
               ", compression ratio " + fixed2(compression));
  console.set("bytes_stored", t.pack_bytes);
  console.set("bytes_raw", t.raw);
  console.set("bytes", t.logical);
  console.set("dedup_ratio", dedup);
  console.set("compression_ratio", compression);
  console.set("blobs", t.blobs);
  console.set("packs", t.packs);
}

int stats(Context& ctx, const StatsOptions& opts) {
  const stdfs::path& dir = ctx.locations().store_dir;
  if (!store::Store::exists(dir))
    throw Error("There is no store at " + dir.string() + ": `mephisto db backup` makes one.", ErrorKind::NotFound);
  store::Store store(dir, store::Store::Mode::Read);
  std::optional<store::SnapshotInfo> only;
  if (opts.name) only = require_snapshot(store, *opts.name, live_data_dir(ctx));
  std::vector<store::SnapshotInfo> snaps = store.snapshots();
  Totals t = totals(store, snaps);
  ctx.console.set("store", store.dir().string());
  if (only) {
    ctx.console.set("snapshot", only->name);
  } else {
    ctx.console.info("Store " + store.dir().string());
    store_figures(ctx.console, t, snaps.size());
  }
  ctx.console.info(pad("Snapshot", 44, false) + pad("raw size", 12, true) + pad("only in it", 12, true));
  json list = json::array();
  for (size_t i = 0; i < snaps.size(); ++i) {
    if (only && snaps[i].name != only->name) continue;
    ctx.console.info(pad(snaps[i].name, 44, false) + pad(human_bytes(snaps[i].record.bytes), 12, true) +
                     pad(human_bytes(t.unique[i]), 12, true));
    list.push_back(snapshot_json(snaps[i], t.unique[i]));
  }
  ctx.console.set("snapshots", std::move(list));
  return 0;
}

}  // namespace

int run_stats(Context& ctx, const StatsOptions& opts) {
  try {
    return stats(ctx, opts);
  } catch (const Error& e) {
    throw finish(e, "Nothing was changed.");
  }
}

}  // namespace mdb
