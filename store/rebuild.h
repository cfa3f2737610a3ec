#pragma once
// Rebuilding a store's index from its packs alone (store.md): the one rebuild, used by
// `verify --repair-index` and by opening a store on S3 whose local cache is missing (docs/S3.md).
// The intact blobs of a version 2 pack whose footer is damaged or cut off are salvaged by
// scanning its records.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/backend.h"
#include "store/index.h"
#include "store/reporter.h"

namespace mdb::store {

struct RepairReport {
  uint64_t packs = 0, blobs = 0, snapshots = 0;
  std::vector<std::string> skipped;   // packs (or snapshot records) left out, and why
  std::vector<std::string> salvaged;  // packs with a damaged footer whose records were scanned
  uint64_t salvaged_blobs = 0;
  // Snapshots the old index listed whose record no pack holds intact: lost, said once here.
  std::vector<std::string> lost_snapshots;
};

// The pack objects of `backend`, sorted by name.
std::vector<ObjectInfo> pack_files(Backend& backend);

// Puts the pack `pack` holding `entries` into `index` within `t`: its record, its blobs and the
// snapshots whose records it holds (read from the pack, named by put_snapshot_name). A record
// that cannot be read is said in `skipped`. Returns the names given to its snapshots.
std::vector<std::string> take_in_pack(Backend& backend, Index& index, Txn& t, const ObjectInfo& pack,
                                      const std::vector<PackEntry>& entries, std::vector<std::string>& skipped);

// Names the snapshot `id` `name` in `index`. Two hosts may make snapshots of one name: then the
// one of the lower id keeps it and the other is named `name_<first 8 hex digits of its id>`, so
// every host ends with the same names whatever order it learns of them in.
void put_snapshot_name(Index& index, Txn& t, const std::string& name, const BlobId& id);

// Rebuilds `store_dir`/index from the packs of `backend` (snapshot names included; the file
// cache starts empty). The caller holds the store lock. The new index is built aside and
// swapped in, so a crash leaves the old one.
RepairReport rebuild_index(Backend& backend, const std::filesystem::path& store_dir, Reporter& reporter);

}  // namespace mdb::store
