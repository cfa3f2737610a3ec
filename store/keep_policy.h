#pragma once
// Which user backups a prune keeps (docs/PRUNE.md, "What is kept"): restic's rules. Pure: the
// snapshots come in as times and tags, newest first, and the answer is, for each, why it is
// kept (empty: forgotten). Calendar rules go by local time (the process's TZ).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mdb::store {

struct KeepPolicy {
  std::optional<uint64_t> last;                             // --keep-last N: the N newest
  std::optional<uint64_t> hourly, daily, weekly, monthly, yearly;  // the newest of each of the last N that have one
  std::optional<int64_t> within_ns;                         // --keep-within: newer than now - this
  std::vector<std::string> tags;                            // --keep-tag: those with any of these tags
  // Whether any rule is given. With none, every snapshot is kept ("no policy").
  bool any() const;
};

struct KeepCandidate {
  int64_t time_ns = 0;
  std::vector<std::string> tags;
};

// For each candidate (newest first, as given), the rules that keep it, e.g. "newest, last,
// daily"; "" when none does. When any rule is given, the newest candidate is always kept.
std::vector<std::string> keep_reasons(const KeepPolicy& policy, const std::vector<KeepCandidate>& newest_first,
                                      int64_t now_ns);

}  // namespace mdb::store
