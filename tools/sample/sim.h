#pragma once
// The simulation shared by generation and --mutate: a data dir's open databases (one
// transaction each), what it holds (projects, tasks, requesters, workers, qualifications),
// and the operations Mephisto performs on it, each writing the Mephisto rows, the
// provider datastore rows and the run files together so they stay consistent.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "datadir/registry.h"
#include "datadir/schema.h"
#include "platform/sqlite.h"
#include "tools/sample/content.h"
#include "tools/sample/files.h"
#include "tools/sample/random.h"
#include "tools/sample/rows.h"

namespace mdb::sample {

// One database with its transaction and row writer.
struct OpenDb {
  // `create`: make this schema first (the database must be empty).
  OpenDb(sql::Db handle, std::optional<mdb::SchemaKind> create);
  sql::Db db;
  bool created;
  std::optional<sql::Transaction> txn;
  std::optional<Rows> rows;
};

// Simulated time. Rows get "YYYY-MM-DD HH:MM:SS.SSS" dates, except rows dated before
// `seconds_form_until`, which get the older "YYYY-MM-DD HH:MM:SS" form.
class Clock {
 public:
  Clock(int64_t start_us, int64_t seconds_form_until) : us_(start_us), seconds_until_(seconds_form_until) {}
  void advance_ms(Rng& rng, int64_t lo, int64_t hi) { us_ += rng.range(lo, hi) * 1000; }
  void set_seconds_form_until(int64_t us) { seconds_until_ = us; }
  int64_t now() const { return us_; }
  std::string date() const { return date_at(us_); }
  std::string date_at(int64_t us) const;

 private:
  int64_t us_;
  int64_t seconds_until_;
};

struct Project {
  int64_t id = 0;
  std::string name;
};

struct Task {
  int64_t id = 0;
  std::string name;
  std::string type;
  std::string dir_name;  // project name, or NO_PROJECT
  int units_per_assignment = 1;
  double reward = 1.0;
  int64_t onboarding_qualification = 0;  // 0: no onboarding
  std::string onboarding_qualification_name;
  int runs = 0;  // runs made so far (picks the provider of tasks that use several)
};

struct Requester {
  int64_t id = 0;
  std::string name;
  std::string provider;
};

struct Worker {
  int64_t id = 0;
  std::string name;
};

struct Qualification {
  int64_t id = 0;
  std::string name;
};

struct RunPlan {
  size_t task = 0;       // index into tasks
  size_t requester = 0;  // index into requesters
  int units = 1;
  bool completed = true;  // a finished run: every unit reviewed or expired
  double media_fraction = 0;
};

class Sim {
 public:
  // `key`: where ids and contents derive from; `check_ids`: also make sure a new id is not
  // stored yet (when mutating a data dir).
  Sim(stdfs::path root, uint64_t key, bool legacy, bool check_ids, Clock clock);

  // Databases.
  OpenDb& mephisto() { return *dbs_.at("mephisto"); }
  OpenDb* provider(const std::string& provider_type);
  void create_databases(const std::vector<std::string>& provider_types);
  void open_databases();  // existing ones, for --mutate
  // Commits every transaction, closes the databases and fixes the modification times.
  void finish();

  // The world.
  std::vector<Project> projects;
  std::vector<Task> tasks;
  std::vector<Requester> requesters;
  std::map<std::string, std::vector<Worker>> workers;  // by provider type
  std::vector<Qualification> qualifications;
  std::set<std::pair<int64_t, int64_t>> grants;  // (worker_id, qualification_id)

  // Operations, as Mephisto performs them.
  int64_t add_project(const std::string& name);
  int64_t add_requester(const std::string& name, const std::string& provider);
  size_t add_task(const std::string& name, const std::string& type, std::optional<size_t> project,
                  std::optional<size_t> parent, int units_per_assignment, double reward);
  int64_t add_qualification(const std::string& name, const std::optional<std::string>& description);
  Worker add_worker(const std::string& provider, bool blocked);
  // Grants `qualification` to `worker`, or updates the value of an existing grant.
  void grant(int64_t worker, int64_t qualification, int64_t value);
  // Removes a grant, as the review app's "revoke" does, and records the review.
  void revoke(int64_t worker, int64_t qualification);
  // A review of a worker that concerns no unit: a qualification granted, updated or
  // revoked, a block, feedback on a whole task. Only the final schema has such rows
  // (unit_review needs a unit).
  struct WorkerReview {
    int64_t worker = 0;
    std::string note;
    std::optional<int64_t> task = std::nullopt;
    std::optional<int64_t> updated_qualification = std::nullopt;
    std::optional<int64_t> value = std::nullopt;
    std::optional<int64_t> revoked_qualification = std::nullopt;
    bool blocked = false;
  };
  void add_worker_review(const WorkerReview& review);
  void add_run(const RunPlan& plan);

  // Review of a unit whose agent finished: statuses of unit, agent and provider rows, and
  // the review row. `agent_status`: approved, rejected or soft_rejected.
  void review_unit(int64_t unit_id, int64_t agent_id, int64_t worker_id, int64_t task_id, const std::string& provider,
                   const std::string& agent_status);

  // Replaces an agent's agent_data.json (relative dir) with new content, in place.
  void rewrite_agent_data(const stdfs::path& agent_dir, TaskKind kind, int64_t agent_id);

  Clock& clock() { return clock_; }
  Rng& rng() { return rng_; }
  Files& files() { return files_; }

 private:
  // What the rows and files of one run share.
  struct RunContext {
    const Task& task;
    const Requester& req;
    const RunPlan& plan;
    int64_t run_id;
    std::string run_text;  // the id as provider datastores store it
    stdfs::path dir;
    bool sandbox;
    TaskKind kind;
    std::string study_id;     // prolific
    std::string hit_type_id;  // mturk
  };
  void add_prolific_run(RunContext& run);
  void add_mturk_run(RunContext& run);
  void add_assignment(const RunContext& run, int units);
  void add_unit(const RunContext& run, int64_t assignment_id, int index, std::set<int64_t>& busy);
  void add_provider_unit(const RunContext& run, int64_t unit_id, bool taken, const std::string& submission_id,
                         bool expired);
  int64_t new_id(const std::string& db_name, const std::string& table, const std::string& pk);
  Worker pick_worker(const std::string& provider, const std::set<int64_t>& avoid);
  void add_onboarding(const Task& task, const Requester& req, int64_t run_id, const stdfs::path& run_dir, int count);
  void add_review(int64_t unit_id, int64_t worker_id, int64_t task_id, const std::string& status, int64_t at_us);
  void write_agent_files(const stdfs::path& dir, TaskKind kind, int64_t agent_id, int64_t start_us, bool finished,
                         double media_fraction);
  const std::vector<Asset>& assets_of(const Task& task);

  stdfs::path root_;
  uint64_t key_;
  bool legacy_;
  bool check_ids_;
  Clock clock_;
  Rng rng_;
  Ids ids_;
  Files files_;
  std::map<std::string, std::unique_ptr<OpenDb>> dbs_;  // "mephisto" or a provider type
  std::map<std::string, std::vector<Asset>> assets_;    // by task name
  std::set<std::string> participant_groups_;            // qualification names with a prolific group
  std::set<std::string> mturk_qualifications_;
};

// Where the run files of a task run live, relative to the data dir.
stdfs::path run_dir(const std::string& project_dir_name, int64_t task_run_id);

}  // namespace mdb::sample
