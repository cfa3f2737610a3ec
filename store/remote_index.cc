#include "store/remote_index.h"

#include <algorithm>
#include <map>
#include <iterator>
#include <optional>
#include <set>

#include "formats/bytes.h"
#include "store/rebuild.h"

namespace mdb::store {

namespace {

constexpr std::string_view kMagic = "MDBIDX01";

// Reads the object's fields in order; any read past its end is damage.
class Reader {
 public:
  Reader(std::string_view bytes, const std::string& what) : in_(bytes), what_(what) {}
  std::string_view take(size_t n) {
    if (in_.size() - pos_ < n) throw bad("it ends early");
    std::string_view out = in_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  uint64_t u(int bytes) { return get_le(take(static_cast<size_t>(bytes)), 0, bytes); }
  bool done() const { return pos_ == in_.size(); }
  CorruptError bad(const std::string& why) const { return CorruptError(what_ + " is damaged: " + why); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  const std::string& what_;
};

PackEntry take_entry(Reader& r, uint64_t pack_size) {
  PackEntry e;
  e.id = BlobId::from_raw(r.take(32), "an index object");
  e.offset = r.u(8);
  e.stored_len = static_cast<uint32_t>(r.u(4));
  e.raw_len = static_cast<uint32_t>(r.u(4));
  uint64_t type = r.u(1), comp = r.u(1);
  r.u(2);
  if (type > static_cast<uint8_t>(BlobType::Snapshot) || comp > static_cast<uint8_t>(Compression::Zstd) ||
      e.offset > pack_size || e.stored_len > pack_size - e.offset || e.raw_len > kMaxBlobSize)
    throw r.bad("the entry of blob " + e.id.hex() + " is out of bounds");
  e.type = static_cast<BlobType>(type);
  e.compression = static_cast<Compression>(comp);
  return e;
}

// Takes in one index object (IndexWriter bounds each transaction's dirty pages); the object is
// marked taken in by the last transaction.
void take_in(Index& index, const std::string& name, const IndexObject& obj) {
  IndexWriter w(index);
  using Table = IndexWriter::Table;
  for (const IndexedPack& p : obj.packs) {
    index.put_pack(w.next(Table::Other), p.name, pack_record(p.size, p.entries));
    for (const PackEntry& e : p.entries) index.put_blob(w.next(Table::Blobs), BlobLocation{p.name, e});
  }
  for (const auto& [snapshot, id] : obj.snapshots) put_snapshot_name(index, w.next(Table::Other), snapshot, id);
  index.put_index_object(w.next(Table::Other), name);
  w.commit();
}

// Forgets the packs `gone` (no longer in the store): their blobs, and the snapshots whose
// records were in them.
void drop_packs(Index& index, const std::set<std::string>& gone) {
  Txn t = index.write();
  std::vector<BlobId> blobs;
  index.for_each_blob(t, [&](const BlobLocation& loc) {
    if (gone.count(loc.pack)) blobs.push_back(loc.entry.id);
  });
  for (const BlobId& id : blobs) index.del_blob(t, id);
  for (const std::string& pack : gone) index.del_pack(t, pack);
  std::vector<std::string> lost;
  index.for_each_snapshot(t, [&](const std::string& n, const BlobId& id) {
    if (!index.has_blob(t, id)) lost.push_back(n);
  });
  for (const std::string& n : lost) index.del_snapshot(t, n);
  t.commit();
}

// The packs the store's index objects name. Prune removes packs only with the index objects that
// name them (consolidate_index_objects), so a pack one still names and the store lacks is lost,
// not pruned. A damaged index object names nothing.
std::set<std::string> named_packs(Backend& backend) {
  std::set<std::string> out;
  for (const ObjectInfo& o : backend.list(ObjectKind::Index)) {
    std::string what = backend.where(ObjectKind::Index, o.name);
    try {
      std::string bytes = backend.read_all(ObjectKind::Index, o.name);
      if (sha256(bytes).hex() != o.name) continue;
      IndexObject obj = IndexObject::decode(backend.opened(ObjectKind::Index, o.name, std::move(bytes)), what);
      for (const IndexedPack& p : obj.packs) out.insert(p.name);
    } catch (const Error&) {
    }
  }
  return out;
}

}  // namespace

void IndexObject::add_pack(const std::string& name, uint64_t size, const std::vector<PackEntry>& entries) {
  packs.push_back(IndexedPack{name, size, entries});
  blob_count += entries.size();
}

std::string IndexObject::encode() const {
  std::string out(kMagic);
  put_u32(out, static_cast<uint32_t>(packs.size()));
  for (const IndexedPack& p : packs) {
    out += unhex(p.name);
    put_u64(out, p.size);
    put_u32(out, static_cast<uint32_t>(p.entries.size()));
    for (const PackEntry& e : p.entries) out += encode_footer_entry(e);
  }
  put_u32(out, static_cast<uint32_t>(snapshots.size()));
  for (const auto& [name, id] : snapshots) {
    put_u16(out, static_cast<uint16_t>(name.size()));
    out += name;
    out += id.raw();
  }
  return out;
}

IndexObject IndexObject::decode(std::string_view bytes, const std::string& what) {
  Reader r(bytes, what);
  if (r.take(kMagic.size()) != kMagic) throw r.bad("it does not start with " + std::string(kMagic));
  IndexObject obj;
  for (uint64_t n = r.u(4); n > 0; --n) {
    IndexedPack p;
    p.name = hex(r.take(16));
    p.size = r.u(8);
    for (uint64_t count = r.u(4); count > 0; --count) p.entries.push_back(take_entry(r, p.size));
    obj.blob_count += p.entries.size();
    obj.packs.push_back(std::move(p));
  }
  for (uint64_t n = r.u(4); n > 0; --n) {
    std::string name(r.take(r.u(2)));
    if (name.empty() || name.find('\0') != std::string::npos) throw r.bad("a snapshot name is malformed");
    obj.snapshots.emplace_back(std::move(name), BlobId::from_raw(r.take(32), what));
  }
  if (!r.done()) throw r.bad("bytes follow its end");
  return obj;
}

std::string put_index_object(Backend& backend, const IndexObject& obj) {
  std::string bytes = backend.sealed(obj.encode());  // named by its stored bytes, sealed or not
  std::string name = sha256(bytes).hex();
  backend.create_new(ObjectKind::Index, name, bytes);  // one of that name holds these very bytes
  return name;
}

SyncReport sync_cache(Backend& backend, Index& index) {
  SyncReport report;
  for (const ObjectInfo& o : backend.list(ObjectKind::Index)) {
    if (index.has_index_object(index.read(), o.name)) continue;
    std::string what = backend.where(ObjectKind::Index, o.name);
    std::string bytes = backend.read_all(ObjectKind::Index, o.name);
    if (sha256(bytes).hex() != o.name) throw CorruptError(what + " is damaged: its content does not hash to its name");
    take_in(index, o.name, IndexObject::decode(backend.opened(ObjectKind::Index, o.name, std::move(bytes)), what));
    ++report.index_objects;
  }
  // The cache's packs before the store's: a pack this host's own writer indexes meanwhile is in
  // the store before it is in the cache, so it is never taken for a pruned one.
  std::set<std::string> listed, cached;
  index.for_each_pack(index.read(), [&](const std::string& name, const PackRecord&) { cached.insert(name); });
  std::vector<ObjectInfo> packs = pack_files(backend);
  for (const ObjectInfo& p : packs) listed.insert(p.name);
  std::set<std::string> gone;
  std::set_difference(cached.begin(), cached.end(), listed.begin(), listed.end(), std::inserter(gone, gone.end()));
  // Kept: a lost pack stays in the cache, so reading its blobs names it (verify reports it).
  if (!gone.empty())
    for (const std::string& named : named_packs(backend)) gone.erase(named);
  if (!gone.empty()) drop_packs(index, gone);
  report.packs_dropped = gone.size();
  for (const ObjectInfo& p : packs) {
    if (cached.count(p.name)) continue;
    std::vector<PackEntry> entries;
    try {
      entries = read_footer(backend, p.name);
    } catch (const CorruptError&) {
      continue;  // verify reports it; verify --repair-index salvages what it holds
    }
    std::vector<std::string> skipped;
    Txn t = index.write();
    take_in_pack(backend, index, t, p, entries, skipped);
    t.commit();
    ++report.footers;
  }
  return report;
}

bool cache_current(Backend& backend, Index& index) {
  Txn t = index.read();
  for (const ObjectInfo& o : backend.list(ObjectKind::Index))
    if (!index.has_index_object(t, o.name)) return false;
  std::set<std::string> cached;
  index.for_each_pack(t, [&](const std::string& name, const PackRecord&) { cached.insert(name); });
  std::vector<ObjectInfo> packs = pack_files(backend);
  return packs.size() == cached.size() &&
         std::all_of(packs.begin(), packs.end(), [&](const ObjectInfo& p) { return cached.count(p.name) > 0; });
}

void consolidate_index_objects(Backend& backend, Index& index) {
  std::vector<ObjectInfo> old = backend.list(ObjectKind::Index);
  IndexObject all;
  {
    Txn t = index.read();
    std::map<std::string, IndexedPack> packs;
    index.for_each_pack(t, [&](const std::string& name, const PackRecord& rec) {
      packs[name] = IndexedPack{name, rec.size, {}};
    });
    index.for_each_blob(t, [&](const BlobLocation& loc) {
      auto it = packs.find(loc.pack);
      if (it != packs.end()) it->second.entries.push_back(loc.entry);
    });
    for (auto& [name, p] : packs) {
      std::sort(p.entries.begin(), p.entries.end(),
                [](const PackEntry& a, const PackEntry& b) { return a.offset < b.offset; });
      all.add_pack(name, p.size, p.entries);
    }
    index.for_each_snapshot(t, [&](const std::string& n, const BlobId& id) { all.snapshots.emplace_back(n, id); });
  }
  std::string name = put_index_object(backend, all);
  {
    Txn t = index.write();
    index.put_index_object(t, name);
    t.commit();
  }
  for (const ObjectInfo& o : old) {
    if (o.name == name) continue;
    backend.remove(ObjectKind::Index, o.name);
    Txn t = index.write();
    index.del_index_object(t, o.name);
    t.commit();
  }
}

}  // namespace mdb::store
