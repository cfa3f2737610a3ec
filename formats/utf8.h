#pragma once
// UTF-8 as the original's Python reads it: well-formed sequences only (no overlong forms, no
// surrogates, nothing above U+10FFFF). The one decoder behind zip names, the Python-style
// JSON and repr() writers, and the JSON reader's \u escapes.
#include <cstddef>
#include <string>
#include <string_view>

namespace mdb::utf8 {

// Length of the well-formed sequence at s[i] (1 to 4) with its code point in `cp`, or 0 when
// the bytes there are not one.
size_t decode(std::string_view s, size_t i, unsigned& cp);

// True when all of `s` is well-formed UTF-8.
bool valid(std::string_view s);

// Appends the encoding of code point `cp` (at most U+10FFFF, not a surrogate).
void append(std::string& out, unsigned cp);

}  // namespace mdb::utf8
