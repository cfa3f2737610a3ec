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

// Rebuilds `store_dir`/index from the packs of `backend` (snapshot names included; the file
// cache starts empty). The caller holds the store lock. The new index is built aside and
// swapped in, so a crash leaves the old one.
RepairReport rebuild_index(Backend& backend, const std::filesystem::path& store_dir, Reporter& reporter);

}  // namespace mdb::store
