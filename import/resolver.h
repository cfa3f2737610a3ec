#pragma once
// Conflict resolvers (import.md "Resolvers"): how a dump row and the local row it conflicts with
// become one row. Built in: DefaultMergeConflictResolver and ExampleMergeConflictResolver, with the
// original's strategies; or a resolver description file (`-cr FILE.json`):
//   {"default_strategy": "pick_row_from_db",
//    "strategies": {"<db key>": {"<table>": {"method": "...", "kwargs": {"row_field_name": "...",
//                                                                     "separator": "..."}}}}}
// Everything in a description is checked when it is loaded (unknown keys, DB keys, tables,
// methods, fields or arguments are usage errors), so a bad resolver fails before anything is read
// or written.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datadir/registry.h"
#include "formats/value.h"

namespace mdb {

enum class Method : uint8_t {
  PickFromDb,
  PickFromDump,
  PickSmaller,
  PickLarger,
  PickEarlier,
  PickLater,
  Concatenate,
};

struct Strategy {
  Method method = Method::PickFromDb;
  std::string field;      // the compared or concatenated column
  std::string separator;  // Concatenate
  // The example resolver's "y2k" date, written into the merged row's creation_date.
  std::optional<std::string> set_creation_date;
};

class ConflictResolver {
 public:
  // `-cr` as given: a built-in name, or a path to a description file. Throws UsageError.
  static ConflictResolver from_option(const std::string& name_or_file);
  static ConflictResolver builtin_default();
  static ConflictResolver builtin_example();
  // A description's text; `file` names it in messages. Throws UsageError.
  static ConflictResolver parse(std::string_view json, const std::string& file);

  const std::string& name() const { return name_; }
  // The strategy for a table; a DB or table without an entry (or with an empty one) uses the
  // default strategy.
  const Strategy& strategy(DbId db, std::string_view table) const;

  // The merged row for a conflict. `columns` name the values of both rows (same order, the local
  // table's columns). The merged row keeps the local primary key (`pk_index`, -1 for none), the
  // earliest creation_date and latest update_date, unless the strategy sets them.
  Row resolve(DbId db, std::string_view table, const std::vector<std::string>& columns, int pk_index,
              const Row& local, const Row& dump) const;

 private:
  struct Entry {
    DbId db;
    std::string table;
    Strategy strategy;
  };
  std::string name_;
  Strategy default_;
  std::vector<Entry> entries_;
};

// Orders two values as the resolvers compare them: NULL below everything, dates (columns named
// *_date / *_at) as instants, numbers (also numbers stored as text) numerically, text by code point.
int compare_for_resolver(std::string_view column, const Value& a, const Value& b);

}  // namespace mdb
