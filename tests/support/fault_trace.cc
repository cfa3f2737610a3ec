#include "tests/support/fault_trace.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/testenv.h"

namespace mdb::test {

std::vector<FaultPoint> read_fault_trace(const std::filesystem::path& trace) {
  std::vector<FaultPoint> points;
  std::ifstream in(trace);
  for (std::string line; std::getline(in, line);) {
    size_t tab = line.find('\t');
    std::string what = line.substr(0, tab);
    if (what == "lock" || what == "unlock") continue;  // traced, but not fault points
    points.push_back({static_cast<int>(points.size()) + 1, what, tab == std::string::npos ? "" : line.substr(tab + 1)});
  }
  return points;
}

int first_fault_point(const std::filesystem::path& trace, const std::function<bool(const FaultPoint&)>& match) {
  for (const FaultPoint& p : read_fault_trace(trace))
    if (match(p)) return p.n;
  ADD_FAILURE() << "no such fault point in " << read(trace);
  return 0;
}

}  // namespace mdb::test
