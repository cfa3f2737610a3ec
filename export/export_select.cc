#include "export/export_select.h"

#include <algorithm>
#include <set>

#include "base/error.h"

namespace mdb {

namespace {

std::string qi(std::string_view name) { return sql::quote_ident(name); }

// Mephisto tables of a partial and of a qualification-only dump, in the original's order.
const std::vector<std::string_view> kPartialTables = {
    "task_runs",     "assignments", "units",      "agents",  "onboarding_agents",      "tasks",
    "worker_review", "projects",    "requesters", "workers", "granted_qualifications", "qualifications"};
const std::vector<std::string_view> kQualificationTables = {"granted_qualifications", "qualifications", "workers"};
const std::vector<std::string_view> kNamedQualificationTables = {"qualifications", "granted_qualifications", "workers"};

// Tables of a DB as a dump lists them: schema order, without `migrations`.
std::vector<std::string> dump_tables(const SchemaInfo& schema) {
  std::vector<std::string> out;
  for (const TableInfo& t : schema.tables)
    if (t.name != "migrations") out.push_back(t.name);
  return out;
}

}  // namespace

Selection Selection::full(Source& src, bool unit_review_key) {
  Selection s(src, DumpKind::Full);
  s.make_layout(unit_review_key);
  return s;
}

Selection Selection::partial(Source& src, const std::vector<int64_t>& run_ids) {
  Selection s(src, DumpKind::Partial);
  s.create_sets();
  sql::Stmt ins = src.conn().prepare("INSERT OR IGNORE INTO " + s.sel_table(DbId::Mephisto, "task_runs") +
                                     " (rid) SELECT rowid FROM main.task_runs WHERE task_run_id = ?1");
  for (int64_t id : run_ids) {
    ins.bind(1, id);
    ins.run();
  }
  std::string runs = s.values_of(DbId::Mephisto, "task_runs", "task_run_id");
  for (std::string_view child : {"assignments", "units", "agents", "onboarding_agents"})
    s.add(DbId::Mephisto, child, "task_run_id IN " + runs);
  while (s.close_references() + s.apply_child_rules() > 0) {
  }
  s.make_layout();
  return s;
}

Selection Selection::qualifications(Source& src, const std::optional<std::vector<int64_t>>& qualification_ids) {
  Selection s(src, DumpKind::QualificationsOnly);
  if (!qualification_ids) {
    for (std::string_view t : kQualificationTables) s.all_tables_.push_back({DbId::Mephisto, std::string(t)});
  } else {
    s.create_sets();
    sql::Stmt ins = src.conn().prepare("INSERT OR IGNORE INTO " + s.sel_table(DbId::Mephisto, "qualifications") +
                                       " (rid) SELECT rowid FROM main.qualifications WHERE qualification_id = ?1");
    for (int64_t id : *qualification_ids) {
      ins.bind(1, id);
      ins.run();
    }
    s.add(DbId::Mephisto, "granted_qualifications",
          "qualification_id IN " + s.values_of(DbId::Mephisto, "qualifications", "qualification_id"));
    while (s.close_references() > 0) {
    }
  }
  s.make_layout();
  return s;
}

std::string Selection::sel_table(DbId db, std::string_view table) const {
  return "temp." + qi("sel:" + schema_name(db) + "." + std::string(table));
}

bool Selection::selects_all(DbId db, std::string_view table) const {
  if (kind_ == DumpKind::Full) return true;
  return std::find(all_tables_.begin(), all_tables_.end(), std::pair<DbId, std::string>(db, std::string(table))) !=
         all_tables_.end();
}

void Selection::create_sets() {
  for (const DbSpec& spec : databases()) {
    if (!src_->attached(spec.id)) continue;
    for (const TableInfo& t : src_->schema(spec.id).tables)
      src_->conn().exec("CREATE TEMP TABLE IF NOT EXISTS " + qi("sel:" + schema_name(spec.id) + "." + t.name) +
                        " (rid INTEGER PRIMARY KEY)");
  }
}

std::string Selection::rows_sql(DbId db, std::string_view table) const {
  if (!src_->attached(db) || !src_->schema(db).find(table)) return {};
  std::string q = src_->qualified(db, table);
  // A full dump reads exactly as the original does, so rows come in the same order.
  if (selects_all(db, table)) return "SELECT * FROM " + q;
  return "SELECT * FROM " + q + " WHERE rowid IN (SELECT rid FROM " + sel_table(db, table) + ") ORDER BY rowid";
}

std::string Selection::rowids_sql(DbId db, std::string_view table) const {
  if (selects_all(db, table)) return "SELECT rowid FROM " + src_->qualified(db, table);
  return "SELECT rid FROM " + sel_table(db, table);
}

std::string Selection::values_of(DbId db, std::string_view table, std::string_view column) const {
  return "(SELECT " + qi(column) + " FROM " + src_->qualified(db, table) + " WHERE rowid IN (" + rowids_sql(db, table) +
         "))";
}

int64_t Selection::add(DbId db, std::string_view table, const std::string& where) {
  if (!src_->attached(db) || !src_->schema(db).find(table) || selects_all(db, table)) return 0;
  src_->conn().exec("INSERT OR IGNORE INTO " + sel_table(db, table) + " (rid) SELECT rowid FROM " +
                    src_->qualified(db, table) + " WHERE " + where);
  return sqlite3_changes64(src_->conn().get());
}

int64_t Selection::close_references() {
  int64_t added = 0;
  for (const Reference& r : src_->references()) {
    std::string where;
    if (r.kind == RefKind::JsonIdList) {
      std::string col = "s." + qi(r.column);
      where = qi(r.target_column) + " IN (SELECT j.value FROM " + src_->qualified(r.db, r.table) +
              " AS s, json_each(CASE WHEN json_valid(" + col + ") THEN " + col + " ELSE '[]' END) AS j" +
              " WHERE s.rowid IN (" + rowids_sql(r.db, r.table) + "))";
    } else {
      where = qi(r.target_column) + " IN " + values_of(r.db, r.table, r.column);
    }
    added += add(r.target_db, r.target_table, where);
  }
  return added;
}

int64_t Selection::apply_child_rules() {
  constexpr DbId M = DbId::Mephisto;
  int64_t added = add(M, "worker_review",
                      "task_id IN " + values_of(M, "tasks", "task_id") + " AND (unit_id IS NULL OR unit_id IN " +
                          values_of(M, "units", "unit_id") + ")");
  added += add(M, "granted_qualifications", "worker_id IN " + values_of(M, "workers", "worker_id"));
  for (const DbSpec& spec : databases())
    if (spec.id != M && src_->attached(spec.id) && provider_selected(spec.id)) added += apply_provider_rules(spec.id);
  return added;
}

bool Selection::provider_selected(DbId db) const {
  sql::Stmt s = src_->conn().prepare("SELECT EXISTS (SELECT 1 FROM main.requesters WHERE rowid IN (" +
                                     rowids_sql(DbId::Mephisto, "requesters") + ") AND provider_type = ?1)");
  s.bind(1, db_spec(db).key);
  return s.step() && s.column_int(0) != 0;
}

int64_t Selection::apply_provider_rules(DbId db) {
  constexpr DbId M = DbId::Mephisto;
  std::string runs = values_of(M, "task_runs", "task_run_id");
  std::string qualification_names = values_of(M, "qualifications", "qualification_name");
  int64_t added = 0;
  switch (rules_of(db)) {
    case DbId::Prolific:
      for (std::string_view t : {"studies", "run_mappings", "runs", "units", "qualifications"})
        added += add(db, t, "task_run_id IN " + runs);
      added += add(db, "submissions", "prolific_study_id IN " + values_of(db, "studies", "prolific_study_id"));
      added +=
          add(db, "participant_groups",
              "prolific_participant_group_id IN " + values_of(db, "qualifications", "prolific_participant_group_id") +
                  " OR qualification_name IN " + qualification_names);
      added += add(db, "workers", "worker_id IN " + values_of(M, "workers", "worker_name"));
      break;
    case DbId::Mock:
      added += add(db, "requesters", "requester_id IN " + values_of(M, "requesters", "requester_id"));
      added += add(db, "units", "unit_id IN " + values_of(M, "units", "unit_id"));
      added += add(db, "workers", "worker_id IN " + values_of(M, "workers", "worker_id"));
      break;
    case DbId::Mturk:
      added += add(db, "runs", "run_id IN " + runs);
      added += add(db, "run_mappings", "run_id IN " + runs);
      added += add(db, "hits", "hit_id IN " + values_of(db, "run_mappings", "hit_id"));
      added += add(db, "qualifications",
                   "requester_id IN " + values_of(M, "requesters", "requester_id") + " AND qualification_name IN " +
                       qualification_names);
      break;
    default:
      break;
  }
  return added;
}

void Selection::make_layout(bool unit_review_key) {
  layout_.clear();
  DumpDb mephisto{"mephisto", DbId::Mephisto, {}};
  const SchemaInfo& schema = src_->schema(DbId::Mephisto);
  if (kind_ == DumpKind::Full) {
    mephisto.tables = dump_tables(schema);
    // The original creates `unit_review` at every start: it follows worker_review, the last table
    // of every schema the original makes.
    if (unit_review_key && !schema.find("unit_review")) {
      auto reviews = std::find(mephisto.tables.begin(), mephisto.tables.end(), "worker_review");
      mephisto.tables.insert(reviews == mephisto.tables.end() ? reviews : reviews + 1, "unit_review");
    }
  } else {
    const auto& order = kind_ == DumpKind::Partial ? kPartialTables
                        : all_tables_.empty()      ? kNamedQualificationTables
                                                   : kQualificationTables;
    for (std::string_view t : order)
      if (schema.find(t)) mephisto.tables.emplace_back(t);
  }
  layout_.push_back(std::move(mephisto));
  if (kind_ == DumpKind::QualificationsOnly) return;

  // Provider keys: the original's query for a full dump; the exported requesters' types, in
  // requester-id order, for a partial one.
  std::vector<std::string> types;
  if (kind_ == DumpKind::Full) {
    types = src_->dir().provider_types(src_->conn());
  } else {
    sql::Stmt s = src_->conn().prepare("SELECT provider_type FROM main.requesters WHERE rowid IN (" +
                                       rowids_sql(DbId::Mephisto, "requesters") + ") ORDER BY rowid");
    std::set<std::string> seen;
    while (s.step())
      if (std::string t = s.column_text(0); seen.insert(t).second) types.push_back(t);
  }
  for (const std::string& type : types) {
    std::optional<DbId> db = db_from_key(type);
    if (db == DbId::Mephisto || db == DbId::Inhouse) db.reset();  // no tables of its own: `{}`
    DumpDb entry{type, db, {}};
    if (db) entry.tables = dump_tables(src_->schema(*db));
    layout_.push_back(std::move(entry));
  }
}

std::vector<int64_t> Selection::task_run_ids() const {
  std::vector<int64_t> out;
  if (kind_ == DumpKind::QualificationsOnly) return out;
  sql::Stmt s = src_->conn().prepare("SELECT task_run_id FROM main.task_runs WHERE rowid IN (" +
                                     rowids_sql(DbId::Mephisto, "task_runs") + ") ORDER BY task_run_id");
  while (s.step()) out.push_back(s.column_int(0));
  return out;
}

}  // namespace mdb
