#pragma once
// The imported_data table (import.md "imported_data"): one row per imported row of the tables the
// original records, labelled with the import's labels ("_" added for rows that conflicted with a
// local row); with `-k`, the dump's own imported_data rows too, their values following the rows
// they name to their keys here and their labels merged into a matching local row.
#include <string>
#include <vector>

#include "import/import_outcome.h"
#include "import/import_tables.h"
#include "import/key_map.h"

namespace mdb {

class ImportedDataWriter {
 public:
  ImportedDataWriter(Dump& dump, sql::Db& local, const ImportTables& tables, const KeyMap& keys,
                     const ImportSettings& settings);

  // Notes a row of `t` imported as `final_key` (its values as in the dump otherwise).
  void record(const ImportTable& t, const Row& dump_row, const Value& final_key, bool conflicted);
  // Writes the rows recorded, then with -k the dump's imported_data.
  void write();

 private:
  void write_recorded();
  void merge_dump_imported_data();
  std::string remap_values(const std::string& table, const std::string& names, const std::string& values) const;

  struct Imported {
    std::string table;
    std::string names, values;  // JSON
    bool conflicted;
  };
  Dump& dump_;
  sql::Db& db_;
  const ImportTables& tables_;
  const KeyMap& keys_;
  const ImportSettings& settings_;
  std::vector<Imported> imported_;
};

}  // namespace mdb
