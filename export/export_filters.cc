#include "export/export_filters.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "dump/dump_values.h"
#include "export/export_dump.h"
#include "formats/date.h"
#include "base/error.h"
#include "base/suggest.h"

namespace mdb {

namespace {

std::vector<std::string> unique(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string& v : values)
    if (seen.insert(v).second) out.push_back(v);
  return out;
}

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

// The original's message for values that match nothing, naming the option.
[[noreturn]] void not_found(const std::string& what, const std::string& option,
                            const std::vector<std::string>& provided, const std::vector<std::string>& missing,
                            const std::string& extra = {}) {
  throw Error("You provided incorrect " + what + " (" + option + "). Provided " + std::to_string(provided.size()) +
              " values: " + join(provided) + ". Not found " + std::to_string(missing.size()) +
              " values: " + join(missing) + "." + extra, ErrorKind::NotFound);
}

// " Did you mean ...?" for the missing values among `candidates`; with several missing values each
// suggestion names the value it is for.
std::string suggestions(const std::vector<std::string>& missing, const std::vector<std::string>& candidates) {
  if (missing.size() == 1) return did_you_mean_sentence(closest_names(missing[0], candidates));
  std::string out;
  for (const std::string& m : missing) {
    std::string s = did_you_mean_sentence(closest_names(m, candidates));
    if (!s.empty()) out += " For " + m + ":" + s;
  }
  return out;
}

std::vector<std::string> column_values(const sql::Db& db, const std::string& sql) {
  std::vector<std::string> out;
  sql::Stmt s = db.prepare(sql);
  while (s.step())
    if (s.column(0).kind == StorageClass::Text) out.push_back(s.column_text(0));
  return out;
}

// Looks each value up with `sql` (one bound parameter, returning ids); values that find nothing
// are reported, with the closest of the names `names_sql` lists when given. `as_int`: the value is
// bound as an integer id (text that is not one finds nothing).
std::vector<int64_t> lookup(const sql::Db& db, const std::string& sql, const std::vector<std::string>& values,
                            bool as_int, const std::string& what, const std::string& option,
                            const std::string& names_sql = {}) {
  std::vector<int64_t> ids;
  std::vector<std::string> missing;
  sql::Stmt s = db.prepare(sql);
  for (const std::string& v : values) {
    std::optional<int64_t> id = as_int ? parse_integer_text(v) : std::nullopt;
    if (as_int && !id) {
      missing.push_back(v);
      continue;
    }
    if (id)
      s.bind(1, *id);
    else
      s.bind(1, v);
    bool found = false;
    while (s.step()) {
      ids.push_back(s.column_int(0));
      found = true;
    }
    s.reset();
    if (!found) missing.push_back(v);
  }
  if (!missing.empty())
    not_found(what, option, values, missing,
              names_sql.empty() ? std::string() : suggestions(missing, column_values(db, names_sql)));
  return ids;
}

std::vector<int64_t> runs_of_tasks(const sql::Db& db, const std::vector<int64_t>& task_ids) {
  std::vector<int64_t> runs;
  sql::Stmt s = db.prepare("SELECT task_run_id FROM main.task_runs WHERE task_id = ?1");
  for (int64_t t : task_ids) {
    s.bind(1, t);
    while (s.step()) runs.push_back(s.column_int(0));
    s.reset();
  }
  return runs;
}

DateTime as_utc(const DateTime& d) { return DateTime{d.instant(), std::nullopt}; }

std::vector<int64_t> runs_since(const sql::Db& db, const std::string& text) {
  std::optional<DateTime> since = parse_date(text);
  if (!since)
    throw Error("Could not parse date '" + text +
                "'. Expected ISO 8601 format in UTC timezone.\n For example:\n"
                "\t - 2024-01-24\n\t - 2024-01-24T01:10:30");
  std::vector<int64_t> runs;
  sql::Stmt s = db.prepare("SELECT task_run_id, creation_date FROM main.task_runs ORDER BY task_run_id");
  while (s.step()) {
    Value created = s.column(1);
    std::optional<DateTime> when = stored_date(created);
    if (!when)
      throw not_a_date(std::string(db_spec(DbId::Mephisto).file), "task_runs",
                       "task_run_id = " + std::to_string(s.column_int(0)), "creation_date", created);
    if (when->instant() >= since->instant()) runs.push_back(s.column_int(0));
  }
  if (runs.empty())
    throw Error("Nothing to export - no TaskRuns found that were created after " + format_python_str(as_utc(*since)) +
                ".", ErrorKind::NotFound);
  return runs;
}

std::vector<std::string> json_strings(const Value& v) {
  std::vector<std::string> out;
  if (v.kind != StorageClass::Text) return out;
  auto j = nlohmann::json::parse(v.s, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string())
      out.push_back(e.get<std::string>());
    else if (e.is_number_integer())
      out.push_back(std::to_string(e.get<int64_t>()));
  }
  return out;
}

// Task runs imported under the labels: `imported_data` rows of table task_runs whose decoded
// `data_labels` hold one of them.
std::vector<int64_t> runs_with_labels(const sql::Db& db, const std::vector<std::string>& labels) {
  std::set<std::string> wanted(labels.begin(), labels.end()), matched, available;
  std::vector<int64_t> runs;
  sql::Stmt s = db.prepare(
      "SELECT table_name, data_labels, unique_field_names, unique_field_values FROM main.imported_data ORDER BY id");
  sql::Stmt exists = db.prepare("SELECT count(*) FROM main.task_runs WHERE task_run_id = ?1");
  while (s.step()) {
    bool hit = false;
    for (const std::string& label : json_strings(s.column(1))) {
      available.insert(label);
      if (!wanted.count(label)) continue;
      matched.insert(label);
      hit = true;
    }
    if (!hit || s.column_text(0) != "task_runs") continue;
    std::vector<std::string> names = json_strings(s.column(2)), values = json_strings(s.column(3));
    for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
      std::optional<int64_t> id = names[i] == "task_run_id" ? parse_integer_text(values[i]) : std::nullopt;
      if (!id) continue;
      exists.bind(1, *id);
      if (exists.step() && exists.column_int(0) > 0) runs.push_back(*id);
      exists.reset();
    }
  }
  std::vector<std::string> missing;
  for (const std::string& l : labels)
    if (!matched.count(l)) missing.push_back(l);
  if (!missing.empty()) {
    std::vector<std::string> all(available.begin(), available.end());
    not_found("TaskRun labels", "-l/--labels", labels, missing,
              all.empty() ? " There are no labels in this data directory."
                          : " There are " + std::to_string(all.size()) + " available values: " + join(all) + "." +
                                suggestions(missing, all));
  }
  return runs;
}

}  // namespace

ExportRequest resolve_filters(const sql::Db& db, const ExportOptions& o) {
  ExportRequest r;
  if (o.qualification_only) {
    r.kind = DumpKind::QualificationsOnly;
    if (!o.qualification_names.empty())
      r.qualification_ids =
          lookup(db, "SELECT qualification_id FROM main.qualifications WHERE qualification_name = ?1",
                 unique(o.qualification_names), false, "qualification names", "-qn/--qualification-names",
                 "SELECT qualification_name FROM main.qualifications ORDER BY qualification_name");
    return r;
  }
  // The runs in the order the original lists them: -tri as given, -l as the labelled rows
  // name them, the others by id.
  std::vector<int64_t> runs;
  if (!o.task_names.empty()) {
    runs = runs_of_tasks(db, lookup(db, "SELECT task_id FROM main.tasks WHERE task_name = ?1", unique(o.task_names),
                                    false, "Task names", "-tn/--export-tasks-by-names",
                                    "SELECT task_name FROM main.tasks ORDER BY task_name"));
    std::sort(runs.begin(), runs.end());
  } else if (!o.task_ids.empty()) {
    runs = runs_of_tasks(db, lookup(db, "SELECT task_id FROM main.tasks WHERE task_id = ?1", unique(o.task_ids), true,
                                    "Task IDs", "-ti/--export-tasks-by-ids"));
    std::sort(runs.begin(), runs.end());
  } else if (!o.task_run_ids.empty()) {
    runs = lookup(db, "SELECT task_run_id FROM main.task_runs WHERE task_run_id = ?1", unique(o.task_run_ids), true,
                  "TaskRun IDs", "-tri/--export-task-runs-by-ids");
  } else if (o.since_date) {
    runs = runs_since(db, *o.since_date);
  } else if (!o.labels.empty()) {
    runs = runs_with_labels(db, unique(o.labels));
  } else {
    return r;  // a full dump
  }
  std::set<int64_t> seen;
  std::erase_if(runs, [&](int64_t id) { return !seen.insert(id).second; });
  if (runs.empty())
    throw Error("Nothing to export - no TaskRuns found (none matches the filter).", ErrorKind::NotFound);
  r.kind = DumpKind::Partial;
  r.run_ids = std::move(runs);
  return r;
}

}  // namespace mdb
