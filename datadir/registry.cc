#include "datadir/registry.h"

#include <algorithm>

namespace mdb {

const std::vector<DbSpec>& databases() {
  static const std::vector<DbSpec> kDbs = {
      {DbId::Mephisto, "mephisto", "database.db"},
      {DbId::Mock, "mock", "mock/mock.db"},
      {DbId::Mturk, "mturk", "mturk/mturk.db"},
      {DbId::MturkSandbox, "mturk_sandbox", "mturk_sandbox/mturk.db"},
      {DbId::Prolific, "prolific", "prolific/prolific.db"},
      {DbId::Inhouse, "inhouse", "inhouse/inhouse.db"},
  };
  return kDbs;
}

const DbSpec& db_spec(DbId id) { return databases().at(static_cast<size_t>(id)); }

std::optional<DbId> db_from_key(std::string_view key) {
  for (const DbSpec& d : databases())
    if (d.key == key) return d.id;
  return std::nullopt;
}

DbId rules_of(DbId id) { return id == DbId::MturkSandbox ? DbId::Mturk : id; }

namespace {

using DB = DbId;
using K = KeyKind;

const std::vector<TableSpec> kTables = {
    // Mephisto DB, parents first.
    {DB::Mephisto, "projects", "project_id", K::IntegerId, {"project_name"}, 0},
    {DB::Mephisto, "requesters", "requester_id", K::IntegerId, {"requester_name"}, 1},
    {DB::Mephisto, "tasks", "task_id", K::IntegerId, {"task_name"}, 2},
    {DB::Mephisto, "qualifications", "qualification_id", K::IntegerId, {"qualification_name"}, 3},
    {DB::Mephisto, "workers", "worker_id", K::IntegerId, {"worker_name"}, 4},
    {DB::Mephisto, "task_runs", "task_run_id", K::IntegerId, {}, 5},
    {DB::Mephisto, "assignments", "assignment_id", K::IntegerId, {}, 6},
    {DB::Mephisto, "units", "unit_id", K::IntegerId, {}, 7},
    {DB::Mephisto, "agents", "agent_id", K::IntegerId, {}, 8},
    {DB::Mephisto, "onboarding_agents", "onboarding_agent_id", K::IntegerId, {}, 9},
    {DB::Mephisto, "granted_qualifications", "granted_qualification_id", K::IntegerId,
     {"worker_id", "qualification_id"}, 10},
    {DB::Mephisto, "worker_review", "id", K::IntegerId, {}, 11},
    {DB::Mephisto, "unit_review", "id", K::IntegerId, {}, -1},
    {DB::Mephisto, "imported_data", "id", K::IntegerId, {}, -1},
    {DB::Mephisto, "migrations", "id", K::IntegerId, {}, -1},
    // prolific
    {DB::Prolific, "workers", "id", K::ProviderRowId, {"worker_id"}, 0},
    {DB::Prolific, "participant_groups", "id", K::ProviderRowId, {"qualification_name"}, 1},
    {DB::Prolific, "qualifications", "id", K::ProviderRowId, {}, 2},
    {DB::Prolific, "studies", "id", K::ProviderRowId, {}, 3},
    {DB::Prolific, "runs", "id", K::ProviderRowId, {"task_run_id"}, 4},
    {DB::Prolific, "run_mappings", "id", K::ProviderRowId, {}, 5},
    {DB::Prolific, "submissions", "id", K::ProviderRowId, {}, 6},
    {DB::Prolific, "units", "id", K::ProviderRowId, {"unit_id"}, 7},
    {DB::Prolific, "migrations", "id", K::IntegerId, {}, -1},
    // mock
    {DB::Mock, "requesters", "requester_id", K::TextKey, {}, 0},
    {DB::Mock, "workers", "worker_id", K::TextKey, {}, 1},
    {DB::Mock, "units", "unit_id", K::TextKey, {}, 2},
    {DB::Mock, "migrations", "id", K::IntegerId, {}, -1},
    // mturk (and mturk_sandbox)
    {DB::Mturk, "hits", "hit_id", K::TextKey, {}, 0},
    {DB::Mturk, "run_mappings", "", K::None, {}, 1},
    {DB::Mturk, "runs", "run_id", K::TextKey, {}, 2},
    {DB::Mturk, "qualifications", "qualification_name", K::TextKey, {}, 3},
    {DB::Mturk, "migrations", "id", K::IntegerId, {}, -1},
};

struct RefRow {
  DB db;
  const char* table;
  const char* column;
  DB target_db;
  const char* target_table;
  const char* target_column;
  RefKind kind;
};

const std::vector<RefRow> kUndeclared = {
    {DB::Mephisto, "worker_review", "updated_qualification_id", DB::Mephisto, "qualifications", "qualification_id",
     RefKind::ReferenceLike},
    {DB::Mephisto, "worker_review", "revoked_qualification_id", DB::Mephisto, "qualifications", "qualification_id",
     RefKind::ReferenceLike},
    {DB::Mephisto, "unit_review", "updated_qualification_id", DB::Mephisto, "qualifications", "qualification_id",
     RefKind::ReferenceLike},
    {DB::Mephisto, "unit_review", "revoked_qualification_id", DB::Mephisto, "qualifications", "qualification_id",
     RefKind::ReferenceLike},
    {DB::Mephisto, "onboarding_agents", "task_id", DB::Mephisto, "tasks", "task_id", RefKind::ReferenceLike},
    // prolific -> Mephisto
    {DB::Prolific, "studies", "task_run_id", DB::Mephisto, "task_runs", "task_run_id", RefKind::CrossDb},
    {DB::Prolific, "run_mappings", "task_run_id", DB::Mephisto, "task_runs", "task_run_id", RefKind::CrossDb},
    {DB::Prolific, "runs", "task_run_id", DB::Mephisto, "task_runs", "task_run_id", RefKind::CrossDb},
    {DB::Prolific, "qualifications", "task_run_id", DB::Mephisto, "task_runs", "task_run_id", RefKind::CrossDb},
    {DB::Prolific, "units", "task_run_id", DB::Mephisto, "task_runs", "task_run_id", RefKind::CrossDb},
    {DB::Prolific, "units", "unit_id", DB::Mephisto, "units", "unit_id", RefKind::CrossDb},
    {DB::Prolific, "participant_groups", "requester_id", DB::Mephisto, "requesters", "requester_id",
     RefKind::CrossDb},
    {DB::Prolific, "workers", "worker_id", DB::Mephisto, "workers", "worker_name", RefKind::WorkerName},
    {DB::Prolific, "qualifications", "qualification_ids", DB::Mephisto, "qualifications", "qualification_id",
     RefKind::JsonIdList},
    // inside prolific
    {DB::Prolific, "qualifications", "prolific_participant_group_id", DB::Prolific, "participant_groups",
     "prolific_participant_group_id", RefKind::Internal},
    {DB::Prolific, "submissions", "prolific_study_id", DB::Prolific, "studies", "prolific_study_id",
     RefKind::Internal},
    {DB::Prolific, "run_mappings", "prolific_study_id", DB::Prolific, "studies", "prolific_study_id",
     RefKind::Internal},
    {DB::Prolific, "units", "prolific_study_id", DB::Prolific, "studies", "prolific_study_id", RefKind::Internal},
    {DB::Prolific, "runs", "prolific_study_id", DB::Prolific, "studies", "prolific_study_id", RefKind::Internal},
    {DB::Prolific, "units", "prolific_submission_id", DB::Prolific, "submissions", "prolific_submission_id",
     RefKind::Internal},
    // mock -> Mephisto
    {DB::Mock, "requesters", "requester_id", DB::Mephisto, "requesters", "requester_id", RefKind::CrossDb},
    {DB::Mock, "units", "unit_id", DB::Mephisto, "units", "unit_id", RefKind::CrossDb},
    {DB::Mock, "workers", "worker_id", DB::Mephisto, "workers", "worker_id", RefKind::CrossDb},
    // mturk -> Mephisto, and inside mturk
    {DB::Mturk, "hits", "unit_id", DB::Mephisto, "units", "unit_id", RefKind::CrossDb},
    {DB::Mturk, "run_mappings", "run_id", DB::Mephisto, "task_runs", "task_run_id", RefKind::CrossDb},
    {DB::Mturk, "runs", "run_id", DB::Mephisto, "task_runs", "task_run_id", RefKind::CrossDb},
    {DB::Mturk, "qualifications", "requester_id", DB::Mephisto, "requesters", "requester_id", RefKind::CrossDb},
    {DB::Mturk, "run_mappings", "hit_id", DB::Mturk, "hits", "hit_id", RefKind::Internal},
};

}  // namespace

const std::vector<TableSpec>& table_specs() { return kTables; }

const TableSpec* find_table_spec(DbId db, std::string_view table) {
  DbId rules = rules_of(db);
  for (const TableSpec& t : kTables)
    if (t.db == rules && t.name == table) return &t;
  return nullptr;
}

std::vector<const TableSpec*> import_order(DbId db) {
  DbId rules = rules_of(db);
  std::vector<const TableSpec*> out;
  for (const TableSpec& t : kTables)
    if (t.db == rules && t.import_rank >= 0) out.push_back(&t);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->import_rank < b->import_rank; });
  return out;
}

std::vector<Reference> undeclared_references(DbId db) {
  DbId rules = rules_of(db);
  std::vector<Reference> out;
  for (const RefRow& r : kUndeclared) {
    if (r.db != rules) continue;
    DbId target = r.target_db == rules ? db : r.target_db;  // internal refs stay in the same file
    out.push_back({db, r.table, r.column, target, r.target_table, r.target_column, r.kind});
  }
  return out;
}

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

bool is_date_column(std::string_view column) { return ends_with(column, "_date") || ends_with(column, "_at"); }
bool is_id_column(std::string_view column) { return ends_with(column, "_id"); }

}  // namespace mdb
