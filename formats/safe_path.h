#pragma once
// The one check of every name that becomes a path below a directory we own (docs/PATHS.md): zip
// member names, snapshot manifest paths, `restore --only`, and names read from a database or a
// dump (project names, id substitutions). A name that passes can only name a place inside the
// directory it is joined to; nothing here touches the file system.
#include <string>
#include <string_view>

namespace mdb {

// Why `part` cannot be ONE component of a path, or "" when it can: it is empty, "." or "..",
// or holds a '/' or a NUL byte. Phrased to follow a subject ("the name '...' is empty").
std::string path_component_problem(std::string_view part);

// Why `path` cannot be a relative path that stays inside the directory it is joined to, or "":
// it is empty or absolute, or one of its '/'-separated components fails path_component_problem
// (so "a//b", "a/" and "a/../b" are refused).
std::string relative_path_problem(std::string_view path);

}  // namespace mdb
