#pragma once
// The rows of a dump, streamed once from the Source: the Mephisto-compatible JSON member (rendered
// byte for byte as the original renders it, export.md "JSON rendering") and the Cap'n Proto row
// batches (exact storage classes), written side by side into two files.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "platform/console.h"
#include "export/export_remap.h"
#include "export/export_select.h"
#include "export/options.h"
#include "formats/capnp_dump.h"
#include "base/error.h"

namespace mdb {

struct DumpMetadata {
  // For "mephisto" and each provider type of the local requesters: the latest migration's name.
  std::vector<std::pair<std::string, std::optional<std::string>>> migrations;
  const ExportOptions* options = nullptr;
  std::string timestamp;  // YYYY_MM_DD_HH_MM_SS
  const Remap* remap = nullptr;
};

// The error for a `_date`/`_at` value that is no date (stored_date), naming where it is:
// the DB file, table, row key ("task_run_id = 5", or "#3" without a key) and column.
Error not_a_date(const std::string& file, const std::string& table, const std::string& row, const std::string& column,
                 const Value& v);

// Every export option of the original, in its order, with its value: the options block printed
// first and the dump's `export_options`.
std::vector<OptionSetting> export_option_settings(const ExportOptions& o);

// The original's `migrations` metadata: `SELECT name FROM migrations ORDER BY creation_date DESC
// LIMIT 1` on each DB, null where there is none (mock, inhouse, a missing datastore).
std::vector<std::pair<std::string, std::optional<std::string>>> read_migrations(Source& src);

struct DumpRows {
  uint64_t json_size = 0;
  store::Hash128 json_hash;
  uint64_t rows = 0;
  std::string metadata_json;  // dump_metadata as compact JSON, for the Cap'n Proto header
};

// How many rows write_dump_rows writes: a progress bar's total (one count per table).
uint64_t count_dump_rows(Source& src, const Selection& sel);

// Streams the selected rows (through `remap` when set) into the JSON member at `json_path` and the
// Cap'n Proto row batches at `rows_path`; both files are created here. A stored date that does not
// parse is an error naming the DB, table, row key and column.
DumpRows write_dump_rows(Source& src, const Selection& sel, const DumpMetadata& meta, int indent,
                         const std::filesystem::path& json_path, const std::filesystem::path& rows_path,
                         Console::Progress* progress);

}  // namespace mdb
