#pragma once
// The patterns of `mephisto db find` (docs/cli.md, "find"): fnmatch(3) with FNM_PATHNAME over a
// whole relative path, except that `**` also matches across '/'.
#include <string_view>

namespace mdb {

// `*` any run of characters but '/'; `**` any run, '/' included (and `**/` also nothing, so
// `**/x` matches `x`); `?` one character but '/'; `[abc]`, `[a-z]`, `[!a]` (or `[^a]`) one
// character but '/' of a class (a '[' without its ']' is itself); `\c` the character c.
bool glob_match(std::string_view pattern, std::string_view path);

}  // namespace mdb
