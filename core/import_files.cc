#include "core/import_files.h"

#include <xxhash.h>


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

int64_t place_run_files(const DataDir& dir, Dump& dump, const ImportOutcome& plan, AtomicChange& change,
                        Console& console) {
  if (plan.files.empty()) return 0;
  const stdfs::path& root = dir.root();
  fs::mkdirs(dir.meta_dir());
  fs::TempDir staging(dir.meta_dir(), kStagingPrefix);
  uint64_t total = 0;
  for (const FileAction& a : plan.files) total += a.file->entry->size;
  {
    Console::Progress progress(console, "Extracting run files", total, true);
    stdfs::path made;  // the last dir made: a zip lists a dir's files together
    for (const FileAction& a : plan.files) {
      stdfs::path dest = staging.path() / a.dest;
      if (dest.parent_path() != made) fs::mkdirs(made = dest.parent_path());
      capnp_dump::Hash128 hash = extract(dump.zip(), *a.file->entry, dest, progress);
      if (a.file->hash && !(hash == *a.file->hash))
        throw Error("The file " + a.file->entry->name + " of " + dump.file_name() +
                    " does not have the content its Cap'n Proto half records (xxh3 " + hash.hex() + " instead of " +
                    a.file->hash->hex() + "): the zip is damaged. Nothing was imported.");
    }
  }
  fs::sync_filesystem(staging.path());  // every staged file and dir durable before any move

  for (const stdfs::path& run_dir : plan.new_run_dirs) {
    make_dirs(root, run_dir.parent_path(), change);
    if (fs::exists(root / run_dir)) {
      // Files of no task run (e.g. left by the original's failed imports) are replaced. Putting
      // them back path by path is not possible, so a failure from here on restores the snapshot.
      change.mark_irreversible();
      fs::rename(root / run_dir, staging.path() / ("replaced-" + std::to_string(&run_dir - plan.new_run_dirs.data())));
    }
    fs::rename(staging.path() / run_dir, root / run_dir);
    change.record_created(run_dir);
  }
  int64_t placed = 0;
  for (const FileAction& a : plan.files) {
    ++placed;
    if (a.new_run) continue;
    make_dirs(root, a.dest.parent_path(), change);
    fs::rename(staging.path() / a.dest, root / a.dest);
    change.record_created(a.dest);
  }
  fs::sync_filesystem(root);  // the moves durable before the databases commit
  return placed;
}

}  // namespace mdb::core
