#pragma once
// prune (store.md, docs/PRUNE.md): forgets snapshots outside the policy (never a protected
// one), then deletes packs nothing live refers to and rewrites packs whose live fraction is
// low. Everything is planned first, so a dry run reports exactly what a real run would do.
// Crash-safe: a new pack is durable before the index refers to it, and a pack file is
// deleted only after the index no longer refers to it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/keep_policy.h"
#include "store/reporter.h"
#include "store/store.h"

namespace mdb::store {

struct PrunePolicy {
  // User backups (SnapshotKind::Backup) of each data dir (keep_policy.h). With no rule, every
  // user backup is kept.
  KeepPolicy keep;
  // Automatic snapshots of each data dir: the N newest.
  uint64_t keep_auto = 3;
  // Only snapshots with any of these tags are considered (`--tag`); the rest are kept as they
  // are. Automatic snapshots have no tags, so then none is considered.
  std::vector<std::string> only_tags;
  // `forget NAME...`: exactly these are forgotten (after the checks of Pruner::select), every
  // other snapshot is kept, and the rules above do not apply.
  std::vector<std::string> forget;
  // Never forgotten (pinned or named by a journal marker): name -> why.
  std::map<std::string, std::string> protect;
  int64_t now_ns = 0;
  bool dry_run = false;  // plan and report only; the store may be open read-only
};

struct PruneReport {
  std::vector<SnapshotInfo> kept, forgotten;  // oldest first
  // Why each considered snapshot in `kept` is kept (keep_reasons), by name; absent for those
  // kept because --tag left them out, for automatic ones, and under `forget`.
  std::map<std::string, std::string> kept_why;
  // Kept only because protected: name, why.
  std::vector<std::pair<std::string, std::string>> protected_kept;
  uint64_t packs_deleted = 0, packs_rewritten = 0;
  // Pack bytes on disk before and after (with dry_run: as a real run would leave them).
  uint64_t bytes_before = 0, bytes_after = 0;
  uint64_t damaged_packs_kept = 0;  // packs left as they are because a blob in them is damaged
};

PruneReport prune(Store& store, const PrunePolicy& policy, Reporter& reporter);

}  // namespace mdb::store
