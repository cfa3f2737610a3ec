#include "import/import_files.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <vector>

#include "base/malloc_policy.h"
#include "datadir/journal.h"
#include "datadir/storeops.h"
#include "base/error.h"
#include "base/interrupt.h"
#include "base/ordered_pool.h"
#include "formats/hash.h"
#include "formats/zip_batches.h"
#include "import/file_plan.h"
#include "platform/env.h"

namespace mdb {

namespace {

constexpr const char* kStagingPrefix = "import-";
// Members up to this size are read, checked (CRC, size) and hashed on worker threads while the
// main thread creates the files of the ones before them (an import's time goes mostly to the
// kernel's file creation); larger ones are streamed by the main thread when their turn comes.
constexpr uint64_t kReadAhead = 1 << 20;
// What may be read ahead and not written yet, at most.
constexpr uint64_t kAheadBytes = 2 << 20;
constexpr size_t kAheadMembers = 128;
// Members go to the workers in batches (formats/zip_batches.h).
constexpr uint64_t kBatchBytes = 256 << 10;
constexpr size_t kBatchMembers = 16;

// A member read whole and checked, with its xxh3-128.
struct ReadMember {
  std::string content;
  store::Hash128 hash;
};

ReadMember read_member(const zip::Reader& zip, const zip::Entry& e) {
  ReadMember r;
  r.content = zip.read(e, kReadAhead);
  r.hash = store::xxh128(r.content);
  return r;
}

mode_t mode_of(const zip::Entry& e) { return (e.unix_mode & 0111) ? 0755 : 0644; }

// Files are created exclusively, and made durable later, all at once (sync_filesystem): one flush
// instead of an fsync per file.
void write_file(const stdfs::path& dest, const zip::Entry& e, std::string_view content) {
  fs::File out = fs::File::create(dest, true, mode_of(e));
  if (!content.empty()) out.write_all(content);
  out.close();
}

// Streams a large member to `dest`, counting its bytes in `done`; returns its xxh3-128.
store::Hash128 stream_member(const zip::Reader& zip, const zip::Entry& e, const stdfs::path& dest,
                             std::atomic<uint64_t>& done) {
  fs::File out = fs::File::create(dest, true, mode_of(e));
  store::Xxh128Stream hash;
  zip.stream(e, [&](std::string_view chunk) {
    out.write_all(chunk);
    hash.update(chunk);
    done += chunk.size();
  });
  out.close();
  return hash.digest();
}

// One member on its way to its staged path: read ahead on the pool, or streamed in its turn.
struct Extraction {
  zip::Entry member;
  stdfs::path dest;
  std::optional<store::Hash128> expected;  // recorded in the Cap'n Proto half
  bool ahead = false;
};

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
                               std::vector<stdfs::path> new_run_dirs)
    : dir_(dir),
      dump_(dump),
      root_(dir.root()),
      mounts_(fs::mount_points_inside(dir.root())),
      files_(std::move(files)),
      new_run_dirs_(std::move(new_run_dirs)) {}

StagedRunFiles::~StagedRunFiles() {
  stop_ = true;
  if (worker_.joinable()) worker_.join();
}

void StagedRunFiles::start() {
  if (files_.empty()) return;
  share_one_malloc_arena();  // members its readers inflate are freed on its thread
  result_ = done_.get_future();
  worker_ = start_worker([this] {
    try {
      extract_all();
      // Every staged file and dir durable before any move.
      for (const auto& [meta, s] : staging_) fs::sync_filesystem(s.dir->path());
      done_.set_value();
    } catch (...) {
      done_.set_exception(std::current_exception());
    }
    ended_ = true;
  });
}

void StagedRunFiles::finish(Console& console) {
  if (!result_.valid()) return;
  using namespace std::chrono_literals;
  // Drawn even when the extraction already ended beside the snapshot, so the phase is always named.
  Console::Progress progress(console, "Extracting run files", files_.bytes, true, static_cast<uint64_t>(files_.count));
  uint64_t bytes = 0, files = 0;
  for (bool ready = false; !ready;) {
    ready = result_.wait_for(100ms) == std::future_status::ready;
    interrupt::check();  // the extraction sees the signal too, and stops at its next file
    uint64_t b = bytes_done_, f = files_done_;
    progress.add(b - bytes, f - files);
    bytes = b;
    files = f;
  }
  worker_.join();
  result_.get();
}

namespace {

// The extraction was stopped by its owner going away (~StagedRunFiles).
struct Stopped : std::exception {};

}  // namespace

void StagedRunFiles::extract_all() {
  const zip::Reader& zip = dump_.zip();
  zip::MemberBatches<ReadMember> read_ahead(zip, read_member, kBatchMembers, kBatchBytes);
  std::deque<Extraction> queue;  // in plan order
  uint64_t ahead_bytes = 0;
  stdfs::path made;  // the last dir made: a zip lists a dir's files together
  auto finish_first = [&] {
    Extraction x = std::move(queue.front());
    queue.pop_front();
    if (stop_) throw Stopped();
    interrupt::check();
    if (x.dest.parent_path() != made) fs::mkdirs(made = x.dest.parent_path());
    store::Hash128 hash;
    if (x.ahead) {
      ReadMember r = read_ahead.next();
      ahead_bytes -= x.member.size;
      write_file(x.dest, x.member, r.content);
      bytes_done_ += r.content.size();
      hash = r.hash;
    } else {
      hash = stream_member(zip, x.member, x.dest, bytes_done_);
    }
    ++files_done_;
    if (x.expected && !(hash == *x.expected))
      throw Error("The file " + x.member.name + " of " + dump_.file_name() +
                  " does not have the content its Cap'n Proto half records (xxh3 " + hash.hex() + " instead of " +
                  x.expected->hex() + "): the zip is damaged.", ErrorKind::Damaged);
  };
  for_each_action(dump_, files_, [&](const FileAction& a) {
    Extraction x{dump_.member(a.file), staged(a.dest(dump_)), a.file.hash};
    x.ahead = x.member.size <= kReadAhead;
    if (x.ahead) {
      read_ahead.add(x.member);
      ahead_bytes += x.member.size;
    }
    queue.push_back(std::move(x));
    while (!queue.empty() && (ahead_bytes > kAheadBytes || queue.size() > kAheadMembers)) finish_first();
  });
  read_ahead.flush();
  while (!queue.empty()) finish_first();
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
