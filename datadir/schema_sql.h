#pragma once
#include <string_view>
#include <vector>

namespace mdb {

enum class SchemaKind { Mephisto, Mock, Mturk, Prolific, LegacyMephisto, LegacyMock, LegacyProlific };

// CREATE statements in sqlite_master order; the entry "sqlite_sequence" marks the position
// of SQLite's sequence table.
const std::vector<std::string_view>& final_schema_statements(SchemaKind kind);

}  // namespace mdb
