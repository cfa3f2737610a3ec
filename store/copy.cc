#include "store/copy.h"

#include <optional>
#include <unordered_map>

namespace mdb::store {

namespace {

// Whether the two stores give content the same ids: both plain, or both keyed by the same MAC key
// (a store and a copy of its directory). Stores with different keys (issue 17) do not.
bool same_ids(const Store& from, const Store& to) {
  std::string_view probe = "mephisto-db copy: do these stores name content alike?";
  return from.id_of(probe) == to.id_of(probe);
}

// The ids blobs of `from` got in `to` during this copy (stores that name content differently).
using Carried = std::unordered_map<BlobId, BlobId, BlobIdHash>;

// The id in `to` of the blob `id` of `from`. When both stores name content alike, an id the target
// knows is that content there: it is neither read nor written. Otherwise (other keys) the blob is
// read (and verified) from `from` and added to `to`, which names, encrypts and deduplicates it by
// its own key, once per copy: an earlier snapshot's (or file's) carried blob is not read again.
BlobId carry(Store& from, Store& to, const BlobId& id, BlobType type, bool alike, Carried& carried,
             CopiedSnapshot& out) {
  if (alike && to.has(id)) return id;
  if (auto it = carried.find(id); it != carried.end() && to.has(it->second)) return it->second;
  bool fresh = false;
  ++out.blobs_read;
  BlobId there = to.add(type, from.read(id), &fresh);
  if (fresh) ++out.blobs_new;
  if (!alike) carried[id] = there;
  return there;
}

uint64_t entry_bytes(const Entry& e) { return e.kind == EntryKind::File ? e.size : 0; }

CopiedSnapshot copy_one(Store& from, Store& to, const SnapshotInfo& snap, bool alike, Carried& carried,
                        Reporter& reporter) {
  CopiedSnapshot out;
  out.name = snap.name;
  if (std::optional<SnapshotInfo> there = to.find_snapshot(snap.name);
      there && there->name == snap.name && same_snapshot(there->record, snap.record)) {
    out.copied_as = snap.name;
    out.skipped = true;
    return out;
  }
  WriteStats before = to.stats();
  if (reporter.wants_progress()) reporter.phase("Copying " + snap.name, snap.record.bytes, true);
  ManifestWriter manifest([&](std::string part) {
    bool fresh = false;
    BlobId id = to.add(BlobType::Tree, part, &fresh);
    if (fresh) ++out.blobs_new;
    return id;
  });
  ManifestReader entries(from, snap.record);
  Entry e;
  while (entries.next(e)) {
    for (BlobId& chunk : e.chunks) chunk = carry(from, to, chunk, BlobType::Data, alike, carried, out);
    if (reporter.wants_progress()) reporter.advance(entry_bytes(e));
    manifest.add(std::move(e));
    e = Entry{};
  }
  SnapshotRecord rec = snap.record;
  rec.manifest = manifest.finish();
  rec.name = to.unique_snapshot_name(snap.name);
  reporter.end_phase();
  const WriteStats& after = to.stats();
  out.copied_as = rec.name;
  out.bytes_new = after.bytes_new - before.bytes_new;
  out.bytes_stored = after.bytes_stored - before.bytes_stored;
  to.commit_snapshot(rec);
  return out;
}

}  // namespace

bool same_snapshot(const SnapshotRecord& a, const SnapshotRecord& b) {
  return a.time_ns == b.time_ns && a.host == b.host && a.data_dir == b.data_dir && a.kind == b.kind &&
         a.files == b.files && a.dirs == b.dirs && a.entries == b.entries && a.bytes == b.bytes;
}

std::vector<CopiedSnapshot> copy_snapshots(Store& from, Store& to, const std::vector<SnapshotInfo>& snaps,
                                           Reporter& reporter) {
  std::vector<CopiedSnapshot> out;
  bool alike = same_ids(from, to);
  Carried carried;
  for (const SnapshotInfo& snap : snaps) out.push_back(copy_one(from, to, snap, alike, carried, reporter));
  return out;
}

}  // namespace mdb::store
