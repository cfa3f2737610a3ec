#pragma once
// The table registry of data-dir.md, as one data table: what the schemas do not declare
// (natural keys, reference-like columns, references from provider datastores into the
// Mephisto DB and inside them, key semantics, import order). Declared foreign keys are
// read from each database itself (see schema.h) and merged by references().
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mdb {

// The databases of a data dir. The provider type string doubles as the dump's JSON key.
enum class DbId : uint8_t { Mephisto, Mock, Mturk, MturkSandbox, Prolific, Inhouse };

struct DbSpec {
  DbId id;
  std::string_view key;   // "mephisto" or the provider type
  std::string_view file;  // path relative to the data dir
};

const std::vector<DbSpec>& databases();  // Mephisto first, then providers
const DbSpec& db_spec(DbId id);
std::optional<DbId> db_from_key(std::string_view key);
// The registry's rules for a provider DB: mturk_sandbox follows mturk.
DbId rules_of(DbId id);

enum class RefKind : uint8_t {
  ForeignKey,     // declared in the Mephisto schema
  ReferenceLike,  // Mephisto column with no declared foreign key
  CrossDb,        // provider column holding a Mephisto id (usually as text)
  Internal,       // provider text column -> another row of the same datastore
  WorkerName,     // prolific workers.worker_id holds a Mephisto workers.worker_name
  JsonIdList,     // prolific qualifications.qualification_ids: JSON list of Mephisto ids
};

struct Reference {
  DbId db;                       // where the column is
  std::string table;
  std::string column;
  DbId target_db;
  std::string target_table;
  std::string target_column;
  RefKind kind;
};

enum class KeyKind : uint8_t {
  IntegerId,     // Mephisto `<x>_id` / `id`: random 63-bit ids >= 1,000,000, or legacy small ids
  ProviderRowId, // prolific `id`: same rules as IntegerId
  TextKey,       // mock ids, mturk hit_id/run_id/qualification_name: identities
  None,          // mturk run_mappings
};

struct TableSpec {
  DbId db;
  std::string_view name;
  std::string_view pk;  // empty when the table has none
  KeyKind key_kind;
  std::vector<std::string_view> natural_key;
  int import_rank;      // position in the parent-first import order; -1: not imported as rows
};

constexpr int64_t kLegacyIdLimit = 1'000'000;  // ids below this are legacy (sequential)

// Every table the registry knows, per DB in import order.
const std::vector<TableSpec>& table_specs();
const TableSpec* find_table_spec(DbId db, std::string_view table);
// Tables of one DB in import order (rules_of applied).
std::vector<const TableSpec*> import_order(DbId db);

// References the schema does not declare (reference-like, provider, internal, worker
// name, JSON id lists) for the DB `db` (rules_of applied, db field set to `db`).
std::vector<Reference> undeclared_references(DbId db);

// Columns whose values are dates: names ending in _date or _at.
bool is_date_column(std::string_view column);
// Mephisto DB columns rendered as strings in dumps: names ending in _id.
bool is_id_column(std::string_view column);

}  // namespace mdb
