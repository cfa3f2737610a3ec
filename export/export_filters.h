#pragma once
// The export options as the rows to start from (export.md, "What a dump holds"): every filter
// becomes a set of task run ids (repeated values ignored), -qo -qn a set of qualification ids.
// Values that match nothing are errors with the original's wording: provided values, the ones
// not found and, for labels, the available ones. Every lookup binds its values.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "export/export_select.h"
#include "export/options.h"
#include "platform/sqlite.h"

namespace mdb {

struct ExportRequest {
  DumpKind kind = DumpKind::Full;
  std::vector<int64_t> run_ids;                           // Partial: existing task runs, in the original's order
  std::optional<std::vector<int64_t>> qualification_ids;  // QualificationsOnly with -qn
};

// `db` is a connection whose `main` is the Mephisto DB.
ExportRequest resolve_filters(const sql::Db& db, const ExportOptions& o);

}  // namespace mdb
