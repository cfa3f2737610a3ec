#pragma once
// References that nothing satisfies (import.md "References that nothing satisfies"; docs/import-references.md).
// The original's partial dumps miss parent rows and its imports leave dangling provider
// references, so real data has them: import keeps such a reference as it is and warns (`--strict`
// refuses the dump), export warns and keeps it. One description and one report serve both.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/console.h"
#include "formats/value.h"

namespace mdb {

class Source;
class Selection;

struct DanglingReference {
  std::string db;          // "mephisto" or a provider type
  std::string table;
  std::string key_column;  // the row's primary key; empty for a table without one
  Value key;               // its value; without a key column, the row's index in the table
  std::string column;
  std::string target_table, target_column;
  Value missing;           // the value nothing has (one id of a JSON id list)

  // "Database `mephisto`, table `onboarding_agents`, row onboarding_agent_id 5, column
  // `worker_id`: refers to workers.worker_id 7, which " + `nobody` + "."
  std::string sentence(std::string_view nobody) const;
  nlohmann::ordered_json to_json() const;
};

// What the sentences end with.
inline constexpr std::string_view kNotInDumpOrDataDir = "neither the dump nor the data dir has";
inline constexpr std::string_view kNotInDataDir = "the data dir does not have";

// Warns on stderr: `heading`, then one line per reference (the first 20, then how many more), and
// lists every one under "dangling_references" in the --json result.
void report_dangling(Console& console, const std::string& heading, const std::vector<DanglingReference>& refs,
                     std::string_view nobody);

// The references of the rows `sel` selects whose target row the data dir does not have, in layout
// order (table by table, rows in rowid order).
std::vector<DanglingReference> dangling_in_selection(Source& src, const Selection& sel);

}  // namespace mdb
