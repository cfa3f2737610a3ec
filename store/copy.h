#pragma once
// Copying snapshots from one store to another (`mephisto db copy --to STORE`, docs/COPY.md):
// the blobs a snapshot needs are read from the source (verified), added to the target (stored
// only when the target lacks them), its manifest written anew there and its record committed
// last, so a copy that stops part way leaves at most unreferenced packs in the target.
// The data dir is never read.
#include <cstdint>
#include <string>
#include <vector>

#include "store/reporter.h"
#include "store/store.h"

namespace mdb::store {

struct CopiedSnapshot {
  std::string name;       // in the source
  std::string copied_as;  // in the target: the name, or name_2... when the target has another of that name
  bool skipped = false;   // the target already holds this snapshot
  uint64_t blobs_new = 0, bytes_new = 0, bytes_stored = 0;  // what the target gained
  uint64_t blobs_read = 0;  // blobs of its files read from the source (not carried before)
};

// The same snapshot: made at the same instant of the same data dir on the same host, with the
// same contents (counts and size). Blob ids are not compared: stores with different keys
// (issue 17) give the same content different ids.
bool same_snapshot(const SnapshotRecord& a, const SnapshotRecord& b);

// Copies `snaps` (of `from`, oldest first) into `to` (opened for writing). Between stores that
// name content differently, each blob is read and re-encrypted once per copy: the ids it got in
// `to` are remembered for the snapshots after.
std::vector<CopiedSnapshot> copy_snapshots(Store& from, Store& to, const std::vector<SnapshotInfo>& snaps,
                                           Reporter& reporter);

}  // namespace mdb::store
