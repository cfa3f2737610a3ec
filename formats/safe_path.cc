#include "formats/safe_path.h"

namespace mdb {

std::string path_component_problem(std::string_view part) {
  if (part.empty()) return "is empty";
  if (part == "." || part == "..") return "is '" + std::string(part) + "'";
  if (part.find('\0') != std::string_view::npos) return "holds a NUL byte";
  if (part.find('/') != std::string_view::npos) return "holds a '/'";
  return {};
}

std::string relative_path_problem(std::string_view path) {
  if (path.empty()) return "is empty";
  if (path.front() == '/') return "is an absolute path";
  for (size_t start = 0;;) {
    size_t slash = path.find('/', start);
    std::string_view part = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (std::string problem = path_component_problem(part); !problem.empty())
      return "has a path component that " + problem;
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
}

}  // namespace mdb
