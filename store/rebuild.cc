#include "store/rebuild.h"

#include <unistd.h>

#include <algorithm>
#include <map>

#include "platform/env.h"
#include "store/index.h"
#include "store/manifest.h"
#include "store/pack.h"

namespace mdb::store {

namespace {

// The blobs of `pack`, whose footer is damaged (`why`), found by scanning its records;
// false (and a skipped pack) when none can be: a version 1 pack has no record headers.
bool salvage(Backend& backend, const ObjectInfo& pack, const std::string& why, std::vector<PackEntry>& entries,
             RepairReport& report) {
  std::string bytes = backend.read(ObjectKind::Pack, pack.name, 0, pack.size);
  if (!has_record_headers(bytes, backend.crypto())) {
    report.skipped.push_back(why + "; its blobs could not be salvaged (a version 1 pack has no record headers)");
    return false;
  }
  Salvage s = salvage_pack(bytes, "pack " + pack.name, backend.crypto());
  report.salvaged.push_back(why + "; salvaged: " + s.summary(bytes.size()));
  report.salvaged_blobs += s.blobs.size();
  entries = std::move(s.blobs);
  return true;
}

// The snapshots the index names now (name -> record blob), when it can be read, so that a
// rebuild that finds one of their records in no intact pack says it lost them rather than
// dropping them silently. A damaged index names nothing to trust.
std::map<std::string, BlobId> indexed_snapshots(const stdfs::path& dir) {
  std::map<std::string, BlobId> out;
  std::error_code ec;
  if (stdfs::file_size(dir / "data.mdb", ec) == 0 || ec) return out;
  try {
    Index old = Index::open(dir, false);
    old.for_each_snapshot(old.read(), [&](const std::string& n, const BlobId& id) { out.emplace(n, id); });
  } catch (const Error&) {
    out.clear();
  }
  return out;
}

}  // namespace

std::vector<ObjectInfo> pack_files(Backend& backend) {
  std::vector<ObjectInfo> out;
  for (ObjectInfo& o : backend.list(ObjectKind::Pack))
    if (is_pack_name(o.name)) out.push_back(std::move(o));
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.name < b.name; });
  return out;
}

void put_snapshot_name(Index& index, Txn& t, const std::string& name, const BlobId& id) {
  std::optional<BlobId> held = index.snapshot(t, name);
  if (held && *held == id) return;
  if (held && held->hex() < id.hex()) return index.put_snapshot(t, name + "_" + id.hex().substr(0, 8), id);
  if (held) index.put_snapshot(t, name + "_" + held->hex().substr(0, 8), *held);
  index.put_snapshot(t, name, id);
}

std::vector<std::string> take_in_pack(Backend& backend, Index& index, Txn& t, const ObjectInfo& pack,
                                      const std::vector<PackEntry>& entries, std::vector<std::string>& skipped) {
  std::vector<std::string> names;
  for (const PackEntry& e : entries) {
    index.put_blob(t, BlobLocation{pack.name, e});
    if (e.type != BlobType::Snapshot) continue;
    std::string stored = backend.read(ObjectKind::Pack, pack.name, e.offset, e.stored_len);
    try {
      SnapshotRecord s =
          decode_snapshot(decode_blob(stored, e, "pack " + pack.name, backend.crypto()), "snapshot " + e.id.hex());
      put_snapshot_name(index, t, s.name, e.id);
      names.push_back(s.name);
    } catch (const Error& err) {
      skipped.push_back(err.what());
    }
  }
  index.put_pack(t, pack.name, pack_record(pack.size, entries));
  return names;
}

RepairReport rebuild_index(Backend& backend, const stdfs::path& store_dir, Reporter& reporter) {
  stdfs::path fresh = store_dir / ("index.rebuild-" + std::to_string(::getpid()));
  fs::remove_tree(fresh);
  fs::mkdirs(fresh);
  RepairReport report;
  std::map<std::string, BlobId> listed = indexed_snapshots(store_dir / "index");
  {
    Index index = Index::open(fresh, true);
    // A cached index (an S3 or encrypted store's, remote_index.h) rebuilt from the packs has taken
    // in what every index object stored now names: the packs are the truth, and an index object
    // naming a pack found damaged must not bring its old entries back. Listed before the packs,
    // so a pack added meanwhile is one no cache has (its footer is read by the next sync).
    std::vector<ObjectInfo> index_objects = backend.list(ObjectKind::Index);
    std::vector<ObjectInfo> packs = pack_files(backend);
    if (reporter.wants_progress()) reporter.phase("Reading pack footers", packs.size(), false);
    for (const ObjectInfo& pack : packs) {
      const std::string& name = pack.name;
      reporter.advance(1);
      std::vector<PackEntry> entries;
      try {
        entries = read_footer(backend, name);
      } catch (const CorruptError& e) {
        if (!salvage(backend, pack, e.what(), entries, report)) continue;
      }
      Txn t = index.write();
      for (const std::string& taken : take_in_pack(backend, index, t, pack, entries, report.skipped)) {
        listed.erase(taken);
        ++report.snapshots;
      }
      report.blobs += entries.size();
      t.commit();
      ++report.packs;
    }
    reporter.end_phase();
    Txn t = index.write();
    for (const ObjectInfo& o : index_objects) index.put_index_object(t, o.name);
    t.commit();
  }
  for (const auto& [name, id] : listed)
    report.lost_snapshots.push_back("snapshot " + name + " is lost: its record (blob " + id.hex() +
                                    ") is in no intact pack, so the rebuilt index no longer lists it");
  stdfs::path current = store_dir / "index";
  if (fs::exists(current) && fs::exchange(fresh, current)) {
    fs::remove_tree(fresh);  // now the old index
  } else {
    fs::remove_tree(current);
    fs::rename(fresh, current);
  }
  fs::sync_dir(store_dir);
  return report;
}

}  // namespace mdb::store
