#pragma once
// The repairs of a dump made by the original's `-r` (import.md "The original's `-r` dumps"), on
// its staged tables before the reference checks: references it left holding a replaced key get
// the new one, and ids it replaced needlessly (not legacy ids) get their old values back, their
// references following them through the key map. Runs once per staged dump.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "import/import_tables.h"
#include "import/key_map.h"

namespace mdb {

class ImportRepair {
 public:
  ImportRepair(Dump& dump, ImportTables& tables, KeyMap& keys);

  // Adds the number of ids given back per "db.table" to `restored`; records the substituted
  // onboarding ids in the key map (their run dirs follow them).
  void run(std::vector<std::pair<std::string, int64_t>>& restored);

 private:
  void undo_needless_substitutions(const nlohmann::ordered_json& subs,
                                   std::vector<std::pair<std::string, int64_t>>& restored);
  int64_t restore_ids(DbId db, const std::string& table, const nlohmann::ordered_json& pairs);
  std::optional<Value> substitute(const nlohmann::ordered_json& subs, const ImportRef& r, const Value& key);
  // Rewrites the staged values of one column through `f` (nullopt: leave the value).
  void rewrite_staged(DumpTable& dt, int column, const std::function<std::optional<Value>(const Value&)>& f);

  Dump& dump_;
  ImportTables& tables_;
  KeyMap& keys_;
};

}  // namespace mdb
