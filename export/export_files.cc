#include "export/export_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "formats/hash.h"
#include "formats/utf8.h"
#include "base/error.h"
#include "platform/env.h"

namespace mdb {

namespace stdfs = std::filesystem;

void FileInput::open() { file_ = fs::File::open_read(path_); }

size_t FileInput::read(char* buf, size_t n) { return file_.read(buf, n); }

void FileInput::close() { file_ = fs::File(); }

namespace {

// A run file: hashed as it streams into the zip, reported when complete.
class RunFileInput : public FileInput {
 public:
  RunFileInput(stdfs::path path, uint64_t size, std::string member, const RunFiles::OnFile& on_file,
               Console::Progress* progress)
      : FileInput(std::move(path), size), member_(std::move(member)), on_file_(on_file), progress_(progress) {}
  ~RunFileInput() override { FileInput::close(); }

  void open() override {
    FileInput::open();
    hash_ = std::make_unique<store::Xxh128Stream>();  // only while open: memory stays flat in the file count
    read_ = 0;
  }
  size_t read(char* buf, size_t n) override {
    size_t got = FileInput::read(buf, n);
    hash_->update(std::string_view(buf, got));
    read_ += got;
    if (progress_) progress_->add(got);
    return got;
  }
  void close() override {
    FileInput::close();
    if (!hash_) return;
    on_file_({member_, read_, hash_->digest()});
    hash_.reset();
    if (progress_) progress_->add(0, 1);
  }

 private:
  std::string member_;
  const RunFiles::OnFile& on_file_;
  Console::Progress* progress_;
  std::unique_ptr<store::Xxh128Stream> hash_;
  uint64_t read_ = 0;
};

std::vector<std::string> sorted_entries(const stdfs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  if (ec) throw fs::IoError("cannot list", dir, ec.value());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::vector<RunDir> run_dirs_of(Source& src, const std::string& rowids_sql) {
  std::vector<RunDir> out;
  sql::Stmt s = src.conn().prepare(
      "SELECT r.task_run_id, p.project_id, p.project_name FROM main.task_runs AS r "
      "LEFT JOIN main.tasks AS t ON t.task_id = r.task_id "
      "LEFT JOIN main.projects AS p ON p.project_id = t.project_id "
      "WHERE r.rowid IN (" +
      rowids_sql + ")");
  while (s.step()) {
    std::optional<std::string> project;
    if (!s.column(1).is_null()) project = s.column(2).to_string();
    run_dir_path(project, s.column_int(0));  // throws on a name that is not one directory
    out.push_back({project.value_or("NO_PROJECT"), s.column_int(0)});
  }
  std::sort(out.begin(), out.end(), [](const RunDir& a, const RunDir& b) {
    return a.project != b.project ? a.project < b.project : a.id < b.id;
  });
  return out;
}

void check_project_dirs(Source& src, const Selection& sel) {
  if (sel.kind() == DumpKind::QualificationsOnly) return;
  sql::Stmt s = src.conn().prepare(
      "SELECT project_id, project_name FROM main.projects WHERE rowid IN (" +
      sel.rowids_sql(DbId::Mephisto, "projects") +
      ") UNION SELECT p.project_id, p.project_name FROM main.task_runs AS r "
      "JOIN main.tasks AS t ON t.task_id = r.task_id JOIN main.projects AS p ON p.project_id = t.project_id "
      "WHERE r.rowid IN (" +
      sel.rowids_sql(DbId::Mephisto, "task_runs") + ") ORDER BY 1");
  std::vector<std::string> bad;
  while (s.step()) {
    Value name = s.column(1);
    if (std::string problem = project_dir_problem(name); !problem.empty())
      bad.push_back("row project_id = " + s.column(0).to_string() + " has project_name " +
                    (name.is_null() ? "NULL" : "\"" + name.to_string() + "\"") + ", which " + problem);
  }
  if (bad.empty()) return;
  std::string list;
  for (const std::string& b : bad) list += (list.empty() ? "" : "; ") + b;
  throw Error("Table projects of " + src.dir().db_path(DbId::Mephisto).string() + ": " + list +
              ". A project's task run files live in data/runs/<project_name>/, so its name must be one directory "
              "name: not empty, not '.' or '..', without '/' (docs/PATHS.md). Rename the project (and move its run "
              "dirs to match), or leave its tasks out with -tn/-ti/-tri, and export again.");
}

namespace {

// Whether `path`, with every symlink resolved (into `real`), lies inside `real_root`.
bool resolves_inside(const stdfs::path& path, const stdfs::path& real_root, stdfs::path& real) {
  std::error_code ec;
  real = stdfs::canonical(path, ec);
  if (ec) return false;
  auto [r, p] = std::mismatch(real_root.begin(), real_root.end(), real.begin(), real.end());
  return r == real_root.end();
}

}  // namespace

RunFiles::RunFiles(Source& src, const Selection& sel, const Remap* remap, Console& console)
    : dir_(src.dir()), real_root_(stdfs::canonical(src.dir().root())), remap_(remap), console_(console) {
  if (sel.kind() != DumpKind::QualificationsOnly) runs_ = run_dirs_of(src, sel.rowids_sql(DbId::Mephisto, "task_runs"));
}

RunFiles::Measure RunFiles::measure() const {
  Measure total;
  for (const RunDir& run : runs_) {
    std::error_code ec;
    stdfs::path disk = dir_.run_dir(run.project, run.id), real;
    if (!resolves_inside(disk, real_root_, real)) continue;
    // Like add_dir: symbolic links to directories are not followed, those to files count only when
    // they resolve inside the data dir.
    for (stdfs::recursive_directory_iterator it(disk, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code e;
      if (it->is_symlink(e) && !resolves_inside(it->path(), real_root_, real)) continue;
      if (!it->is_regular_file(e)) continue;
      total.bytes += it->file_size(e);
      ++total.files;
    }
  }
  return total;
}

std::string RunFiles::member_name(const std::string& project, const std::vector<std::string>& components) const {
  std::vector<std::string> parts = remap_ ? remap_->rename_run_path(components) : components;
  std::string name = "runs/" + project;
  for (const std::string& p : parts) name += "/" + p;
  return name;
}

// A run dir or run file reached through a symlink is exported only when the link resolves inside the data
// dir: nothing outside it is ever read (docs/PATHS.md).
bool RunFiles::skip_outside(const stdfs::path& path) {
  stdfs::path real;
  if (resolves_inside(path, real_root_, real)) return false;
  console_.warn("Skipped " + path.string() + ": through a symbolic link it leads to " +
                (real.empty() ? "a missing target" : real.string()) + ", outside the data directory.");
  return true;
}

void RunFiles::add_to(zip::Writer& zip, OnFile on_file, Console::Progress* progress) {
  on_file_ = std::move(on_file);
  progress_ = progress;
  std::string last_project;
  bool any = false;
  for (const RunDir& run : runs_) {
    stdfs::path disk = dir_.run_dir(run.project, run.id);
    struct stat st {};
    if (::stat(disk.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if (skip_outside(disk)) continue;
    if (!utf8::valid(run.project))
      throw Error("The project name of task run " + std::to_string(run.id) +
                  " is not valid UTF-8, so its files "
                  "cannot be stored in a zip.");
    if (!any) zip.add_directory("runs/");
    any = true;
    if (run.project != last_project) zip.add_directory("runs/" + run.project + "/");
    last_project = run.project;
    std::vector<std::string> components = {std::to_string(run.id)};
    zip.add_directory(member_name(run.project, components) + "/");
    add_dir(zip, disk, components, run.project);
  }
}

void RunFiles::add_dir(zip::Writer& zip, const stdfs::path& disk, std::vector<std::string>& components,
                       const std::string& project) {
  for (const std::string& name : sorted_entries(disk)) {
    stdfs::path path = disk / name;
    if (!utf8::valid(name))
      throw Error("The file " + path.string() +
                  " has a name that is not valid UTF-8, which a zip cannot hold. "
                  "Rename it and export again.");
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {  // a dangling symlink, or gone
      console_.warn("Skipped " + path.string() + ": " + std::strerror(errno) + ".");
      continue;
    }
    struct stat lst {};
    bool link = ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode);
    if (link && S_ISREG(st.st_mode) && skip_outside(path)) continue;
    components.push_back(name);
    if (S_ISDIR(st.st_mode) && !link) {
      zip.add_directory(member_name(project, components) + "/");
      add_dir(zip, path, components, project);
    } else if (S_ISREG(st.st_mode)) {
      std::string member = member_name(project, components);
      auto size = static_cast<uint64_t>(st.st_size);
      zip.add_file(member, std::make_unique<RunFileInput>(path, size, member, on_file_, progress_),
                   (st.st_mode & 0111) != 0);
      ++files_;
      bytes_ += size;
    } else {
      console_.warn("Skipped " + path.string() + ": " +
                    (S_ISDIR(st.st_mode) ? "a symbolic link to a directory" : "not a regular file") + ".");
    }
    components.pop_back();
  }
}

}  // namespace mdb
