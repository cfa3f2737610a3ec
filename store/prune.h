#pragma once
// prune (store.md): forgets snapshots outside the policy (never a protected one), then
// deletes packs nothing live refers to and rewrites packs whose live fraction is low.
// Crash-safe: a new pack is durable before the index refers to it, and a pack file is
// deleted only after the index no longer refers to it.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/reporter.h"
#include "store/store.h"

namespace mdb::store {

struct PrunePolicy {
  std::optional<uint64_t> keep_last;      // the N newest
  std::optional<int64_t> keep_within_ns;  // newer than now - this
  std::set<std::string> protect;          // never forgotten (journal markers)
  int64_t now_ns = 0;
  // With neither keep_last nor keep_within_ns every snapshot is kept (space is still reclaimed).
};

struct PruneReport {
  std::vector<std::string> kept, forgotten;
  uint64_t packs_deleted = 0, packs_rewritten = 0;
  uint64_t bytes_before = 0, bytes_after = 0;  // pack bytes on disk
};

PruneReport prune(Store& store, const PrunePolicy& policy, Reporter& reporter);

}  // namespace mdb::store
