#pragma once
// The files of a dump (export.md, "Files"): the run directory data/runs/<project>/<run>/ of every
// exported task run, stored under runs/<project>/<run>/... with a directory entry for every
// directory. Each file is read once, while the zip is written, through xxh3-128, and reported with
// its size and hash so the Cap'n Proto header can list it. With -r the id-named directories are
// renamed as the rows are.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "platform/console.h"
#include "platform/env.h"
#include "export/export_remap.h"
#include "export/export_select.h"
#include "formats/capnp_dump.h"
#include "formats/zip.h"

namespace mdb {

// A task run's directory: data/runs/<project>/<run>.
struct RunDir {
  std::string project;  // as stored (one directory name), or NO_PROJECT
  int64_t id;
};

// The directories of the task runs whose rowids `rowids_sql` lists, ordered by project, then id.
// Throws mdb::Error on a project name that is not one directory name (run_dir_path).
std::vector<RunDir> run_dirs_of(Source& src, const std::string& rowids_sql);

// Before anything is written: every project the dump of `sel` holds, and the project of every task
// run whose files it holds, has a name that is one directory (project_dir_problem); else an error
// naming the database, table, rows and names (docs/PATHS.md).
void check_project_dirs(Source& src, const Selection& sel);

class RunFiles {
 public:
  using OnFile = std::function<void(const capnp_dump::FileRecord&)>;

  // The run directories of the exported task runs, ordered by project name, then run id.
  RunFiles(Source& src, const Selection& sel, const Remap* remap, Console& console);

  // Adds the directory entries and the file members to `zip`. `on_file` is called as each
  // file's content is written into the zip.
  void add_to(zip::Writer& zip, OnFile on_file, Console::Progress* progress);

  // The bytes and the number of the run files, found by a walk that reads no content: a progress
  // bar's totals.
  struct Measure {
    uint64_t bytes = 0, files = 0;
  };
  Measure measure() const;

  uint64_t file_count() const { return files_; }
  uint64_t total_bytes() const { return bytes_; }

 private:
  bool skip_outside(const std::filesystem::path& path);
  void add_dir(zip::Writer& zip, const std::filesystem::path& disk, std::vector<std::string>& components,
               const std::string& project);
  std::string member_name(const std::string& project, const std::vector<std::string>& components) const;

  const DataDir& dir_;
  std::filesystem::path real_root_;  // the data dir with every symlink resolved
  const Remap* remap_;
  Console& console_;
  std::vector<RunDir> runs_;
  OnFile on_file_;
  Console::Progress* progress_ = nullptr;
  uint64_t files_ = 0, bytes_ = 0;
};

// A zip member read from a file once, front to back.
class FileInput : public zip::Input {
 public:
  FileInput(std::filesystem::path path, uint64_t size) : path_(std::move(path)), size_(size) {}
  void open() override;
  size_t read(char* buf, size_t n) override;
  std::optional<uint64_t> size() override { return size_; }
  void close() override;

 protected:
  std::filesystem::path path_;
  uint64_t size_;
  fs::File file_;
};

}  // namespace mdb
