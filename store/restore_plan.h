#pragma once
// What a restore would do, without doing it (`restore --dry-run`, docs/cli.md): the tree of a
// source compared with the directory it would replace, entry by entry. A path is added (only
// in the source), removed (only in the directory) or changed: another type, or for a file a
// different size, permission bits or (when the source records mtimes) mtime, or for a symlink
// another target. Contents are not read, as rsync's quick check: a file rewritten with the same
// size and mtime counts as unchanged. Reads only.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "store/restore.h"

namespace mdb::store {

struct RestorePlan {
  struct Change {
    std::string path;  // relative, '/'-separated
    uint64_t bytes = 0;  // the file's size: the new one (add, change), the current one (remove)
    EntryKind kind = EntryKind::File;  // the new entry's (add, change), the current one's (remove)
    std::optional<uint64_t> before;    // the current size of a file that is changed or removed
  };
  std::vector<Change> added, removed, changed;  // each in path order
  uint64_t bytes(const std::vector<Change>& list) const;
};

// Compares `src` with the tree at `root` (missing: everything is added), leaving out the
// top-level `keep` (mephisto-db's own folder); with `only`, that path and what is under it.
RestorePlan plan_restore(TreeSource& src, const stdfs::path& root, const std::string& keep,
                         const std::optional<std::string>& only, bool compare_mtimes);

}  // namespace mdb::store
