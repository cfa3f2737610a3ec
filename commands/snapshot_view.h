#pragma once
// What the commands share about snapshots (docs/cli.md, "ls / find"): finding one by the name a
// user typed (`latest` too), with "did you mean ...?" when there is none, and how an entry of
// its manifest is shown (a line of prose, a JSON object).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datadir/context.h"
#include "store/store.h"

namespace mdb {

// " Did you mean A, B or C?" naming the snapshots closest to `spec`, or "" when none is close.
std::string did_you_mean(store::Store& store, const std::string& spec);

// The live data dir's path as snapshots record it, or "" when none is configured.
std::string live_data_dir(Context& ctx);

// What `latest` names when no snapshot is named so: the newest user backup with one of `tags`
// (any, without tags), of `data_dir` when it has one, else of any data dir (docs/PRUNE.md).
std::optional<store::SnapshotInfo> latest_backup(store::Store& store, const std::vector<std::string>& tags,
                                                 const std::string& data_dir);

// The snapshot `spec` names: a name, a unique id prefix, or `latest` (latest_backup of
// `data_dir`, without tags); nullopt when none.
std::optional<store::SnapshotInfo> find_named(store::Store& store, const std::string& spec, const std::string& data_dir);

// find_named, or a NotFound error that names the store and suggests the closest names.
store::SnapshotInfo require_snapshot(store::Store& store, const std::string& spec, const std::string& data_dir);

// The entry's path, with '/' after a directory.
std::string display_path(const store::Entry& e);
// "file", "dir", "symlink", "hardlink", "fifo", "chardev", "blockdev".
const char* type_name(store::EntryKind kind);
// As `ls -l`: type letter then permission bits, e.g. "-rw-r--r--", "drwxr-xr-x".
std::string mode_text(const store::Entry& e);
// `ls --long`'s line: mode, uid:gid, size, local mtime, path, and "-> TARGET" (symlink) or
// "=> TARGET" (hard link).
std::string long_line(const store::Entry& e);
// The entry as docs/JSON.md's "entries" show it.
nlohmann::ordered_json entry_json(const store::Entry& e);

}  // namespace mdb
