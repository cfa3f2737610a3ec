#include "tools/sample/content.h"

#include <algorithm>
#include <cmath>

#include "formats/pyjson.h"

namespace mdb::sample {

namespace {

const std::vector<std::string> kWords = {
    "the", "a", "image", "shows", "person", "dog", "cat", "street", "car", "tree", "house", "sky", "blue", "red",
    "green", "small", "large", "very", "quite", "clear", "blurry", "picture", "answer", "question", "think", "because",
    "maybe", "not", "sure", "looks", "like", "there", "is", "are", "two", "three", "several", "people", "walking",
    "sitting", "near", "next", "to", "in", "on", "of", "and", "but", "with", "without", "background", "foreground",
    "left", "right", "corner", "center", "text", "sign", "reads", "label", "category", "correct", "wrong", "review",
    "sentence", "positive", "negative", "neutral", "tone", "sarcastic", "friendly", "angry", "happy", "sad", "movie",
    "book", "restaurant", "service", "food", "price", "quality", "delivery", "late", "early", "great", "terrible",
    "okay", "would", "recommend", "again", "never", "always", "often", "sometimes", "hello", "thanks", "please",
    "how", "what", "where", "when", "why", "you", "I", "we", "they", "it", "this", "that", "my", "your", "favourite",
    "hobby", "weekend", "travel", "music", "cooking", "garden", "weather", "today", "yesterday", "tomorrow", "speaker",
    "says", "noise", "silence", "laughs", "unclear", "audio", "recording", "segment", "word", "pause", "repeat",
    "naïve", "café", "résumé", "Zürich", "Привет", "спасибо", "данные", "日本語", "テスト", "数据", "🙂", "👍",
    "O'Brien", "don't", "it's", "\"quoted\"", "back\\slash", "tab\there",
};

const std::vector<std::string> kLabels = {"cat", "dog", "bird", "car", "bicycle", "person", "tree", "building",
                                          "food", "other"};

std::string uuid(Rng& rng) {
  return rng.hex(8) + "-" + rng.hex(4) + "-4" + rng.hex(3) + "-a" + rng.hex(3) + "-" + rng.hex(12);
}

// A time like Python's time.time(): seconds with a microsecond-ish fraction.
double unix_time(double base, Rng& rng) { return std::floor(base) + static_cast<double>(rng.below(1'000'000)) / 1e6; }

void write_uploads(PyJsonWriter& w, const std::vector<Upload>& uploads) {
  w.key("files");
  w.begin_array();
  for (const Upload& u : uploads) {
    w.begin_object();
    w.key("filename");
    w.string(u.name);
    w.key("mimetype");
    w.string(u.mimetype);
    w.key("size");
    w.integer(static_cast<int64_t>(u.size));
    w.end_object();
  }
  w.end_array();
}

void write_times(PyJsonWriter& w, const AgentDataSpec& spec) {
  w.key("times");
  w.begin_object();
  w.key("task_start");
  w.real(spec.start);
  w.key("task_end");
  if (spec.finished) w.real(spec.end);
  else w.null();
  w.end_object();
}

void labeling_inputs(PyJsonWriter& w, Rng& rng) {
  w.begin_object();
  w.key("image_url");
  w.string("https://assets.example.org/images/img_" + std::to_string(rng.range(1, 99999)) + ".jpg");
  w.key("question");
  w.string(sentence(rng, 6, 14));
  w.key("choices");
  w.begin_array();
  for (int i = 0; i < 4; ++i) w.string(rng.pick(kLabels));
  w.end_array();
  w.end_object();
}

void labeling_agent(PyJsonWriter& w, const AgentDataSpec& spec, Rng& rng) {
  std::string& out = w.buffer();
  w.key("inputs");
  labeling_inputs(w, rng);
  w.key("outputs");
  w.begin_object();
  w.key("answers");
  w.begin_array();
  for (int item = 0; out.size() < spec.target_size; ++item) {
    w.begin_object();
    w.key("item");
    w.integer(item);
    w.key("label");
    w.string(rng.pick(kLabels));
    w.key("confidence");
    w.real(static_cast<double>(rng.range(1, 100)) / 100);
    w.key("comment");
    if (rng.chance(0.3)) w.null();
    else w.string(sentence(rng, 4, 40));
    w.key("time_ms");
    w.integer(rng.range(800, 45'000));
    w.key("skipped");
    w.boolean(rng.chance(0.05));
    w.end_object();
  }
  w.end_array();
  if (spec.finished) {
    w.key("feedback");
    w.string(sentence(rng, 3, 30));
    w.key("rating");
    w.integer(rng.range(1, 5));
  }
  write_uploads(w, spec.uploads);
  w.end_object();
}

void chat_agent(PyJsonWriter& w, const AgentDataSpec& spec, Rng& rng) {
  std::string& out = w.buffer();
  w.key("inputs");
  w.begin_object();
  w.key("persona");
  w.begin_array();
  for (int i = 0; i < 3; ++i) w.string(sentence(rng, 4, 10));
  w.end_array();
  w.end_object();
  w.key("outputs");
  w.begin_object();
  w.key("messages");
  w.begin_array();
  double t = spec.start;
  for (int turn = 0; out.size() < spec.target_size; ++turn) {
    t = std::min(spec.end, t + static_cast<double>(rng.range(2'000, 40'000)) / 1000);
    w.begin_object();
    w.key("id");
    w.string(turn % 2 == 0 ? "Chat Agent 1" : "Chat Agent 2");
    w.key("text");
    w.string(sentence(rng, 3, 45));
    w.key("timestamp");
    w.real(unix_time(t, rng));
    w.key("episode_done");
    w.boolean(false);
    w.key("message_id");
    w.string(uuid(rng));
    w.key("update_id");
    w.string(uuid(rng));
    w.end_object();
  }
  w.end_array();
  if (spec.finished) {
    w.key("final_submission");
    w.begin_object();
    w.key("engaging");
    w.integer(rng.range(1, 5));
    w.key("consistent");
    w.boolean(rng.chance(0.8));
    w.key("comment");
    w.string(sentence(rng, 3, 25));
    w.end_object();
  }
  write_uploads(w, spec.uploads);
  w.end_object();
}

void transcription_agent(PyJsonWriter& w, const AgentDataSpec& spec, Rng& rng) {
  std::string& out = w.buffer();
  w.key("inputs");
  w.begin_object();
  w.key("audio_url");
  w.string("https://assets.example.org/audio/clip_" + std::to_string(rng.range(1, 9999)) + ".wav");
  w.key("language");
  w.string(rng.chance(0.7) ? "en" : "ru");
  w.end_object();
  w.key("outputs");
  w.begin_object();
  w.key("segments");
  w.begin_array();
  double at = 0;
  while (out.size() < spec.target_size) {
    double len = static_cast<double>(rng.range(500, 9000)) / 1000;
    w.begin_object();
    w.key("start");
    w.real(at);
    w.key("end");
    w.real(at + len);
    w.key("speaker");
    w.string(rng.chance(0.5) ? "A" : "B");
    w.key("text");
    w.string(sentence(rng, 2, 30));
    w.end_object();
    at += len;
  }
  w.end_array();
  write_uploads(w, spec.uploads);
  w.end_object();
  w.key("requests");
  w.begin_object();
  w.key(uuid(rng));
  w.begin_object();
  w.key("target");
  w.string("check_transcript");
  w.key("response");
  w.string(spec.finished ? "ok" : "pending");
  w.end_object();
  w.end_object();
}

}  // namespace

TaskKind kind_of_task_type(const std::string& task_type) {
  if (task_type == "parlai_chat") return TaskKind::Chat;
  if (task_type == "remote_procedure") return TaskKind::Transcription;
  return TaskKind::Labeling;
}

std::string sentence(Rng& rng, int min_words, int max_words) {
  int n = static_cast<int>(rng.range(min_words, max_words));
  std::string out;
  for (int i = 0; i < n; ++i) {
    const std::string& word = rng.pick(kWords);
    if (i > 0) out += ' ';
    if (i == 0 && word[0] >= 'a' && word[0] <= 'z') {
      out += static_cast<char>(word[0] - 'a' + 'A');
      out.append(word, 1);
    } else {
      out += word;
    }
  }
  out += rng.chance(0.2) ? "?" : ".";
  return out;
}

std::string init_params(const RunInfo& run, Rng& rng) {
  auto or_missing = [](const std::string& s) { return s.empty() ? std::string("???") : s; };
  std::string yaml;
  yaml += "blueprint:\n";
  yaml += "  _blueprint_type: " + run.task_type + "\n";
  yaml += "  block_qualification: " + or_missing(run.block_qualification) + "\n";
  yaml += "  onboarding_qualification: " + or_missing(run.onboarding_qualification) + "\n";
  yaml += std::string("  use_onboarding: ") + (run.onboarding ? "true" : "false") + "\n";
  yaml += "  units_per_assignment: " + std::to_string(run.units_per_assignment) + "\n";
  yaml += "  data_json: /srv/mephisto/tasks/" + run.task_name + "/data.json\n";
  yaml += "  task_source: /srv/mephisto/tasks/" + run.task_name + "/webapp/build/bundle.js\n";
  yaml += "  link_task_source: false\n";
  yaml += "  timeout_time: " + std::to_string(rng.range(0, 3) * 600) + "\n";
  yaml += "provider:\n";
  yaml += "  _provider_type: " + run.provider_type + "\n";
  yaml += "  requester_name: " + run.requester_name + "\n";
  if (run.provider_type == "prolific") {
    yaml += "  prolific_estimated_completion_time_in_minutes: " + std::to_string(rng.range(5, 40)) + "\n";
    yaml += "  prolific_total_available_places: " + std::to_string(rng.range(10, 500)) + "\n";
    yaml += "  prolific_allow_list_group_name: null\n";
  }
  yaml += "architect:\n";
  yaml += run.provider_type == "mock" ? "  _architect_type: local\n  hostname: localhost\n  port: '3000'\n"
                                      : "  _architect_type: ec2\n  subdomain: lab-tasks\n  profile_name: mephisto\n";
  yaml += "task:\n";
  yaml += "  task_name: " + run.task_name + "\n";
  yaml += "  task_title: " + sentence(rng, 3, 7) + "\n";
  yaml += "  task_description: " + sentence(rng, 8, 20) + "\n";
  yaml += "  task_reward: " + python_float_repr(run.reward) + "\n";
  yaml += "  task_tags: annotation,research," + run.task_type + "\n";
  yaml += "  assignment_duration_in_seconds: " + std::to_string(rng.range(6, 60) * 60) + "\n";
  yaml += "  allowed_concurrent: " + std::to_string(rng.range(0, 2)) + "\n";
  yaml += "  maximum_units_per_worker: " + std::to_string(rng.range(0, 20)) + "\n";
  yaml += "  max_num_concurrent_units: " + std::to_string(rng.range(0, 50)) + "\n";
  yaml += "  submission_timeout: 600\n";
  yaml += "  post_install_script: ''\n";
  yaml += "  force_rebuild: false\n";
  yaml += "database:\n  _database_type: singleton\nlog_level: info\n";
  std::string out;
  append_json_string(out, yaml);
  return out;
}

std::string assign_data(TaskKind kind, int64_t assignment_id, int units, Rng& rng) {
  std::string out;
  PyJsonWriter w(out, -1);
  w.begin_object();
  w.key("shared");
  w.begin_object();
  w.key("batch");
  w.integer(assignment_id % 1000);
  w.key("instructions");
  w.string(sentence(rng, 10, 30));
  w.end_object();
  w.key("unit_data");
  w.begin_array();
  for (int i = 0; i < units; ++i) {
    if (kind == TaskKind::Labeling) {
      labeling_inputs(w, rng);
      continue;
    }
    w.begin_object();
    w.key(kind == TaskKind::Chat ? "persona" : "prompt");
    w.string(sentence(rng, 5, 15));
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

std::string agent_data(const AgentDataSpec& spec, Rng& rng) {
  std::string out;
  out.reserve(spec.target_size + 2048);
  PyJsonWriter w(out, -1);
  w.begin_object();
  switch (spec.kind) {
    case TaskKind::Labeling: labeling_agent(w, spec, rng); break;
    case TaskKind::Chat: chat_agent(w, spec, rng); break;
    case TaskKind::Transcription: transcription_agent(w, spec, rng); break;
  }
  write_times(w, spec);
  w.end_object();
  return out;
}

size_t agent_data_size(Rng& rng) {
  // Log-uniform between 2 KB and 59 KB: many small files, a tail of large ones.
  return static_cast<size_t>(2048.0 * std::exp(rng.uniform() * std::log(59.0 / 2.0)));
}

std::string agent_meta(double start, double end, Rng& rng) {
  std::string out;
  PyJsonWriter w(out, -1);
  w.begin_object();
  w.key("default");
  w.null();
  w.key("feedback");
  if (rng.chance(0.8)) w.null();
  else w.string(sentence(rng, 4, 20));
  w.key("task_end");
  w.real(end);
  w.key("task_start");
  w.real(start);
  w.key("tips");
  if (rng.chance(0.9)) {
    w.null();
  } else {
    w.begin_array();
    w.begin_object();
    w.key("header");
    w.string(sentence(rng, 2, 5));
    w.key("text");
    w.string(sentence(rng, 5, 20));
    w.key("id");
    w.string(uuid(rng));
    w.key("accepted");
    w.boolean(false);
    w.end_object();
    w.end_array();
  }
  w.key("worker_opinion");
  w.null();
  w.end_object();
  return out;
}

std::string onboarding_data(bool passed, Rng& rng) {
  std::string out;
  PyJsonWriter w(out, -1);
  w.begin_object();
  w.key("inputs");
  w.begin_object();
  w.key("onboarding_question");
  w.string(sentence(rng, 4, 12));
  w.end_object();
  w.key("outputs");
  w.begin_object();
  w.key("answer");
  w.string(sentence(rng, 1, 6));
  w.key("success");
  w.boolean(passed);
  w.end_object();
  w.end_object();
  return out;
}

Upload make_upload(int index, Rng& rng) {
  static const std::vector<std::pair<std::string, std::string>> kKinds = {
      {"photo_", ".jpg"}, {"recording_", ".webm"}, {"scan_", ".pdf"}};
  static const std::vector<std::string> kMime = {"image/jpeg", "audio/webm", "application/pdf"};
  size_t k = rng.below(kKinds.size());
  Upload u;
  u.name = kKinds[k].first + std::to_string(index) + kKinds[k].second;
  u.mimetype = kMime[k];
  u.size = static_cast<size_t>(rng.range(100 * 1024, 2 * 1024 * 1024));
  return u;
}

std::string upload_bytes(const Upload& upload, Rng& rng) {
  std::string bytes(upload.size, '\0');
  rng.fill(bytes.data(), bytes.size());
  return bytes;
}

std::vector<Asset> task_assets(const std::string& task_name, uint64_t task_seed) {
  Rng rng(task_seed);
  std::vector<Asset> assets;

  std::string js = "/*! " + task_name + " bundle, built by webpack */\n";
  size_t js_size = static_cast<size_t>(rng.range(150, 400)) * 1024;
  for (int fn = 0; js.size() < js_size; ++fn) {
    js += "function f" + std::to_string(fn) + "_" + rng.hex(6) + "(e,t,n){\"use strict\";var r=n(" +
          std::to_string(rng.range(0, 999)) + "),o=\"" + sentence(rng, 2, 8) + "\";return r.render(e,t,o)}\n";
  }
  assets.push_back({"assets/bundle.js", std::move(js)});

  std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + task_name +
                     "</title></head>\n<body>\n<h1>Instructions</h1>\n";
  int paragraphs = static_cast<int>(rng.range(10, 40));
  for (int i = 0; i < paragraphs; ++i) html += "<p>" + sentence(rng, 10, 40) + "</p>\n";
  html += "</body></html>\n";
  assets.push_back({"assets/instructions.html", std::move(html)});

  std::string png = "\x89PNG\r\n\x1a\n";
  png.resize(static_cast<size_t>(rng.range(20, 80)) * 1024);
  rng.fill(png.data() + 8, png.size() - 8);
  assets.push_back({"assets/logo.png", std::move(png)});
  return assets;
}

}  // namespace mdb::sample
