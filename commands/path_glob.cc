#include "commands/path_glob.h"

#include <optional>

namespace mdb {

namespace {

// Whether `c` is in the class starting at p[i] == '['; sets `end` past its ']'. nullopt when
// the class has no closing ']' (the '[' is then a literal).
std::optional<bool> class_match(std::string_view p, size_t i, char c, size_t& end) {
  size_t j = i + 1;
  bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
  if (negate) ++j;
  bool found = false;
  for (bool first = true; j < p.size(); first = false) {
    if (p[j] == ']' && !first) {
      end = j + 1;
      return found != negate;
    }
    char lo = p[j];
    if (lo == '\\' && j + 1 < p.size()) lo = p[++j];
    char hi = lo;
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      hi = p[j + 2];
      j += 2;
    }
    if (lo <= c && c <= hi) found = true;
    ++j;
  }
  return std::nullopt;
}

bool match(std::string_view p, size_t pi, std::string_view s, size_t si) {
  while (pi < p.size()) {
    char c = p[pi];
    if (c == '*' && pi + 1 < p.size() && p[pi + 1] == '*') {
      size_t next = pi + 2;
      if (next < p.size() && p[next] == '/' && match(p, next + 1, s, si)) return true;  // no dirs
      for (size_t k = si; k <= s.size(); ++k)
        if (match(p, next, s, k)) return true;
      return false;
    }
    if (c == '*') {
      for (size_t k = si;; ++k) {
        if (match(p, pi + 1, s, k)) return true;
        if (k == s.size() || s[k] == '/') return false;
      }
    }
    if (si == s.size()) return false;
    if (c == '?' || c == '[') {
      if (s[si] == '/') return false;
      size_t end = pi + 1;
      std::optional<bool> in = c == '[' ? class_match(p, pi, s[si], end) : std::optional<bool>(true);
      if (in && !*in) return false;
      if (!in && s[si] != '[') return false;
      pi = in ? end : pi + 1;
      ++si;
      continue;
    }
    if (c == '\\' && pi + 1 < p.size()) c = p[++pi];
    if (s[si] != c) return false;
    ++pi;
    ++si;
  }
  return si == s.size();
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) { return match(pattern, 0, path, 0); }

}  // namespace mdb
