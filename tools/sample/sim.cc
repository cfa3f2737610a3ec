#include "tools/sample/sim.h"

#include <cmath>

#include "datadir/datadir.h"
#include "formats/date.h"
#include "base/error.h"
#include "platform/env.h"

namespace mdb::sample {

namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

std::string unit_status_after_review(const std::string& agent_status) {
  if (agent_status == "approved") return "accepted";
  return agent_status;  // rejected, soft_rejected
}

std::string submission_status(const std::string& agent_status) {
  if (agent_status == "approved" || agent_status == "soft_rejected") return "APPROVED";
  if (agent_status == "rejected") return "REJECTED";
  if (agent_status == "completed") return "AWAITING REVIEW";
  if (agent_status == "in task") return "ACTIVE";
  return "RETURNED";
}

std::string review_note(const std::string& status, Rng& rng) {
  static const std::map<std::string, std::vector<std::string>> kNotes = {
      {"approved", {"good job", "great work, thanks!", "approved offline", "Clear and careful answers."}},
      {"rejected", {"spam answer", "did not follow the instructions", "rejected offline", "copy-pasted text"}},
      {"soft_rejected", {"low effort", "partially correct", "too short, but paid"}},
  };
  return rng.pick(kNotes.at(status));
}

double unix_seconds(int64_t us) { return static_cast<double>(us) / kSecond; }

// What happens to one unit. `final_status` is the status of its last agent ("" when no
// agent took it); `abandoned` adds an earlier agent that left mid-task.
struct Outcome {
  std::string final_status;
  std::string unit_status;  // for units without an agent
  bool abandoned = false;
};

// Statuses of an agent that left before finishing.
const std::vector<std::string> kLeftStatuses = {"disconnect", "returned", "timeout"};

Outcome draw_outcome(Rng& rng, bool completed_run) {
  Outcome o;
  double u = rng.uniform();
  if (completed_run) {
    if (u < 0.06) o.unit_status = "expired";
    else if (u < 0.68) o.final_status = "approved";
    else if (u < 0.78) o.final_status = "rejected";
    else if (u < 0.86) o.final_status = "soft_rejected";
    else if (u < 0.90) o.final_status = "completed";
    else o.final_status = "approved";
  } else {
    if (u < 0.02) o.unit_status = "created";
    else if (u < 0.10) o.unit_status = "launched";
    else if (u < 0.18) o.final_status = "in task";
    else if (u < 0.60) o.final_status = "completed";
    else if (u < 0.85) o.final_status = "approved";
    else if (u < 0.93) o.final_status = "rejected";
    else o.final_status = "soft_rejected";
  }
  o.abandoned = !o.final_status.empty() && rng.chance(0.05);
  return o;
}

}  // namespace

stdfs::path run_dir(const std::string& project_dir_name, int64_t task_run_id) {
  return stdfs::path("data") / "runs" / project_dir_name / std::to_string(task_run_id);
}

OpenDb::OpenDb(sql::Db handle, std::optional<mdb::SchemaKind> create)
    : db(std::move(handle)), created(create.has_value()) {
  db.exec("PRAGMA foreign_keys = ON");  // as Mephisto connects; catches a wrong row at once
  txn.emplace(db);
  if (create) mdb::create_schema(db, *create);
  rows.emplace(db);
}

std::string Clock::date_at(int64_t us) const {
  std::string d = format_sqlite(DateTime{us, std::nullopt});
  return us < seconds_until_ ? d.substr(0, 19) : d;
}

Sim::Sim(stdfs::path root, uint64_t key, bool legacy, bool check_ids, Clock clock)
    : root_(root),
      key_(key),
      legacy_(legacy),
      check_ids_(check_ids),
      clock_(clock),
      rng_(mix(key, "structure")),
      ids_(mix(key, "ids"), legacy),
      files_(std::move(root)) {}

OpenDb* Sim::provider(const std::string& provider_type) {
  auto it = dbs_.find(provider_type);
  return it == dbs_.end() ? nullptr : it->second.get();
}

void Sim::create_databases(const std::vector<std::string>& provider_types) {
  auto create = [&](const std::string& name, mdb::DbId id, mdb::SchemaKind final_kind, mdb::SchemaKind legacy_kind) {
    stdfs::path path = root_ / mdb::db_spec(id).file;
    fs::mkdirs(path.parent_path());
    auto db = std::make_unique<OpenDb>(sql::Db::create(path), legacy_ ? legacy_kind : final_kind);
    // The original stamps its migration rows with CURRENT_TIMESTAMP; pin them to the
    // simulated time so the same seed gives the same bytes.
    if (db->rows->has_table("migrations"))
      db->rows->run("UPDATE migrations SET creation_date = ?1", {text(clock_.date().substr(0, 19))});
    dbs_[name] = std::move(db);
  };
  using K = mdb::SchemaKind;
  create("mephisto", mdb::DbId::Mephisto, K::Mephisto, K::LegacyMephisto);
  for (const std::string& p : provider_types) {
    if (p == "mock") create(p, mdb::DbId::Mock, K::Mock, K::LegacyMock);
    else if (p == "prolific") create(p, mdb::DbId::Prolific, K::Prolific, K::LegacyProlific);
    else if (p == "mturk") create(p, mdb::DbId::Mturk, K::Mturk, K::Mturk);
    else throw Error("sample: cannot make a datastore for provider " + p);
  }
}

void Sim::open_databases() {
  auto open = [&](const std::string& name, mdb::DbId id) {
    stdfs::path path = root_ / mdb::db_spec(id).file;
    if (!fs::exists(path)) return;
    dbs_[name] = std::make_unique<OpenDb>(sql::Db::open(path), std::nullopt);
    // Sequential ids continue after the largest stored one.
    OpenDb& db = *dbs_[name];
    for (const mdb::TableInfo& t : mdb::read_schema(db.db).tables) {
      std::string pk = t.primary_key();
      if (pk.empty() || t.columns[static_cast<size_t>(t.column_index(pk))].type != "INTEGER") continue;
      Value max = db.db.query_value("SELECT max(" + sql::quote_ident(pk) + ") FROM " + sql::quote_ident(t.name));
      if (max.kind == StorageClass::Integer) ids_.continue_after(name + "." + t.name, max.i);
    }
  };
  open("mephisto", mdb::DbId::Mephisto);
  open("mock", mdb::DbId::Mock);
  open("prolific", mdb::DbId::Prolific);
  open("mturk", mdb::DbId::Mturk);
  if (OpenDb* p = provider("prolific")) {
    sql::Stmt s = p->db.prepare("SELECT qualification_name FROM participant_groups");
    while (s.step()) participant_groups_.insert(s.column_text(0));
  }
  if (OpenDb* m = provider("mturk")) {
    sql::Stmt s = m->db.prepare("SELECT qualification_name FROM qualifications");
    while (s.step()) mturk_qualifications_.insert(s.column_text(0));
  }
}

void Sim::finish() {
  std::vector<stdfs::path> paths;  // databases made or changed: they get the simulated time
  for (auto& [name, db] : dbs_) {
    db->txn->commit();
    if (db->created || sqlite3_total_changes(db->db.get()) > 0) paths.push_back(db->db.path());
  }
  dbs_.clear();  // closes them: SQLite's journal files are gone from their directories
  for (const stdfs::path& p : paths) {
    set_mtime(p, clock_.now());
    files_.touched(stdfs::relative(p.parent_path(), root_));
  }
  files_.flush_dirs(clock_.now());
}

int64_t Sim::new_id(const std::string& db_name, const std::string& table, const std::string& pk) {
  OpenDb& db = *dbs_.at(db_name);
  for (;;) {
    int64_t id = ids_.next(db_name + "." + table);
    if (!check_ids_ || !db.rows->exists(table, pk, id)) return id;
  }
}

int64_t Sim::add_project(const std::string& name) {
  clock_.advance_ms(rng_, 1'000, 600'000);
  int64_t id = new_id("mephisto", "projects", "project_id");
  mephisto().rows->insert("projects", {{"project_id", integer(id)}, {"project_name", text(name)},
                                      {"creation_date", text(clock_.date())}});
  projects.push_back({id, name});
  return id;
}

int64_t Sim::add_requester(const std::string& name, const std::string& provider_type) {
  clock_.advance_ms(rng_, 1'000, 600'000);
  int64_t id = new_id("mephisto", "requesters", "requester_id");
  mephisto().rows->insert("requesters", {{"requester_id", integer(id)}, {"requester_name", text(name)},
                                        {"provider_type", text(provider_type)},
                                        {"creation_date", text(clock_.date())}});
  if (provider_type == "mock")
    provider("mock")->rows->insert("requesters", {{"requester_id", id_text(id)}, {"is_registered", boolean(true)}});
  requesters.push_back({id, name, provider_type});
  return id;
}

size_t Sim::add_task(const std::string& name, const std::string& type, std::optional<size_t> project,
                     std::optional<size_t> parent, int units_per_assignment, double reward) {
  clock_.advance_ms(rng_, 1'000, 600'000);
  Task t;
  t.id = new_id("mephisto", "tasks", "task_id");
  t.name = name;
  t.type = type;
  t.dir_name = project ? projects.at(*project).name : "NO_PROJECT";
  t.units_per_assignment = units_per_assignment;
  t.reward = reward;
  mephisto().rows->insert(
      "tasks", {{"task_id", integer(t.id)}, {"task_name", text(name)}, {"task_type", text(type)},
                {"project_id", project ? integer(projects.at(*project).id) : null()},
                {"parent_task_id", parent ? integer(tasks.at(*parent).id) : null()},
                {"creation_date", text(clock_.date())}});
  tasks.push_back(std::move(t));
  return tasks.size() - 1;
}

int64_t Sim::add_qualification(const std::string& name, const std::optional<std::string>& description) {
  clock_.advance_ms(rng_, 1'000, 60'000);
  int64_t id = ids_.sequential("mephisto.qualifications");
  mephisto().rows->insert("qualifications", {{"qualification_id", integer(id)}, {"qualification_name", text(name)},
                                            {"creation_date", text(clock_.date())},
                                            {"description", description ? text(*description) : null()}});
  qualifications.push_back({id, name});
  return id;
}

Worker Sim::add_worker(const std::string& provider_type, bool blocked) {
  clock_.advance_ms(rng_, 500, 120'000);
  Worker w;
  w.id = new_id("mephisto", "workers", "worker_id");
  if (provider_type == "mock") w.name = "mock_worker_" + rng_.hex(8) + "_sandbox";
  else if (provider_type == "prolific") w.name = rng_.hex(24);
  else w.name = "A" + rng_.upper_alnum(13);
  std::string date = clock_.date();
  mephisto().rows->insert("workers", {{"worker_id", integer(w.id)}, {"worker_name", text(w.name)},
                                     {"provider_type", text(provider_type)}, {"creation_date", text(date)}});
  if (provider_type == "mock") {
    provider("mock")->rows->insert("workers", {{"worker_id", id_text(w.id)}, {"is_blocked", boolean(blocked)}});
  } else if (provider_type == "prolific") {
    provider("prolific")->rows->insert(
        "workers", {{"id", integer(new_id("prolific", "workers", "id"))}, {"worker_id", text(w.name)},
                    {"is_blocked", boolean(blocked)}, {"update_date", text(date)}, {"creation_date", text(date)}});
  }
  workers[provider_type].push_back(w);
  return w;
}

void Sim::grant(int64_t worker, int64_t qualification, int64_t value) {
  std::string date = clock_.date();
  if (grants.count({worker, qualification})) {
    mephisto().rows->update("granted_qualifications", {{"value", integer(value)}, {"update_date", text(date)}},
                            {{"worker_id", integer(worker)}, {"qualification_id", integer(qualification)}});
    return;
  }
  mephisto().rows->insert("granted_qualifications",
                          {{"granted_qualification_id", integer(ids_.sequential("mephisto.granted_qualifications"))},
                           {"worker_id", integer(worker)}, {"qualification_id", integer(qualification)},
                           {"value", integer(value)}, {"update_date", text(date)}, {"creation_date", text(date)}});
  grants.insert({worker, qualification});
}

void Sim::revoke(int64_t worker, int64_t qualification) {
  mephisto().rows->run("DELETE FROM granted_qualifications WHERE worker_id = ?1 AND qualification_id = ?2",
                       {integer(worker), integer(qualification)});
  grants.erase({worker, qualification});
  add_worker_review({.worker = worker, .note = "revoked", .revoked_qualification = qualification});
}

void Sim::add_worker_review(const WorkerReview& r) {
  if (!mephisto().rows->has_table("worker_review")) return;
  auto opt = [](std::optional<int64_t> v) { return v ? integer(*v) : null(); };
  mephisto().rows->insert(
      "worker_review",
      {{"id", integer(new_id("mephisto", "worker_review", "id"))}, {"unit_id", null()}, {"worker_id", integer(r.worker)},
       {"task_id", opt(r.task)}, {"status", null()}, {"review_note", text(r.note)}, {"bonus", null()},
       {"blocked_worker", boolean(r.blocked)}, {"updated_qualification_id", opt(r.updated_qualification)},
       {"updated_qualification_value", opt(r.value)}, {"revoked_qualification_id", opt(r.revoked_qualification)},
       {"creation_date", text(clock_.date())}});
}

void Sim::add_review(int64_t unit_id, int64_t worker_id, int64_t task_id, const std::string& status, int64_t at_us) {
  Rows& rows = *mephisto().rows;
  Value bonus = status == "approved" && rng_.chance(0.25) ? integer(rng_.range(1, 5)) : null();
  // The final schema keeps reviews in worker_review; the legacy one in unit_review.
  bool final_schema = rows.has_table("worker_review");
  std::string table = final_schema ? "worker_review" : "unit_review";
  rows.insert(table, {{"id", integer(new_id("mephisto", table, "id"))}, {"unit_id", integer(unit_id)},
                      {"worker_id", integer(worker_id)}, {"task_id", integer(task_id)}, {"status", text(status)},
                      {"review_note", text(review_note(status, rng_))}, {"bonus", bonus},
                      {"blocked_worker", boolean(false)}, {"updated_qualification_id", null()},
                      {"updated_qualification_value", null()}, {"revoked_qualification_id", null()},
                      {final_schema ? "creation_date" : "created_at", text(clock_.date_at(at_us))}});
}

void Sim::review_unit(int64_t unit_id, int64_t agent_id, int64_t worker_id, int64_t task_id,
                      const std::string& provider_type, const std::string& agent_status) {
  int64_t at = clock_.now() + rng_.range(10, 240) * kMinute;
  Rows& rows = *mephisto().rows;
  rows.update("agents", {{"status", text(agent_status)}}, {{"agent_id", integer(agent_id)}});
  rows.update("units", {{"status", text(unit_status_after_review(agent_status))}}, {{"unit_id", integer(unit_id)}});
  if (provider_type == "prolific")
    provider("prolific")
        ->rows->run("UPDATE submissions SET status = ?1 WHERE prolific_submission_id = "
                    "(SELECT prolific_submission_id FROM units WHERE unit_id = ?2)",
                    {text(submission_status(agent_status)), id_text(unit_id)});
  add_review(unit_id, worker_id, task_id, agent_status, at);
}

Worker Sim::pick_worker(const std::string& provider_type, const std::set<int64_t>& avoid) {
  std::vector<Worker>& pool = workers[provider_type];
  while (pool.size() < avoid.size() + 3) add_worker(provider_type, false);
  for (;;) {
    Worker w = rng_.pick(pool);
    if (!avoid.count(w.id)) return w;
  }
}

const std::vector<Asset>& Sim::assets_of(const Task& task) {
  auto it = assets_.find(task.name);
  // Seeded by the task itself, so every run of the task (--mutate's too) has the same bytes.
  if (it == assets_.end())
    it = assets_.emplace(task.name, task_assets(task.name, mix(static_cast<uint64_t>(task.id), task.name))).first;
  return it->second;
}

void Sim::write_agent_files(const stdfs::path& dir, TaskKind kind, int64_t agent_id, int64_t start_us, bool finished,
                            double media_fraction) {
  Rng content(mix(key_, agent_id));
  AgentDataSpec spec;
  spec.kind = kind;
  spec.target_size = agent_data_size(content);
  spec.finished = finished;
  spec.start = unix_seconds(start_us);
  int64_t end_us = start_us + content.range(45, 1800) * kSecond + content.range(0, 999'999);
  spec.end = unix_seconds(end_us);
  if (finished && content.chance(media_fraction)) {
    int uploads = content.chance(0.2) ? 2 : 1;
    for (int i = 1; i <= uploads; ++i) spec.uploads.push_back(make_upload(i, content));
  }
  files_.write(dir / "agent_data.json", agent_data(spec, content), end_us);
  files_.write(dir / "agent_meta.json", agent_meta(spec.start, spec.end, content), end_us);
  for (const Upload& u : spec.uploads) files_.write(dir / u.name, upload_bytes(u, content), end_us);
}

void Sim::rewrite_agent_data(const stdfs::path& agent_dir, TaskKind kind, int64_t agent_id) {
  Rng content(mix(key_, agent_id));
  AgentDataSpec spec;
  spec.kind = kind;
  spec.target_size = agent_data_size(content);
  spec.start = unix_seconds(clock_.now());
  spec.end = spec.start + static_cast<double>(content.range(45, 1800));
  files_.rewrite(agent_dir / "agent_data.json", agent_data(spec, content), clock_.now());
}

void Sim::add_onboarding(const Task& task, const Requester& req, int64_t run_id, const stdfs::path& dir, int count) {
  std::set<int64_t> done;
  for (int i = 0; i < count; ++i) {
    clock_.advance_ms(rng_, 5'000, 300'000);
    Worker w = pick_worker(req.provider, done);
    done.insert(w.id);
    bool passed = rng_.chance(0.8);
    int64_t id = new_id("mephisto", "onboarding_agents", "onboarding_agent_id");
    mephisto().rows->insert("onboarding_agents",
                            {{"onboarding_agent_id", integer(id)}, {"worker_id", integer(w.id)},
                             {"task_id", integer(task.id)}, {"task_run_id", integer(run_id)},
                             {"task_type", text(task.type)}, {"status", text(passed ? "approved" : "rejected")},
                             {"creation_date", text(clock_.date())}});
    Rng content(mix(key_, id));
    stdfs::path agent_dir = dir / "onboarding" / ("onboarding_" + std::to_string(id));
    double start = unix_seconds(clock_.now());
    int64_t end_us = clock_.now() + content.range(20, 300) * kSecond;
    files_.write(agent_dir / "agent_data.json", onboarding_data(passed, content), end_us);
    files_.write(agent_dir / "agent_meta.json", agent_meta(start, unix_seconds(end_us), content), end_us);
    grant(w.id, task.onboarding_qualification, passed ? 1 : 0);
  }
}


void Sim::add_run(const RunPlan& plan) {
  Task& task = tasks.at(plan.task);
  const Requester& req = requesters.at(plan.requester);
  ++task.runs;
  clock_.advance_ms(rng_, 6 * 3'600'000LL, 60 * 3'600'000LL);
  int64_t run_id = new_id("mephisto", "task_runs", "task_run_id");
  RunContext run{task, req, plan, run_id, std::to_string(run_id), run_dir(task.dir_name, run_id),
                 req.provider == "mock", kind_of_task_type(task.type), {}, {}};
  RunInfo info{task.name, task.type, req.provider, req.name, task.reward, task.units_per_assignment,
               task.onboarding_qualification != 0, "blocked_list", task.onboarding_qualification_name};
  mephisto().rows->insert(
      "task_runs", {{"task_run_id", integer(run_id)}, {"task_id", integer(task.id)}, {"requester_id", integer(req.id)},
                    {"init_params", text(init_params(info, rng_))}, {"is_completed", boolean(plan.completed)},
                    {"provider_type", text(req.provider)}, {"task_type", text(task.type)},
                    {"sandbox", boolean(run.sandbox)}, {"creation_date", text(clock_.date())}});
  for (const Asset& a : assets_of(task)) files_.write(run.dir / a.name, a.bytes, clock_.now());
  if (req.provider == "prolific") add_prolific_run(run);
  if (req.provider == "mturk") add_mturk_run(run);
  if (task.onboarding_qualification != 0) add_onboarding(task, req, run_id, run.dir, std::max(1, plan.units / 6));
  for (int made = 0; made < plan.units; made += task.units_per_assignment)
    add_assignment(run, std::min(task.units_per_assignment, plan.units - made));
  files_.flush_dirs(clock_.now() + kHour);
}

void Sim::add_prolific_run(RunContext& run) {
  Rows& p = *provider("prolific")->rows;
  run.study_id = rng_.hex(24);
  std::string date = clock_.date();
  std::string project = Rng(mix(key_, "prolific project")).hex(24);
  p.insert("studies", {{"id", integer(new_id("prolific", "studies", "id"))}, {"prolific_study_id", text(run.study_id)},
                       {"status", text(run.plan.completed ? "COMPLETED" : "ACTIVE")},
                       {"link", text("https://app.prolific.com/studies/" + run.study_id)},
                       {"task_run_id", text(run.run_text)}, {"assignment_time_in_seconds", integer(1800)},
                       {"creation_date", text(date)}});
  p.insert("runs", {{"id", integer(new_id("prolific", "runs", "id"))}, {"task_run_id", text(run.run_text)},
                    {"arn_id", text("unused")},
                    {"prolific_workspace_id", text(Rng(mix(key_, "prolific workspace")).hex(24))},
                    {"prolific_project_id", text(project)}, {"prolific_study_id", text(run.study_id)},
                    {"prolific_study_config_path", text("/srv/mephisto/tmp/prolific_study_" + run.run_text + ".json")},
                    {"creation_date", text(date)}, {"frame_height", integer(0)},
                    {"actual_available_places", integer(run.plan.units)},
                    {"listed_available_places", integer(run.plan.units)}});
  p.insert("run_mappings", {{"id", integer(new_id("prolific", "run_mappings", "id"))},
                            {"prolific_study_id", text(run.study_id)}, {"task_run_id", text(run.run_text)}});

  // The run admits workers holding some qualifications, through a participant group per
  // qualification (made the first time a run needs it).
  std::vector<const Qualification*> quals;
  for (const Qualification& q : qualifications)
    if (q.name == "allowlist" || (q.name == "english_native" && rng_.chance(0.5))) quals.push_back(&q);
  if (quals.empty()) return;
  for (const Qualification* q : quals) {
    if (!participant_groups_.insert(q->name).second) continue;
    p.insert("participant_groups",
             {{"id", integer(new_id("prolific", "participant_groups", "id"))}, {"qualification_name", text(q->name)},
              {"requester_id", id_text(run.req.id)}, {"prolific_project_id", text(project)},
              {"prolific_participant_group_name", text("PG " + q->name)},
              {"prolific_participant_group_id", text(rng_.hex(24))}, {"creation_date", text(date)}});
  }
  sql::Stmt group = provider("prolific")->db.prepare(
      "SELECT prolific_participant_group_id FROM participant_groups WHERE qualification_name = ?1");
  group.bind(1, quals.front()->name);
  if (!group.step()) throw Error("sample: no participant group for " + quals.front()->name);
  std::string logic = "[", ids = "[";
  for (const Qualification* q : quals) {
    logic += std::string(logic.size() > 1 ? ", " : "") + "{\"qualification_name\": \"" + q->name +
             "\", \"comparator\": \"exists\", \"value\": null}";
    ids += (ids.size() > 1 ? ", " : "") + std::to_string(q->id);
  }
  p.insert("qualifications", {{"id", integer(new_id("prolific", "qualifications", "id"))},
                              {"prolific_participant_group_id", text(group.column_text(0))},
                              {"task_run_id", text(run.run_text)}, {"json_qual_logic", text(logic + "]")},
                              {"qualification_ids", text(ids + "]")}, {"creation_date", text(date)}});
}

void Sim::add_mturk_run(RunContext& run) {
  Rows& t = *provider("mturk")->rows;
  run.hit_type_id = rng_.upper_alnum(30);
  t.insert("runs", {{"run_id", text(run.run_text)},
                    {"arn_id", text("arn:aws:sns:us-east-1:000000000000:mephisto-" + rng_.hex(8))},
                    {"hit_type_id", text(run.hit_type_id)},
                    {"hit_config_path", text("/srv/mephisto/tmp/hit_config_" + run.run_text + ".json")},
                    {"creation_date", text(clock_.date())}, {"frame_height", integer(650)}});
  // MTurk mirrors the qualifications its runs check, once per requester account.
  for (const Qualification& q : qualifications) {
    if ((q.name != "english_native" && q.name != "blocked_list") || !mturk_qualifications_.insert(q.name).second)
      continue;
    t.insert("qualifications", {{"qualification_name", text(q.name)}, {"requester_id", id_text(run.req.id)},
                                {"mturk_qualification_name", text(q.name + "_" + run.req.name)},
                                {"mturk_qualification_id", text(rng_.upper_alnum(30))},
                                {"creation_date", text(clock_.date())}});
  }
}

void Sim::add_assignment(const RunContext& run, int units) {
  clock_.advance_ms(rng_, 200, 60'000);
  int64_t assignment_id = new_id("mephisto", "assignments", "assignment_id");
  mephisto().rows->insert(
      "assignments", {{"assignment_id", integer(assignment_id)}, {"task_id", integer(run.task.id)},
                      {"task_run_id", integer(run.run_id)}, {"requester_id", integer(run.req.id)},
                      {"task_type", text(run.task.type)}, {"provider_type", text(run.req.provider)},
                      {"sandbox", boolean(run.sandbox)}, {"creation_date", text(clock_.date())}});
  Rng content(mix(key_, assignment_id));
  files_.write(run.dir / std::to_string(assignment_id) / "assign_data.json",
               assign_data(run.kind, assignment_id, units, content), clock_.now());
  std::set<int64_t> busy;  // a worker takes one unit of an assignment
  for (int index = 0; index < units; ++index) add_unit(run, assignment_id, index, busy);
}

void Sim::add_unit(const RunContext& run, int64_t assignment_id, int index, std::set<int64_t>& busy) {
  clock_.advance_ms(rng_, 10, 2'000);
  Rows& m = *mephisto().rows;
  int64_t unit_id = new_id("mephisto", "units", "unit_id");
  m.insert("units", {{"unit_id", integer(unit_id)}, {"assignment_id", integer(assignment_id)},
                     {"unit_index", integer(index)}, {"pay_amount", real(run.task.reward)},
                     {"provider_type", text(run.req.provider)}, {"status", text("created")}, {"agent_id", null()},
                     {"worker_id", null()}, {"task_type", text(run.task.type)}, {"task_id", integer(run.task.id)},
                     {"task_run_id", integer(run.run_id)}, {"sandbox", boolean(run.sandbox)},
                     {"requester_id", integer(run.req.id)}, {"creation_date", text(clock_.date())}});
  Outcome o = draw_outcome(rng_, run.plan.completed);
  int64_t agent_id = 0, worker_id = 0;
  std::string submission_id;
  int agents = o.final_status.empty() ? 0 : (o.abandoned ? 2 : 1);
  for (int a = 0; a < agents; ++a) {
    clock_.advance_ms(rng_, 1'000, 120'000);
    bool last = a == agents - 1;
    std::string status = last ? o.final_status : rng_.pick(kLeftStatuses);
    // A finished agent is "completed" until reviewed (review_unit below).
    std::string created_status = last && status != "in task" ? "completed" : status;
    Worker w = pick_worker(run.req.provider, busy);
    agent_id = new_id("mephisto", "agents", "agent_id");
    worker_id = w.id;
    m.insert("agents", {{"agent_id", integer(agent_id)}, {"worker_id", integer(w.id)}, {"unit_id", integer(unit_id)},
                        {"task_id", integer(run.task.id)}, {"task_run_id", integer(run.run_id)},
                        {"assignment_id", integer(assignment_id)}, {"task_type", text(run.task.type)},
                        {"provider_type", text(run.req.provider)}, {"status", text(created_status)},
                        {"creation_date", text(clock_.date())}});
    write_agent_files(run.dir / std::to_string(assignment_id) / std::to_string(agent_id), run.kind, agent_id,
                      clock_.now(), created_status == "completed", run.plan.media_fraction);
    if (run.req.provider == "prolific") {
      submission_id = rng_.hex(24);
      provider("prolific")->rows->insert(
          "submissions", {{"id", integer(new_id("prolific", "submissions", "id"))},
                          {"prolific_submission_id", text(submission_id)}, {"prolific_study_id", text(run.study_id)},
                          {"status", text(submission_status(created_status))}, {"creation_date", text(clock_.date())}});
    }
  }
  if (agents > 0) {
    busy.insert(worker_id);
    m.update("units", {{"agent_id", integer(agent_id)}, {"worker_id", integer(worker_id)},
                       {"status", text(o.final_status == "in task" ? "assigned" : "completed")}},
             {{"unit_id", integer(unit_id)}});
  } else {
    m.update("units", {{"status", text(o.unit_status)}}, {{"unit_id", integer(unit_id)}});
  }
  add_provider_unit(run, unit_id, agents > 0, submission_id, o.unit_status == "expired");
  if (o.final_status == "approved" || o.final_status == "rejected" || o.final_status == "soft_rejected")
    review_unit(unit_id, agent_id, worker_id, run.task.id, run.req.provider, o.final_status);
}

void Sim::add_provider_unit(const RunContext& run, int64_t unit_id, bool taken, const std::string& submission_id,
                            bool expired) {
  if (run.req.provider == "mock") {
    provider("mock")->rows->insert("units", {{"unit_id", id_text(unit_id)}, {"is_expired", boolean(expired)}});
  } else if (run.req.provider == "prolific") {
    provider("prolific")->rows->insert(
        "units", {{"id", integer(new_id("prolific", "units", "id"))}, {"unit_id", id_text(unit_id)},
                  {"task_run_id", text(run.run_text)}, {"prolific_study_id", text(run.study_id)},
                  {"prolific_submission_id", taken ? text(submission_id) : null()}, {"is_expired", boolean(expired)},
                  {"creation_date", text(clock_.date())}});
  } else if (run.req.provider == "mturk") {
    Rows& t = *provider("mturk")->rows;
    std::string hit_id = rng_.upper_alnum(30);
    t.insert("hits", {{"hit_id", text(hit_id)}, {"unit_id", id_text(unit_id)},
                      {"assignment_id", taken ? text(rng_.upper_alnum(30)) : null()},
                      {"link", text("https://worker.mturk.com/projects/" + run.hit_type_id + "/tasks")},
                      {"assignment_time_in_seconds", integer(1800)}, {"creation_date", text(clock_.date())}});
    t.insert("run_mappings", {{"hit_id", text(hit_id)}, {"run_id", text(run.run_text)}});
  }
}

}  // namespace mdb::sample
