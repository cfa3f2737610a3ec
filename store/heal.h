#pragma once
// Healing damaged blobs (`verify --read-data --repair`, store.md "verify --repair"): each blob
// verify found damaged (or missing) is stored anew from a live file whose content has it,
// found where the snapshots that use the blob had it and re-hashed (a name proves nothing);
// the blobs no file has are dropped from the index, so no backup reuses them and no file cache
// entry naming them matches again (the next backup of such a file stores it anew).
// Crash-safe: the new copies go into a new pack, durable before the index names them; the
// index then points each healed id at its new copy and drops the rest in its last
// transaction. Interrupted, the store is as before or as after (a pack nothing names is left
// for prune).
#include <filesystem>
#include <string>
#include <vector>

#include "store/reporter.h"
#include "store/store.h"
#include "store/verify.h"

namespace mdb::store {

struct HealedBlob {
  BlobId id;
  std::string path;  // the live file (relative to the data dir) its content came from
};

struct HealReport {
  std::vector<HealedBlob> healed;        // in the order of the damaged list
  std::vector<DamagedBlob> left;         // dropped from the index: no live file has them
  std::vector<std::string> incomplete;   // snapshots that use a blob left, sorted
};

// Heals `damaged` (VerifyReport::damaged) in `store` (opened for writing) from the files of
// `data_dir` ("" or missing: none heals). Only regular files inside it are read, never
// through a symlink; a database is cut both as it is and as its online-backup copy (in the
// store's tmp/), the two ways a snapshot may have cut it.
HealReport heal_blobs(Store& store, const std::vector<DamagedBlob>& damaged, const std::filesystem::path& data_dir,
                      Reporter& reporter);

}  // namespace mdb::store
