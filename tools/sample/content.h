#pragma once
// The contents of run files and of text columns, shaped like what Mephisto tasks write:
// assign_data.json, agent_data.json (answers, timings, free text, chat messages),
// agent_meta.json, onboarding data, uploads, per-task assets and task_runs.init_params.
// JSON is written as Python's json.dump writes it (Mephisto's writer).
#include <cstdint>
#include <string>
#include <vector>

#include "tools/sample/random.h"

namespace mdb::sample {

// What a task collects; decides the shape of its files.
enum class TaskKind { Labeling, Chat, Transcription };
TaskKind kind_of_task_type(const std::string& task_type);

// Free text: sentences of common words with some accented, Cyrillic, CJK and emoji words.
std::string sentence(Rng& rng, int min_words, int max_words);

struct RunInfo {
  std::string task_name;
  std::string task_type;
  std::string provider_type;
  std::string requester_name;
  double reward = 0;
  int units_per_assignment = 1;
  bool onboarding = false;
  std::string block_qualification;  // empty: none
  std::string onboarding_qualification;
};

// task_runs.init_params: the run's Hydra config as YAML, stored as a JSON string literal.
std::string init_params(const RunInfo& run, Rng& rng);

// One item of an assignment (what a unit shows its worker).
std::string assign_data(TaskKind kind, int64_t assignment_id, int units, Rng& rng);

struct Upload {
  std::string name;
  std::string mimetype;
  size_t size = 0;
};

struct AgentDataSpec {
  TaskKind kind = TaskKind::Labeling;
  size_t target_size = 4096;   // the file ends up between this and this + ~1 KB
  bool finished = true;        // false: an agent that left mid-task (partial outputs)
  double start = 0;            // Unix times
  double end = 0;
  std::vector<Upload> uploads; // files saved beside agent_data.json
};
std::string agent_data(const AgentDataSpec& spec, Rng& rng);
// A target size for agent_data.json between 2 KB and 59 KB, skewed towards small files.
size_t agent_data_size(Rng& rng);

std::string agent_meta(double start, double end, Rng& rng);
std::string onboarding_data(bool passed, Rng& rng);

// An upload of 0.1-2 MB of incompressible bytes.
Upload make_upload(int index, Rng& rng);
std::string upload_bytes(const Upload& upload, Rng& rng);

// The files every run of a task carries, byte-identical across the task's runs
// (generated from the task's own seed).
struct Asset {
  std::string name;
  std::string bytes;
};
std::vector<Asset> task_assets(const std::string& task_name, uint64_t task_seed);

}  // namespace mdb::sample
