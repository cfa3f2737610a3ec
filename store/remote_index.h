#pragma once
// Index objects of a store shared by hosts (docs/S3.md, "Many hosts, one bucket"). Beside its
// packs the store keeps immutable objects `indexes/<SHA-256 of the content>`, each listing packs a
// writer added (name, size, blob entries as the pack's footer has them) and the snapshots it
// committed. A host's cache (the LMDB index) is built and kept current from them by sync_cache:
// it takes in the index objects it has not seen, reads the footers of only the packs no index
// object names (a failed backup's, a backup still running), and drops the packs other hosts
// pruned (gone from the store and named by no index object: prune consolidates them; a pack an
// index object names that is gone is lost, and stays, so that reading it names it). Layout, integers little-endian:
//   "MDBIDX01" packs:u32 { name[16] size:u64 count:u32 entry[52] * count } * packs
//   snapshots:u32 { name_len:u16 name id[32] } * snapshots
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/backend.h"
#include "store/index.h"

namespace mdb::store {

struct IndexedPack {
  std::string name;
  uint64_t size = 0;
  std::vector<PackEntry> entries;
};

struct IndexObject {
  std::vector<IndexedPack> packs;
  std::vector<std::pair<std::string, BlobId>> snapshots;
  size_t blob_count = 0;

  void add_pack(const std::string& name, uint64_t size, const std::vector<PackEntry>& entries);
  bool empty() const { return packs.empty() && snapshots.empty(); }
  std::string encode() const;
  // Throws CorruptError naming `what` unless `bytes` is a well-formed index object.
  static IndexObject decode(std::string_view bytes, const std::string& what);
};

// An index object flushed by a writer once it names this many blobs (~3 MB), so a long backup
// neither holds all its entries in memory nor loses them all to a failure.
inline constexpr size_t kIndexObjectBlobs = 65536;

// Stores `obj` as `indexes/<sha256>`; returns the name.
std::string put_index_object(Backend& backend, const IndexObject& obj);

struct SyncReport {
  uint64_t index_objects = 0;  // taken in
  uint64_t footers = 0;        // packs no index object named, whose footers were read
  uint64_t packs_dropped = 0;  // packs gone from the store (pruned by another host)
};

// Brings the cache `index` up to date with the store's objects (above). Safe to run by several
// processes at once: every step is idempotent, each in its own transaction.
SyncReport sync_cache(Backend& backend, Index& index);
// Whether sync_cache would change nothing: every index object is taken in, the cache's packs are
// the store's. Lists objects, reads none (an encrypted store's key is not needed).
bool cache_current(Backend& backend, Index& index);

// Replaces every index object by one naming every pack and snapshot of `index` (prune, which
// holds the exclusive lock): the new one is stored before the old ones are deleted.
void consolidate_index_objects(Backend& backend, Index& index);

}  // namespace mdb::store
