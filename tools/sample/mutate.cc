// One simulated day of work on an existing data dir, written through SQLite the way
// Mephisto writes it: statuses move on, reviews are added, a new run starts, a few
// agents' data files are rewritten.
#include <climits>
#include <cmath>

#include "datadir/datadir.h"
#include "formats/date.h"
#include "base/error.h"
#include "platform/env.h"
#include "tools/sample/sample.h"
#include "tools/sample/sim.h"

namespace mdb::sample {

namespace {

constexpr int64_t kDay = 86'400'000'000LL;
constexpr int64_t kHour = 3'600'000'000LL;

struct Snapshot {
  bool legacy = false;
  int64_t task_runs = 0;
  int64_t units = 0;
  std::string latest_run_date;
};

Snapshot look_at(const mdb::DataDir& dir) {
  sql::Db db = sql::Db::open_readonly(dir.db_path(mdb::DbId::Mephisto));
  Snapshot s;
  s.legacy = !mdb::read_schema(db).find("worker_review");
  s.task_runs = db.query_value("SELECT count(*) FROM task_runs").i;
  s.units = db.query_value("SELECT count(*) FROM units").i;
  // Text order is enough here: every stored form starts with YYYY-MM-DD, and only the day is used.
  s.latest_run_date = db.query_value("SELECT max(creation_date) FROM task_runs").to_string();
  return s;
}

// The day after the latest run, 09:00 (or a fixed day for a dir without runs).
int64_t next_day(const std::string& latest) {
  std::optional<DateTime> d = parse_date(latest);
  int64_t base = d ? d->instant() : parse_date("2024-01-01")->wall_us;
  return (base / kDay + 1) * kDay + 9 * kHour;
}

void load_world(Sim& sim) {
  sql::Db& db = sim.mephisto().db;
  sql::Stmt projects = db.prepare("SELECT project_id, project_name FROM projects ORDER BY project_id");
  while (projects.step()) sim.projects.push_back({projects.column_int(0), projects.column_text(1)});
  sql::Stmt quals = db.prepare("SELECT qualification_id, qualification_name FROM qualifications ORDER BY qualification_id");
  while (quals.step()) sim.qualifications.push_back({quals.column_int(0), quals.column_text(1)});
  sql::Stmt tasks = db.prepare(
      "SELECT t.task_id, t.task_name, t.task_type, p.project_name, "
      "(SELECT pay_amount FROM units u WHERE u.task_id = t.task_id LIMIT 1) "
      "FROM tasks t LEFT JOIN projects p ON p.project_id = t.project_id ORDER BY t.task_id");
  while (tasks.step()) {
    Task t;
    t.id = tasks.column_int(0);
    t.name = tasks.column_text(1);
    t.type = tasks.column_text(2);
    t.dir_name = tasks.column(3).is_null() ? "NO_PROJECT" : tasks.column_text(3);
    t.reward = tasks.column(4).is_null() ? 1.0 : sqlite3_column_double(tasks.get(), 4);
    t.units_per_assignment = kind_of_task_type(t.type) == TaskKind::Chat ? 2 : 1;
    for (const Qualification& q : sim.qualifications)
      if (q.name == t.name + "_onboarding") {
        t.onboarding_qualification = q.id;
        t.onboarding_qualification_name = q.name;
      }
    sim.tasks.push_back(std::move(t));
  }
  // Only requesters whose provider datastore we can write to start runs.
  sql::Stmt reqs = db.prepare("SELECT requester_id, requester_name, provider_type FROM requesters ORDER BY requester_id");
  while (reqs.step())
    if (sim.provider(reqs.column_text(2))) sim.requesters.push_back({reqs.column_int(0), reqs.column_text(1), reqs.column_text(2)});
  sql::Stmt workers = db.prepare("SELECT worker_id, worker_name, provider_type FROM workers ORDER BY worker_id");
  while (workers.step()) sim.workers[workers.column_text(2)].push_back({workers.column_int(0), workers.column_text(1)});
  sql::Stmt grants = db.prepare("SELECT worker_id, qualification_id FROM granted_qualifications");
  while (grants.step()) sim.grants.insert({grants.column_int(0), grants.column_int(1)});
}

// Runs that were still going finish; their prolific studies close.
void finish_runs(Sim& sim) {
  std::vector<int64_t> open;
  sql::Stmt s = sim.mephisto().db.prepare("SELECT task_run_id FROM task_runs WHERE is_completed = 0 ORDER BY task_run_id");
  while (s.step()) open.push_back(s.column_int(0));
  for (int64_t run : open) {
    sim.mephisto().rows->update("task_runs", {{"is_completed", boolean(true)}}, {{"task_run_id", integer(run)}});
    if (OpenDb* p = sim.provider("prolific"))
      p->rows->update("studies", {{"status", text("COMPLETED")}}, {{"task_run_id", id_text(run)}});
  }
}

struct WaitingUnit {
  int64_t unit_id, agent_id, worker_id, task_id;
  std::string provider, status;
  stdfs::path agent_dir;
  std::string task_type;
};

std::vector<WaitingUnit> units_with_status(Sim& sim, const std::string& status) {
  std::vector<WaitingUnit> out;
  sql::Stmt s = sim.mephisto().db.prepare(
      "SELECT u.unit_id, coalesce(u.agent_id, 0), coalesce(u.worker_id, 0), u.task_id, u.provider_type, "
      "u.task_run_id, u.assignment_id, coalesce(p.project_name, 'NO_PROJECT'), t.task_type "
      "FROM units u JOIN tasks t ON t.task_id = u.task_id LEFT JOIN projects p ON p.project_id = t.project_id "
      "WHERE u.status = ?1 ORDER BY u.unit_id");
  s.bind(1, status);
  while (s.step()) {
    WaitingUnit w{s.column_int(0), s.column_int(1), s.column_int(2), s.column_int(3), s.column_text(4), status, {}, {}};
    w.agent_dir = run_dir(s.column_text(7), s.column_int(5)) / std::to_string(s.column_int(6)) /
                  std::to_string(w.agent_id);
    w.task_type = s.column_text(8);
    out.push_back(std::move(w));
  }
  return out;
}

// Workers in the middle of a task finish it; the units wait for review.
void finish_assigned(Sim& sim) {
  for (const WaitingUnit& u : units_with_status(sim, "assigned")) {
    sim.clock().advance_ms(sim.rng(), 1'000, 600'000);
    Rows& m = *sim.mephisto().rows;
    m.update("units", {{"status", text("completed")}}, {{"unit_id", integer(u.unit_id)}});
    if (u.agent_id) m.update("agents", {{"status", text("completed")}}, {{"agent_id", integer(u.agent_id)}});
    if (u.provider == "prolific")
      sim.provider("prolific")
          ->rows->run("UPDATE submissions SET status = 'AWAITING REVIEW' WHERE prolific_submission_id = "
                      "(SELECT prolific_submission_id FROM units WHERE unit_id = ?1)",
                      {id_text(u.unit_id)});
    if (u.agent_id && fs::exists(sim.files().root() / u.agent_dir / "agent_data.json"))
      sim.rewrite_agent_data(u.agent_dir, kind_of_task_type(u.task_type), u.agent_id);
  }
}

void review_waiting(Sim& sim) {
  for (const WaitingUnit& u : units_with_status(sim, "completed")) {
    if (!u.agent_id) continue;
    sim.clock().advance_ms(sim.rng(), 1'000, 300'000);
    double r = sim.rng().uniform();
    std::string verdict = r < 0.75 ? "approved" : r < 0.9 ? "rejected" : "soft_rejected";
    sim.review_unit(u.unit_id, u.agent_id, u.worker_id, u.task_id, u.provider, verdict);
  }
}

void expire_unclaimed(Sim& sim) {
  std::vector<WaitingUnit> unclaimed = units_with_status(sim, "created");
  for (WaitingUnit& u : units_with_status(sim, "launched")) unclaimed.push_back(std::move(u));
  for (const WaitingUnit& u : unclaimed) {
    sim.mephisto().rows->update("units", {{"status", text("expired")}}, {{"unit_id", integer(u.unit_id)}});
    if (OpenDb* p = sim.provider(u.provider); p && (u.provider == "mock" || u.provider == "prolific"))
      p->rows->update("units", {{"is_expired", boolean(true)}}, {{"unit_id", id_text(u.unit_id)}});
  }
}

// About 1% of the agents' data files change (late edits, re-saved state), at least one.
void rewrite_some_agent_data(Sim& sim) {
  sql::Db& db = sim.mephisto().db;
  int64_t agents = db.query_value("SELECT count(*) FROM agents").i;
  if (agents == 0) return;
  int64_t want = std::max<int64_t>(1, std::llround(static_cast<double>(agents) / 100));
  std::set<int64_t> chosen;  // positions in agent_id order (Floyd's sampling)
  for (int64_t j = agents - want; j < agents; ++j) {
    int64_t t = sim.rng().range(0, j);
    chosen.insert(chosen.count(t) ? j : t);
  }
  sql::Stmt s = db.prepare(
      "SELECT a.agent_id, a.task_run_id, a.assignment_id, coalesce(p.project_name, 'NO_PROJECT'), t.task_type "
      "FROM agents a JOIN tasks t ON t.task_id = a.task_id LEFT JOIN projects p ON p.project_id = t.project_id "
      "ORDER BY a.agent_id");
  for (int64_t pos = 0; s.step(); ++pos) {
    if (!chosen.count(pos)) continue;
    stdfs::path dir = run_dir(s.column_text(3), s.column_int(1)) / std::to_string(s.column_int(2)) /
                      std::to_string(s.column_int(0));
    if (!fs::exists(sim.files().root() / dir / "agent_data.json")) continue;
    sim.clock().advance_ms(sim.rng(), 1'000, 600'000);
    sim.rewrite_agent_data(dir, kind_of_task_type(s.column_text(4)), s.column_int(0));
  }
}

void change_a_qualification(Sim& sim) {
  if (sim.grants.empty()) return;
  auto it = sim.grants.begin();
  std::advance(it, static_cast<long>(sim.rng().below(sim.grants.size())));
  auto [worker, qualification] = *it;
  int64_t value = sim.rng().range(0, 5);
  sim.clock().advance_ms(sim.rng(), 60'000, 3'600'000);
  sim.grant(worker, qualification, value);
  sim.add_worker_review(
      {.worker = worker, .note = "qualification updated", .updated_qualification = qualification, .value = value});
}

}  // namespace

Report mutate(const stdfs::path& path, uint64_t seed) {
  mdb::DataDir dir = mdb::DataDir::open_existing(path);
  Snapshot snap = look_at(dir);
  // The key depends on the dir's state too, so mutating twice with one seed still makes new ids.
  uint64_t key = mix(mix(seed, snap.latest_run_date), static_cast<uint64_t>(snap.task_runs));
  Sim sim(path, key, snap.legacy, true, Clock(next_day(snap.latest_run_date), snap.legacy ? LLONG_MAX : 0));
  sim.open_databases();
  load_world(sim);

  finish_runs(sim);
  finish_assigned(sim);
  review_waiting(sim);
  expire_unclaimed(sim);
  if (!sim.requesters.empty() && !sim.tasks.empty()) {
    const Requester& req = sim.rng().pick(sim.requesters);
    int joining = static_cast<int>(sim.rng().range(1, 3));
    for (int i = 0; i < joining; ++i) sim.add_worker(req.provider, false);
    RunPlan plan;
    plan.task = sim.rng().below(sim.tasks.size());
    plan.requester = static_cast<size_t>(&req - sim.requesters.data());
    plan.units = static_cast<int>(std::max<int64_t>(1, snap.units / std::max<int64_t>(1, snap.task_runs)));
    plan.completed = false;
    plan.media_fraction = GenerateOptions{}.media_fraction;
    sim.add_run(plan);
  }
  rewrite_some_agent_data(sim);
  change_a_qualification(sim);
  sim.finish();
  return {sim.files().files(), sim.files().bytes()};
}

}  // namespace mdb::sample
