#pragma once
// -r/--randomize-legacy-ids (export.md): in the dump only, every legacy primary key (< 1,000,000)
// of an exported Mephisto or prolific row gets a fresh random id in [1,000,000, 2^63-1], unused both
// locally and in the dump, and every reference to it in any DB of the dump is rewritten: declared
// and reference-like columns, provider columns (types kept: text stays text), prolific
// `qualification_ids`, ids inside `imported_data.unique_field_values`, and the run dir names in the
// zip. `imported_data.id` is left alone. Substitutions are held as sorted id pairs per table.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "export/export_select.h"
#include "formats/pyjson.h"
#include "formats/value.h"

namespace mdb {

class Remap {
 public:
  // Assigns the new ids for the rows `sel` exports.
  Remap(Source& src, const Selection& sel);

  // Rewrites the primary key and every reference of one exported row in place.
  void apply(DbId db, std::string_view table, const std::vector<std::string>& columns, Row& row) const;
  // The new id of a row of a Mephisto or prolific table, or nullopt when it keeps its id.
  std::optional<int64_t> lookup(DbId db, std::string_view table, int64_t id) const;
  // A run directory path relative to `runs/<project>/` with its id components renamed:
  // `<run>/<assignment>/<agent>/...` and `<run>/onboarding/onboarding_<id>/...`.
  std::vector<std::string> rename_run_path(std::vector<std::string> components) const;
  // The dump's `pk_substitutions` value, as the original writes it.
  void write_substitutions(PyJsonWriter& w, const std::vector<DumpDb>& layout) const;

 private:
  struct Table {
    DbId db;
    std::string name;
    std::vector<std::pair<int64_t, int64_t>> ids;  // old -> new, sorted by old
  };
  struct ColumnRule {
    std::string column;
    const Table* target;  // the substitutions the column's values follow
    bool json_list;       // a JSON list of ids (prolific qualifications.qualification_ids)
  };
  const Table* find(DbId db, std::string_view table) const;
  std::vector<ColumnRule> rules_for(DbId db, std::string_view table) const;
  void map_value(const Table& t, Value& v) const;
  void map_json_list(const Table& t, Value& v) const;
  void map_imported_values(const std::vector<std::string>& columns, Row& row) const;

  Source* src_;
  std::vector<Table> tables_;
  std::vector<std::pair<std::pair<DbId, std::string>, std::vector<ColumnRule>>> rules_;
};

// Renders a parsed JSON value as Python's json.dumps does (ensure_ascii, default separators).
void write_python_json(PyJsonWriter& w, const nlohmann::ordered_json& v);

}  // namespace mdb
