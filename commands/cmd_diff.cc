// `mephisto db diff A B` (docs/INSPECT.md, "diff"): what changed from A to B, each a snapshot,
// `now` (the live data dir), a backup zip or a dump zip. Files are merged in manifest path
// order and compared by content id (a snapshot's from its manifest: no blob is read); a
// database whose content ids differ is materialized in a private temp dir of the cache dir and
// compared row by row (commands/diff_rows.h), and the task runs it touches are named.
// Exit 0 with or without differences, as restic's diff.
#include <algorithm>
#include <optional>

#include "commands/commands.h"
#include "commands/diff_rows.h"
#include "commands/diff_sides.h"
#include "commands/outcome.h"
#include "commands/snapshot_view.h"
#include "platform/temp_dir.h"

namespace mdb {

namespace {

using store::Entry;
using store::EntryKind;
using json = nlohmann::ordered_json;

constexpr const char* kTempPrefix = ".mephisto-diff-";

struct FileChange {
  std::string path;
  char mark;  // '+', '-', 'M'
  std::string type;
  std::optional<uint64_t> before, after;
};

struct DbChange {
  std::string path;
  std::vector<TableDiff> tables;
};

bool is_file(EntryKind k) { return k == EntryKind::File || k == EntryKind::HardLink; }

std::optional<uint64_t> size_of(const Entry& e) {
  if (is_file(e.kind)) return e.size;
  return std::nullopt;
}

class Differ {
 public:
  Differ(DiffSide& a, DiffSide& b, const stdfs::path& scratch)
      : a_(a), b_(b), scratch_(scratch), runs_only_(a.files_under_runs_only() || b.files_under_runs_only()) {}

  void run(Console& console) {
    merge_files();
    RowDiffer rows;
    for (const DbSpec& spec : databases()) compare_database(console, rows, spec);
    std::stable_sort(files_.begin(), files_.end(),
                     [](const FileChange& x, const FileChange& y) { return store::path_less(x.path, y.path); });
  }
  const std::vector<FileChange>& files() const { return files_; }
  const std::vector<DbChange>& databases_changed() const { return dbs_; }
  const std::vector<RunDiff>& task_runs() const { return runs_; }

 private:
  bool counted(const std::string& path) const {
    return !runs_only_ || path == "data/runs" || path.rfind("data/runs/", 0) == 0;
  }
  // A database of the data dir, as a regular file: a symlink there is compared as a symlink,
  // never followed.
  static bool is_db(const Entry& e) {
    if (e.kind != EntryKind::File) return false;
    for (const DbSpec& s : databases())
      if (s.file == e.path) return true;
    return false;
  }

  // One side pushes its entries (a walk of `now` streams them), the other is pulled along.
  void merge_files() {
    bool push_a = a_.streams() && !b_.streams();
    DiffSide& pusher = push_a ? a_ : b_;
    DiffSide& puller = push_a ? b_ : a_;
    char pushed_only = push_a ? '-' : '+', pulled_only = push_a ? '+' : '-';
    Entry x;
    bool hx = puller.next(x);
    pusher.for_each([&](Entry&& y) {
      for (; hx && store::path_less(x.path, y.path); hx = puller.next(x)) one_side(x, pulled_only);
      if (!hx || x.path != y.path) return one_side(y, pushed_only);
      push_a ? both(y, x) : both(x, y);
      hx = puller.next(x);
    });
    for (; hx; hx = puller.next(x)) one_side(x, pulled_only);
  }

  void one_side(Entry& e, char mark) {
    if (is_db(e)) (mark == '-' ? db_a_ : db_b_).emplace(e.path, e);
    if (!counted(e.path)) return;
    FileChange f{display_path(e), mark, type_name(e.kind), {}, {}};
    (mark == '-' ? f.before : f.after) = size_of(e);
    files_.push_back(std::move(f));
  }

  void both(Entry& x, Entry& y) {
    if (is_db(x) && is_db(y)) {
      db_a_.emplace(x.path, x);
      db_b_.emplace(y.path, y);
      return;
    }
    if (!counted(x.path) || !differ(x, y)) return;
    std::string type = type_name(x.kind) == type_name(y.kind) ? type_name(y.kind)
                                                              : std::string(type_name(x.kind)) + " -> " + type_name(y.kind);
    files_.push_back(FileChange{display_path(y), 'M', type, size_of(x), size_of(y)});
  }

  bool differ(const Entry& x, const Entry& y) {
    if (is_file(x.kind) != is_file(y.kind) || (!is_file(x.kind) && x.kind != y.kind)) return true;
    if (is_file(x.kind)) return x.size != y.size || a_.content(x) != b_.content(y);
    if (x.kind == EntryKind::Symlink) return x.target != y.target;
    if (x.kind == EntryKind::CharDevice || x.kind == EntryKind::BlockDevice)
      return x.device_major != y.device_major || x.device_minor != y.device_minor;
    return false;
  }

  static const Entry* find(const std::map<std::string, Entry>& m, std::string_view path) {
    auto it = m.find(std::string(path));
    return it == m.end() ? nullptr : &it->second;
  }

  void compare_database(Console& console, RowDiffer& rows, const DbSpec& spec) {
    const Entry* ea = find(db_a_, spec.file);
    const Entry* eb = find(db_b_, spec.file);
    if (ea && eb && !ea->chunks.empty() && ea->chunks == eb->chunks) return;  // same content ids: not read
    std::optional<DbTables> ta, tb;
    try {
      ta = a_.tables(spec.id, ea, scratch_ / "a");
      tb = b_.tables(spec.id, eb, scratch_ / "b");
    } catch (const Error& e) {
      console.warn("Warning: the rows of " + std::string(spec.file) + " could not be compared (" + e.what() +
                   "); it is listed as changed.");
      if (ea && eb) files_.push_back(FileChange{ea->path, 'M', "file", size_of(*ea), size_of(*eb)});
      return;
    }
    if (!ta && !tb) return;
    std::vector<TableDiff> tables = rows.compare(spec.id, ta ? &*ta : nullptr, tb ? &*tb : nullptr);
    if (spec.id == DbId::Mephisto) runs_ = rows.task_runs(ta ? &*ta : nullptr, tb ? &*tb : nullptr);
    if (tables.empty()) return;
    if (ea && eb && counted(ea->path)) files_.push_back(FileChange{ea->path, 'M', "file", size_of(*ea), size_of(*eb)});
    dbs_.push_back(DbChange{std::string(spec.file), std::move(tables)});
  }

  DiffSide& a_;
  DiffSide& b_;
  stdfs::path scratch_;
  bool runs_only_;
  std::map<std::string, Entry> db_a_, db_b_;  // the database files of each side
  std::vector<FileChange> files_;
  std::vector<DbChange> dbs_;
  std::vector<RunDiff> runs_;
};

std::string describe(const DiffSide& s) {
  std::string kind = s.kind();
  if (kind == "now") return "the data directory now";
  if (kind == "snapshot") return "snapshot " + s.name();
  return (kind == "dump" ? "dump " : "backup zip ") + s.name();
}

std::string change_word(char mark) { return mark == '+' ? "added" : mark == '-' ? "removed" : "changed"; }

json size_json(const std::optional<uint64_t>& n) { return n ? json(*n) : json(nullptr); }

std::string plural(uint64_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

void report_files(Console& console, const std::vector<FileChange>& files) {
  uint64_t added = 0, removed = 0, changed = 0, bytes_added = 0, bytes_removed = 0;
  json list = json::array();
  for (const FileChange& f : files) {
    uint64_t before = f.before.value_or(0), after = f.after.value_or(0);
    std::string line = std::string(1, f.mark) + " " + f.path;
    if (f.mark == 'M' && (f.before || f.after))
      line += "  (" + human_bytes(before) + " -> " + human_bytes(after) + ")";
    else if (f.before || f.after)
      line += "  (" + human_bytes(f.mark == '+' ? after : before) + ")";
    console.info(line);
    (f.mark == '+' ? added : f.mark == '-' ? removed : changed)++;
    if (after > before) bytes_added += after - before;
    if (before > after) bytes_removed += before - after;
    std::string path = f.path.size() > 1 && f.path.back() == '/' ? f.path.substr(0, f.path.size() - 1) : f.path;
    list.push_back({{"path", path},
                    {"change", change_word(f.mark)},
                    {"type", f.type},
                    {"size_before", size_json(f.before)},
                    {"size_after", size_json(f.after)}});
  }
  console.info("Files: " + std::to_string(added) + " added, " + std::to_string(removed) + " removed, " +
               std::to_string(changed) + " changed; " + human_bytes(bytes_added) + " added, " +
               human_bytes(bytes_removed) + " removed.");
  console.set("changes", std::move(list));
  console.set("files_added", added);
  console.set("files_removed", removed);
  console.set("files_changed", changed);
  console.set("bytes_added", bytes_added);
  console.set("bytes_removed", bytes_removed);
}

void report_rows(Console& console, const std::vector<DbChange>& dbs, const std::vector<RunDiff>& runs) {
  json list = json::array();
  for (const DbChange& db : dbs) {
    console.info("Rows of " + db.path + ":");
    json tables = json::array();
    for (const TableDiff& t : db.tables) {
      console.info("  " + t.table + ": " + std::to_string(t.added) + " added, " + std::to_string(t.removed) +
                   " removed, " + std::to_string(t.changed) + " changed");
      tables.push_back(
          {{"table", t.table}, {"rows_added", t.added}, {"rows_removed", t.removed}, {"rows_changed", t.changed}});
    }
    list.push_back({{"path", db.path}, {"tables", std::move(tables)}});
  }
  json named = json::array();
  if (!runs.empty()) console.info("Task runs:");
  for (const RunDiff& r : runs) {
    char mark = r.change == "added" ? '+' : r.change == "removed" ? '-' : 'M';
    std::string units;
    for (auto [n, word] : {std::pair{r.units_added, "added"}, {r.units_removed, "removed"}, {r.units_changed, "changed"}})
      if (n) units += (units.empty() ? "" : ", ") + plural(n, "unit") + " " + word;
    console.info(std::string(1, mark) + " task run " + r.task_run_id + " of " +
                 (r.task_name.empty() ? "an unknown task" : r.task_name) + (units.empty() ? "" : ": " + units));
    named.push_back({{"task_run_id", r.task_run_id},
                     {"task_name", r.task_name.empty() ? json(nullptr) : json(r.task_name)},
                     {"change", r.change.empty() ? "units" : r.change},
                     {"units_added", r.units_added},
                     {"units_removed", r.units_removed},
                     {"units_changed", r.units_changed}});
  }
  console.set("databases", std::move(list));
  console.set("task_runs_changed", std::move(named));
}

json side_json(const DiffSide& s) { return {{"kind", s.kind()}, {"name", s.name()}}; }

int diff(Context& ctx, const DiffOptions& opts) {
  const stdfs::path& location = ctx.locations().store_dir;
  std::optional<store::Store> store;
  if (store::Store::exists(location)) store.emplace(location, store::Store::Mode::Read);
  store::Store* s = store ? &*store : nullptr;
  std::unique_ptr<DiffSide> a = open_side(ctx, s, opts.a);
  std::unique_ptr<DiffSide> b = open_side(ctx, s, opts.b);
  std::unique_ptr<fs::OwnedTempDir> tmp = fs::scratch_temp_dir(kTempPrefix);
  fs::mkdirs(tmp->path() / "a");
  fs::mkdirs(tmp->path() / "b");
  ctx.console.info("Comparing " + describe(*a) + " with " + describe(*b) + ":");
  ctx.console.set("a", side_json(*a));
  ctx.console.set("b", side_json(*b));
  Differ d(*a, *b, tmp->path());
  d.run(ctx.console);
  report_files(ctx.console, d.files());
  report_rows(ctx.console, d.databases_changed(), d.task_runs());
  return 0;
}

}  // namespace

int run_diff(Context& ctx, const DiffOptions& opts) {
  try {
    return diff(ctx, opts);
  } catch (const Error& e) {
    throw finish(e, "Nothing was changed.");
  }
}

}  // namespace mdb
