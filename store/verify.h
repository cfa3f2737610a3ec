#pragma once
// verify and verify --repair-index (store.md): checks every pack's footer and checksum,
// that every blob every snapshot needs is in the index and in an intact pack, and (with
// read-data) decompresses and re-hashes blobs. Each problem names the snapshots and paths
// it affects. repair_index rebuilds index/ from the packs alone (rebuild.h).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/rebuild.h"
#include "store/reporter.h"
#include "store/store.h"

namespace mdb::store {

struct VerifyOptions {
  // Percentage of packs whose blobs are decompressed and re-hashed (0: none, 100: all).
  double read_data_percent = 0;
};

// Where a snapshot uses a blob.
struct BlobUse {
  std::string snapshot, path;
  bool database = false;  // the manifest entry is a database (its chunks come from a copy)
};

// A blob the index names that is damaged (or is missing where a snapshot needs it).
struct DamagedBlob {
  BlobId id;
  std::string why;
  std::vector<BlobUse> uses;  // empty: no snapshot uses it
};

struct VerifyReport {
  uint64_t packs = 0, blobs = 0, snapshots = 0, entries = 0;
  uint64_t packs_read_data = 0;  // packs whose blobs were re-hashed
  uint64_t unreferenced_packs = 0;
  std::vector<std::string> problems;  // empty: the store is sound
  // Damage that loses nothing: a pack footer whose blobs are intact, a pack whose checksum
  // fails while the index uses none of its damaged copies (they were stored anew).
  std::vector<std::string> notes;
  bool index_rebuild_helps = false;    // a problem is damage that rebuilding the index repairs
  // Every damaged blob, in the order the snapshots first use them (unused ones last, by id):
  // what `verify --repair` heals (store/heal.h).
  std::vector<DamagedBlob> damaged;
};

VerifyReport verify_store(Store& store, const VerifyOptions& opts, Reporter& reporter);

// verify --repair-index: takes the store lock of `location` and rebuilds its index (rebuild.h).
RepairReport repair_index(const std::filesystem::path& location, Reporter& reporter);

}  // namespace mdb::store
