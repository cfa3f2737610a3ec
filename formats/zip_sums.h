#pragma once
// Every member of a zip checked on worker threads: `verify -f` of a dump (its run files) and of a
// backup zip (every member) read, inflate and check each member on all cores, and judge what was
// found in zip order on the calling thread, so their reports are the same with any number of
// threads (MDB_THREADS=1 reads them all on the caller).
#include <cstdint>
#include <functional>
#include <string>

#include "formats/hash.h"
#include "formats/zip.h"

namespace mdb::zip {

// A member read through: its size and xxh3-128, or why it could not be read (CRC, size, data).
struct MemberSum {
  uint64_t size = 0;
  store::Hash128 hash;
  std::string error;  // empty when it was read
};

// Calls `judge` for each member of `zip` that `wanted` takes, in zip order, with its sum when
// `read` takes it too (the others are the caller's to read: `sum` is then null). Members are
// read in batches (32 members or 4 MiB declared; formats/zip_batches.h), a few batches ahead of
// the judging.
void judge_members(const Reader& zip, const std::function<bool(const Entry&)>& wanted,
                   const std::function<bool(const Entry&)>& read,
                   const std::function<void(const Entry&, const MemberSum* sum)>& judge);

}  // namespace mdb::zip
