#pragma once
// verify and verify --repair-index (store.md): checks every pack's footer and checksum,
// that every blob every snapshot needs is in the index and in an intact pack, and (with
// read-data) decompresses and re-hashes blobs. Each problem names the snapshots and paths
// it affects. repair_index rebuilds index/ from the packs alone, salvaging the intact blobs of
// a version 2 pack whose footer is damaged or cut off by scanning its records.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/reporter.h"
#include "store/store.h"

namespace mdb::store {

struct VerifyOptions {
  // Percentage of packs whose blobs are decompressed and re-hashed (0: none, 100: all).
  double read_data_percent = 0;
};

struct VerifyReport {
  uint64_t packs = 0, blobs = 0, snapshots = 0, entries = 0;
  uint64_t packs_read_data = 0;  // packs whose blobs were re-hashed
  uint64_t unreferenced_packs = 0;
  std::vector<std::string> problems;  // empty: the store is sound
  std::vector<std::string> notes;     // damage that loses nothing (a pack footer whose blobs are intact)
  bool index_rebuild_helps = false;    // a problem is damage that rebuilding the index repairs
};

VerifyReport verify_store(Store& store, const VerifyOptions& opts, Reporter& reporter);

struct RepairReport {
  uint64_t packs = 0, blobs = 0, snapshots = 0;
  std::vector<std::string> skipped;   // packs (or snapshot records) left out, and why
  std::vector<std::string> salvaged;  // packs with a damaged footer whose records were scanned
  uint64_t salvaged_blobs = 0;
  // Snapshots the old index listed whose record no pack holds intact: lost, said once here.
  std::vector<std::string> lost_snapshots;
};

// Rebuilds `store_dir`/index from the packs (snapshot names included; the file cache starts
// empty), under the store lock. The new index is built aside and swapped in, so a crash
// leaves the old one.
RepairReport repair_index(const std::filesystem::path& store_dir, Reporter& reporter);

}  // namespace mdb::store
