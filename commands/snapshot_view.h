#pragma once
// What `ls`, `find` and `restore` share about snapshots (docs/cli.md, "ls / find"): finding one
// by the name a user typed, with "did you mean ...?" when there is none, and how an entry of
// its manifest is shown (a line of prose, a JSON object).
#include <string>

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace mdb {

// " Did you mean A, B or C?" naming the snapshots closest to `spec`, or "" when none is close.
std::string did_you_mean(store::Store& store, const std::string& spec);

// The snapshot `spec` names (a name or unique id prefix, as `restore -f` takes it); else a
// NotFound error that names the store and suggests the closest names.
store::SnapshotInfo require_snapshot(store::Store& store, const std::string& spec);

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
