// A new data dir: the world (projects, requesters, tasks, qualifications, workers and
// their grants), then the task runs in time order, then a few qualification changes.
#include <algorithm>
#include <climits>

#include "formats/date.h"
#include "base/error.h"
#include "platform/env.h"
#include "tools/sample/sample.h"
#include "tools/sample/sim.h"

namespace mdb::sample {

namespace {

constexpr int64_t kDay = 86'400'000'000LL;

struct TaskDef {
  const char* name;
  const char* type;
  int project;  // -1: no project
  int parent;   // -1: none
  int units_per_assignment;
  double reward;
  const char* onboarding_qualification;  // nullptr: no onboarding
  std::vector<std::string> providers;    // used in turn by the task's runs
};

// Names cover what breaks naive code: Unicode, spaces, an apostrophe, a task without a
// project (its runs live under NO_PROJECT) and a task with a parent.
const char* const kProjects[] = {"visual_qa", "Проект β — données", "Annotators' Corner"};

const std::vector<TaskDef>& task_defs() {
  static const std::vector<TaskDef> kTasks = {
      {"image_labeling", "static_react_task", 0, -1, 1, 0.75, "image_labeling_onboarding", {"mock"}},
      {"image_labeling_round2", "static_react_task", 0, 0, 1, 0.5, nullptr, {"mock", "prolific"}},
      {"sentiment_review", "static_react_task", 2, -1, 1, 1.25, nullptr, {"prolific", "mturk"}},
      {"dialogue_collection", "parlai_chat", 2, -1, 2, 2.0, nullptr, {"mturk", "mock"}},
      {"опрос_ünïcode", "static_react_task", 1, -1, 1, 0.3, "опрос_onboarding", {"prolific"}},
      {"listener's_transcription", "remote_procedure", -1, -1, 1, 1.5, nullptr, {"mock"}},
  };
  return kTasks;
}

void check_output_dir(const stdfs::path& out) {
  std::error_code ec;
  if (!stdfs::exists(out, ec)) return;
  if (!stdfs::is_directory(out, ec))
    throw Error("mephisto-sample: " + out.string() + " exists and is not a directory. Nothing was written.");
  if (!stdfs::is_empty(out, ec))
    throw Error("mephisto-sample: " + out.string() +
                " is not empty; mephisto-sample writes only into a new or empty directory. Nothing was written.");
}

void build_world(Sim& sim, const GenerateOptions& o, const std::vector<std::string>& providers) {
  for (const char* p : kProjects) sim.add_project(p);
  for (const std::string& p : providers) sim.add_requester(p == "mock" ? "mock_requester" : p + "_lab", p);

  int64_t english = sim.add_qualification("english_native", "Native English speakers");
  int64_t allowlist = sim.add_qualification("allowlist", std::nullopt);
  int64_t blocked_list = sim.add_qualification("blocked_list", "Workers blocked after review");
  for (const TaskDef& d : task_defs()) {
    std::optional<size_t> project = d.project >= 0 ? std::optional<size_t>(d.project) : std::nullopt;
    std::optional<size_t> parent = d.parent >= 0 ? std::optional<size_t>(d.parent) : std::nullopt;
    size_t t = sim.add_task(d.name, d.type, project, parent, d.units_per_assignment, d.reward);
    if (d.onboarding_qualification) {
      sim.tasks[t].onboarding_qualification =
          sim.add_qualification(d.onboarding_qualification, "Passed the onboarding of " + std::string(d.name));
      sim.tasks[t].onboarding_qualification_name = d.onboarding_qualification;
    }
  }

  // About six units per worker, as crowd work is spread.
  int per_provider = std::max(4, o.task_runs * o.units_per_run / (6 * static_cast<int>(providers.size())));
  Rng& rng = sim.rng();
  for (const std::string& p : providers) {
    for (int i = 0; i < per_provider; ++i) {
      bool blocked = rng.chance(0.03);
      Worker w = sim.add_worker(p, blocked);
      if (rng.chance(0.3)) sim.grant(w.id, english, rng.range(1, 5));
      if (rng.chance(0.2)) sim.grant(w.id, allowlist, 1);
      if (blocked) {
        sim.grant(w.id, blocked_list, 1);
        sim.add_worker_review(
            {.worker = w.id, .note = "blocked via review app", .updated_qualification = blocked_list, .value = 1,
             .blocked = true});
      }
    }
  }
}

size_t requester_of(const Sim& sim, const std::string& provider) {
  for (size_t i = 0; i < sim.requesters.size(); ++i)
    if (sim.requesters[i].provider == provider) return i;
  return 0;  // the mock requester stands in for a provider this schema lacks
}

// Later review decisions: a revoked allowlist grant, an updated language level, and
// feedback on a whole task for one worker of its first run.
void later_reviews(Sim& sim) {
  Row first = [&] {
    sql::Stmt s = sim.mephisto().db.prepare("SELECT worker_id, task_id FROM agents ORDER BY agent_id LIMIT 1");
    return s.step() ? s.row() : Row{};
  }();
  if (!first.empty())
    sim.add_worker_review({.worker = first[0].i, .note = "consistent quality across the task", .task = first[1].i});
  for (const Qualification& q : sim.qualifications) {
    if (q.name != "allowlist" && q.name != "english_native") continue;
    auto holder = std::find_if(sim.grants.begin(), sim.grants.end(), [&](const auto& g) { return g.second == q.id; });
    if (holder == sim.grants.end()) continue;
    int64_t worker = holder->first;
    sim.clock().advance_ms(sim.rng(), 60'000, 3'600'000);
    if (q.name == "allowlist") {
      sim.revoke(worker, q.id);
    } else {
      sim.grant(worker, q.id, 5);
      sim.add_worker_review(
          {.worker = worker, .note = "language level re-assessed", .updated_qualification = q.id, .value = 5});
    }
  }
}

}  // namespace

Report generate(const stdfs::path& out, const GenerateOptions& o) {
  if (o.task_runs < 1 || o.units_per_run < 1)
    throw UsageError("mephisto-sample: --task-runs and --units-per-run must be at least 1.");
  if (o.media_fraction < 0 || o.media_fraction > 1)
    throw UsageError("mephisto-sample: --media-fraction must be between 0 and 1.");
  check_output_dir(out);
  fs::mkdirs(out);

  // Every seed starts on its own day of 2023, so data dirs of different seeds differ in dates too.
  int64_t start = parse_date("2023-01-02 09:00:00")->wall_us + static_cast<int64_t>(o.seed % 365) * kDay;
  // Rows written before the second run carry the older seconds-only date form; legacy
  // schemas (CURRENT_TIMESTAMP defaults) have only that form.
  Sim sim(out, mix(o.seed, o.legacy ? "legacy" : "final"), o.legacy, false, Clock(start, LLONG_MAX));
  std::vector<std::string> providers = o.legacy ? std::vector<std::string>{"mock", "prolific"}
                                                 : std::vector<std::string>{"mock", "mturk", "prolific"};
  if (o.empty) {
    sim.create_databases({});
    sim.finish();
    return {};
  }
  sim.create_databases(providers);
  build_world(sim, o, providers);

  for (int i = 0; i < o.task_runs; ++i) {
    RunPlan plan;
    plan.task = static_cast<size_t>(i) % sim.tasks.size();
    const TaskDef& def = task_defs()[plan.task];
    plan.requester = requester_of(sim, def.providers[static_cast<size_t>(sim.tasks[plan.task].runs) % def.providers.size()]);
    plan.units = o.units_per_run;
    plan.completed = i + 2 < o.task_runs;  // the two latest runs are still going
    plan.media_fraction = o.media_fraction;
    sim.add_run(plan);
    if (i == 0 && !o.legacy) sim.clock().set_seconds_form_until(sim.clock().now());
  }
  later_reviews(sim);
  sim.finish();
  return {sim.files().files(), sim.files().bytes()};
}

}  // namespace mdb::sample
