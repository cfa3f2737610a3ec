#include "core/import_files.h"

#include <xxhash.h>

#include <algorithm>

#include "core/journal.h"
#include "formats/error.h"
#include "store/env.h"

namespace mdb::core {

namespace {

constexpr const char* kStagingPrefix = "import-";

// Writes one member to `dest` (created exclusively); returns its xxh3-128. Made durable later, all
// files at once (sync_filesystem): one flush instead of an fsync per file.
capnp_dump::Hash128 extract(const zip::Reader& zip, const zip::Entry& e, const stdfs::path& dest,
                            Console::Progress& progress) {
  mode_t mode = (e.unix_mode & 0111) ? 0755 : 0644;
  fs::File out = fs::File::create(dest, true, mode);
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  try {
    zip.stream(e, [&](std::string_view chunk) {
      out.write_all(chunk);
      XXH3_128bits_update(state, chunk.data(), chunk.size());
      progress.add(chunk.size());
    });
  } catch (...) {
    XXH3_freeState(state);
    throw;
  }
  XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  out.close();
  return {h.high64, h.low64};
}

}  // namespace

void make_dirs(const stdfs::path& root, const stdfs::path& rel, AtomicChange& change) {
  stdfs::path walked;
  for (const auto& part : rel) {
    walked /= part;
    if (fs::exists(root / walked)) continue;
    fs::mkdirs(root / rel);
    change.record_created(walked);
    return;
  }
}

void remove_stale_import_staging(const DataDir& dir) {
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir.meta_dir(), ec))
    if (e.path().filename().string().rfind(kStagingPrefix, 0) == 0) fs::remove_tree(e.path());
}

StagedRunFiles::StagedRunFiles(const DataDir& dir, Dump& dump, std::vector<FileAction> files,
                               std::vector<stdfs::path> new_run_dirs, Console& console)
    : root_(dir.root()), files_(std::move(files)), new_run_dirs_(std::move(new_run_dirs)) {
  if (files_.empty()) return;
  fs::mkdirs(dir.meta_dir());
  staging_ = std::make_unique<fs::TempDir>(dir.meta_dir(), kStagingPrefix);
  uint64_t total = 0;
  for (const FileAction& a : files_) total += a.file->entry->size;
  {
    Console::Progress progress(console, "Extracting run files", total, true);
    stdfs::path made;  // the last dir made: a zip lists a dir's files together
    for (const FileAction& a : files_) {
      stdfs::path dest = staging_->path() / a.dest();
      if (dest.parent_path() != made) fs::mkdirs(made = dest.parent_path());
      capnp_dump::Hash128 hash = extract(dump.zip(), *a.file->entry, dest, progress);
      if (a.file->hash && !(hash == *a.file->hash))
        throw Error("The file " + a.file->entry->name + " of " + dump.file_name() +
                    " does not have the content its Cap'n Proto half records (xxh3 " + hash.hex() + " instead of " +
                    a.file->hash->hex() + "): the zip is damaged. Nothing was imported.");
    }
  }
  fs::sync_filesystem(staging_->path());  // every staged file and dir durable before any move
}

bool StagedRunFiles::staged_for(const ImportOutcome& plan) const {
  auto same = [](const FileAction& a, const FileAction& b) {
    return a.file == b.file && a.moved_to == b.moved_to && a.new_run == b.new_run;
  };
  return plan.new_run_dirs == new_run_dirs_ &&
         std::equal(plan.files.begin(), plan.files.end(), files_.begin(), files_.end(), same);
}

int64_t StagedRunFiles::place(AtomicChange& change) {
  if (files_.empty()) return 0;
  const stdfs::path& staging = staging_->path();
  for (const stdfs::path& run_dir : new_run_dirs_) {
    make_dirs(root_, run_dir.parent_path(), change);
    if (fs::exists(root_ / run_dir)) {
      // Files of no task run (e.g. left by the original's failed imports) are replaced. Putting
      // them back path by path is not possible, so a failure from here on restores the snapshot.
      change.mark_irreversible();
      fs::rename(root_ / run_dir, staging / ("replaced-" + std::to_string(&run_dir - new_run_dirs_.data())));
    }
    fs::rename(staging / run_dir, root_ / run_dir);
    change.record_created(run_dir);
  }
  for (const FileAction& a : files_) {
    if (a.new_run) continue;
    std::string dest = a.dest();
    make_dirs(root_, stdfs::path(dest).parent_path(), change);
    fs::rename(staging / dest, root_ / dest);
    change.record_created(dest);
  }
  fs::sync_filesystem(root_);  // the moves durable before the databases commit
  return static_cast<int64_t>(files_.size());
}

}  // namespace mdb::core
