#pragma once
// `backup --zip`: a snapshot written as the original's backup zip (members relative to the
// data dir, directory entries, every file's bytes; DBs as the snapshot's consistent copies),
// streamed from the store so the zip is exactly the snapshot.
#include <memory>

#include "formats/zip.h"
#include "store/reporter.h"
#include "store/store.h"

namespace mdb::store {

// Writes the snapshot `rec` of `store` to `out`; symlinks and names that are not UTF-8
// cannot be in such a zip and are left out with a warning. Returns the member count.
uint64_t write_snapshot_zip(Store& store, const SnapshotRecord& rec, std::unique_ptr<zip::Output> out,
                            Reporter& reporter);

}  // namespace mdb::store
