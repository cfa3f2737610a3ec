#include "import/import_files.h"

#include <unistd.h>

#include <algorithm>

#include "datadir/journal.h"
#include "datadir/storeops.h"
#include "base/error.h"
#include "formats/hash.h"
#include "import/file_plan.h"
#include "platform/env.h"

namespace mdb {

namespace {

constexpr const char* kStagingPrefix = "import-";

// Writes one member to `dest` (created exclusively); returns its xxh3-128. Made durable later, all
// files at once (sync_filesystem): one flush instead of an fsync per file.
store::Hash128 extract(const zip::Reader& zip, const zip::Entry& e, const stdfs::path& dest,
                            Console::Progress& progress) {
  mode_t mode = (e.unix_mode & 0111) ? 0755 : 0644;
  fs::File out = fs::File::create(dest, true, mode);
  store::Xxh128Stream hash;
  zip.stream(e, [&](std::string_view chunk) {
    out.write_all(chunk);
    hash.update(chunk);
    progress.add(chunk.size());
  });
  out.close();
  return hash.digest();
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

namespace {

void remove_staging_in(const stdfs::path& meta) { fs::sweep_abandoned(meta, kStagingPrefix); }

}  // namespace

void remove_stale_import_staging(const DataDir& dir) {
  remove_staging_in(dir.meta_dir());
  for (const stdfs::path& m : fs::mount_points_inside(dir.root())) {
    remove_staging_in(m / kMetaDirName);
    fs::discard_empty_dir(m / kMetaDirName);  // ours, and only there while an import runs
  }
}

StagedRunFiles::Staging::~Staging() {
  dir.reset();
  if (!meta.empty()) fs::discard_empty_dir(meta);  // a mount's folder: gone once empty
}

const stdfs::path& StagedRunFiles::staging_for(const stdfs::path& dest) {
  stdfs::path meta = meta_dir_for(dir_, root_ / dest, mounts_);
  auto [it, fresh] = staging_.try_emplace(meta);
  Staging& s = it->second;
  if (fresh) {
    fs::mkdirs(meta);
    s.dir = std::make_unique<fs::OwnedTempDir>(meta, kStagingPrefix);
    if (meta != dir_.meta_dir()) s.meta = meta;  // a mount's folder, removed once empty
  }
  return s.dir->path();
}

StagedRunFiles::StagedRunFiles(const DataDir& dir, Dump& dump, FilePlan files,
                               std::vector<stdfs::path> new_run_dirs, Console& console)
    : dir_(dir),
      dump_(dump),
      root_(dir.root()),
      mounts_(fs::mount_points_inside(dir.root())),
      files_(std::move(files)),
      new_run_dirs_(std::move(new_run_dirs)) {
  if (files_.empty()) return;
  {
    Console::Progress progress(console, "Extracting run files", files_.bytes, true, static_cast<uint64_t>(files_.count));
    stdfs::path made;  // the last dir made: a zip lists a dir's files together
    for_each_action(dump, files_, [&](const FileAction& a) {
      stdfs::path dest = staged(a.dest(dump));
      if (dest.parent_path() != made) fs::mkdirs(made = dest.parent_path());
      zip::Entry member = dump.member(a.file);
      store::Hash128 hash = extract(dump.zip(), member, dest, progress);
      progress.add(0, 1);
      if (a.file.hash && !(hash == *a.file.hash))
        throw Error("The file " + member.name + " of " + dump.file_name() +
                    " does not have the content its Cap'n Proto half records (xxh3 " + hash.hex() + " instead of " +
                    a.file.hash->hex() + "): the zip is damaged.", ErrorKind::Damaged);
    });
  }
  // Every staged file and dir durable before any move.
  for (const auto& [meta, s] : staging_) fs::sync_filesystem(s.dir->path());
}

bool StagedRunFiles::staged_for(const ImportOutcome& plan) {
  return plan.new_run_dirs == new_run_dirs_ && same_files(dump_, plan.files, files_);
}

int64_t StagedRunFiles::place(AtomicChange& change) {
  if (files_.empty()) return 0;
  for (const stdfs::path& run_dir : new_run_dirs_) {
    make_dirs(root_, run_dir.parent_path(), change);
    if (fs::exists(root_ / run_dir)) {
      // Files of no task run (e.g. left by the original's failed imports) are replaced. Putting
      // them back path by path is not possible, so a failure from here on restores the snapshot.
      change.mark_irreversible();
      fs::rename(root_ / run_dir,
                 staging_for(run_dir) / ("replaced-" + std::to_string(&run_dir - new_run_dirs_.data())));
    }
    fs::rename(staged(run_dir), root_ / run_dir);
    change.record_created(run_dir);
  }
  for_each_action(dump_, files_, [&](const FileAction& a) {
    if (a.new_run) return;
    std::string dest = a.dest(dump_);
    make_dirs(root_, stdfs::path(dest).parent_path(), change);
    fs::rename(staged(dest), root_ / dest);
    change.record_created(dest);
  });
  // The moves durable before the databases commit.
  fs::sync_filesystem(root_);
  for (const auto& [meta, s] : staging_)
    if (!s.meta.empty()) fs::sync_filesystem(meta);
  return files_.count;
}

}  // namespace mdb
