#pragma once
// The fault points of a traced run (MDB_FAULT_TRACE, platform/env.h), numbered as MDB_FAULT's
// "<kind>@N" counts them, so a test can aim a fault at a named step of an identical run.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace mdb::test {

struct FaultPoint {
  int n = 0;         // MDB_FAULT=kill@n stops the run at this operation
  std::string what;  // "write", "rename", "fsync", ...
  std::string path;  // absolute, as the run named it
};

// The fault points in the trace file (its "lock" and "unlock" lines are no fault points).
std::vector<FaultPoint> read_fault_trace(const std::filesystem::path& trace);

// The number of the first fault point for which `match` holds, or 0 (a failure is added naming
// the trace) when none does.
int first_fault_point(const std::filesystem::path& trace, const std::function<bool(const FaultPoint&)>& match);

}  // namespace mdb::test
