#include "import/file_planner.h"

#include "import/file_plan.h"

#include <algorithm>
#include <set>

#include "base/error.h"
#include "datadir/datadir.h"
#include "dump/dump_values.h"
#include "formats/safe_path.h"
#include "platform/env.h"

namespace mdb {

namespace {

bool is_decimal(std::string_view s) {
  return !s.empty() && s.size() < 20 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

FilePlanner::FilePlanner(Dump& dump, const KeyMap& keys, const stdfs::path& data_dir)
    : dump_(dump), keys_(keys), data_dir_(data_dir) {}

// A dir named by the key of a dump row follows that row (assignment, agent, onboarding agent).
std::string FilePlanner::mapped_dir(const std::string& table, const std::string& part) {
  // A dir's files come together: one answer a dir, not one a file.
  auto& [last_part, last_mapped] = last_mapped_[table];
  if (!last_part.empty() && part == last_part) return last_mapped;
  last_part = part;
  last_mapped = part;
  std::string pk(find_table_spec(DbId::Mephisto, table)->pk);
  DumpTable* dt = dump_.table(DbId::Mephisto, table);
  if (!is_decimal(part) || !dt || dt->column(pk) < 0) return last_mapped;
  Value key = Value::integer(*parse_integer_text(part));
  if (dump_.has_value(*dt, dt->column(pk), key)) last_mapped = keys_.map_key(DbId::Mephisto, table, pk, key).to_string();
  return last_mapped;
}

std::pair<std::string, std::string> FilePlanner::destination(const DumpFile& f, const RunFate& run,
                                                             std::vector<std::string> parts) {
  auto project = keys_.project_names.find(parts[0]);
  if (project != keys_.project_names.end()) parts[0] = project->second;
  parts[1] = std::to_string(run.id);
  bool dirs_follow = parts.size() > 3;  // the last part is the file itself
  if (dirs_follow && parts[2] == "onboarding" && parts.size() > 4 && parts[3].rfind("onboarding_", 0) == 0) {
    std::string id = parts[3].substr(11);
    if (auto sub = keys_.onboarding_ids.find(id); sub != keys_.onboarding_ids.end()) id = sub->second;
    parts[3] = "onboarding_" + mapped_dir("onboarding_agents", id);
  } else if (dirs_follow) {
    parts[2] = mapped_dir("assignments", parts[2]);
    if (parts.size() > 4) parts[3] = mapped_dir("agents", parts[3]);
  }
  if (parts[0] != last_run_.first || run.id != last_run_id_) {  // a run's files come together
    last_run_ = {parts[0], run_dir_path(parts[0], run.id).string()};
    last_run_id_ = run.id;
  }
  const std::string& run_dir = last_run_.second;
  std::string dest = run_dir;
  // Member names are checked (zip), ids are integers, but an original -r dump's substitutions are any text.
  for (size_t i = 2; i < parts.size(); ++i) {
    if (std::string problem = path_component_problem(parts[i]); !problem.empty())
      throw Error("The dump's file runs/" + dump_.path(f) + " would go to a path whose component \"" +
                  parts[i] + "\", from the dump's dump_metadata, " + problem +
                  " (docs/PATHS.md).",
                  ErrorKind::Damaged);
    dest += '/';
    dest += parts[i];
  }
  return {run_dir, dest};
}

// The zip checked every member name (relative_path_problem): no empty, "." or ".." component.
std::vector<std::string> FilePlanner::parts_after_runs(const std::string& member) {
  std::vector<std::string> parts;
  for (size_t at = 5, end; at <= member.size(); at = end + 1) {
    end = std::min(member.find('/', at), member.size());
    parts.emplace_back(member, at, end - at);
  }
  return parts;
}

void FilePlanner::plan(ImportOutcome& out) {
  std::set<std::string> new_dirs;
  FilePlanWriter writer(dump_, out.files);
  dump_.for_each_file([&](const DumpFile& f) {
    const std::string& member = dump_.member(f).name;
    std::vector<std::string> parts = parts_after_runs(member);
    if (parts.size() < 3) return;
    std::optional<int64_t> run = parse_integer_text(parts[1]);
    auto it = run ? keys_.runs.find(*run) : keys_.runs.end();
    if (it == keys_.runs.end()) return;
    auto [run_dir, dest] = destination(f, it->second, std::move(parts));
    bool new_run = it->second.new_here;
    if (!new_run && fs::exists(data_dir_ / dest)) return;  // an existing run's files win
    if (new_run) new_dirs.insert(run_dir);
    if (dest.size() == member.size() + 5 && dest.compare(5, std::string::npos, member) == 0)
      dest.clear();  // "data/" + member: the plan's row holds no path then
    writer.add({f, std::move(dest), new_run});
  });
  writer.finish();
  out.new_run_dirs.assign(new_dirs.begin(), new_dirs.end());
}

}  // namespace mdb
