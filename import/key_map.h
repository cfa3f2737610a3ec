#pragma once
// The import's one key map (import.md "Same object, conflict, clash"): for each referenced column
// (primary keys, and the columns provider rows and prolific workers refer to), the dump's value ->
// the value here, where they differ; and the other names of the dump that follow its rows (task
// run dirs, project names, the original's `-r` onboarding ids). Every reference is redirected
// through it: declared foreign keys, reference-like columns, provider columns, JSON id lists,
// imported_data values, run dir names.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "datadir/registry.h"
#include "formats/value.h"

namespace mdb {

// A reference from a column of a dump table (mdb::references() plus where its values point).
struct ImportRef {
  DbId db;
  std::string table, column;
  int index;  // dump column
  DbId target_db;
  std::string target_table, target_column;
  RefKind kind;
  bool deferred;        // the target table is imported at or after this one: set once it is
  bool integer_target;  // the target is an integer key: text values are its ids as text
};

// The elements of a JSON id list ("[1, \"2\"]"), or nullopt when the text is not one.
std::optional<std::vector<Value>> parse_id_list(const Value& v);
// A reference value as the target table's key: integer keys from id text.
std::optional<Value> as_key(const Value& v, bool integer_target);

// What became of a task run of the dump.
struct RunFate {
  int64_t id;     // its task_run_id here
  bool new_here;  // inserted, not merged
};

class KeyMap {
 public:
  using Column = std::tuple<DbId, std::string, std::string>;  // db, table, column

  // Records that the dump's `from` in `column` is `to` here.
  void set(const Column& column, const Value& from, const Value& to);
  bool maps(const Column& column) const { return maps_.count(column) > 0; }
  bool empty() const { return maps_.empty(); }
  // Forgets the column maps (not the names below).
  void clear() { maps_.clear(); }

  // `v` of `column` as it is here (itself when it did not move).
  Value map_key(DbId db, const std::string& table, const std::string& column, const Value& v) const;
  // The reference value `v` with each id it holds mapped; nullopt when none moved.
  std::optional<Value> map_ref(const ImportRef& r, const Value& v) const;

  std::map<int64_t, RunFate> runs;                    // dump task_run_id -> its fate here
  std::map<std::string, std::string> project_names;   // dump project name -> final, where they differ
  std::map<std::string, std::string> onboarding_ids;  // the original's -r: old onboarding id -> new

 private:
  using Key = std::variant<int64_t, std::string>;
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  static Key key(const Value& v);
  std::map<Column, std::unordered_map<Key, Key, KeyHash>> maps_;
};

// Applies `change` to each id a reference value holds (one, or each of a JSON id list), taken as
// the target's key; returns the new value (storage class and list spelling kept), or nullopt.
using KeyChange = std::function<std::optional<Value>(const Value& key)>;
std::optional<Value> map_ids(RefKind kind, bool integer_target, const Value& v, const KeyChange& change);

}  // namespace mdb
