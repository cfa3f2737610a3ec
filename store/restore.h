#pragma once
// The restore engine (store.md, "restore"): materializes a tree (a snapshot, or a backup
// zip) in a staging directory on the target's filesystem, verifying every chunk as it is
// written and restoring modes, mtimes, owners (as root), hard links, holes and special files,
// then swaps it into place atomically.
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/zip.h"
#include "store/decode_ahead.h"
#include "store/manifest.h"
#include "store/reporter.h"
#include "platform/temp_dir.h"
#include "store/store.h"

namespace mdb::store {

namespace stdfs = std::filesystem;

// A tree to build: entries in path order (see path_less).
class TreeSource {
 public:
  virtual ~TreeSource() = default;
  virtual bool next(Entry& e) = 0;
  // Writes the content of the file entry `e` to `out`, checking it (throws when damaged).
  virtual void write_content(const Entry& e, fs::File& out) = 0;
  // Whether parent directories may be missing from the entries (zips often omit them);
  // they are then created with mode 0755.
  virtual bool implicit_parents() const { return false; }
  // Total bytes of file content, for progress (0 when unknown).
  virtual uint64_t total_bytes() const { return 0; }
  virtual uint64_t total_files() const { return 0; }
  // The recorded owner of the tree's root (the data dir itself), when known.
  virtual std::optional<Owner> root_owner() const { return std::nullopt; }
  // Blobs decoded on a worker before write_content asked for them (DecodeAhead).
  virtual uint64_t blobs_decoded_ahead() const { return 0; }
};

// A snapshot's tree, optionally only the entries at or under `only`.
class SnapshotSource : public TreeSource {
 public:
  SnapshotSource(Store& store, const SnapshotRecord& rec, std::optional<std::string> only = std::nullopt);
  bool next(Entry& e) override;
  void write_content(const Entry& e, fs::File& out) override;
  bool implicit_parents() const override { return only_.has_value(); }
  uint64_t total_bytes() const override { return only_ ? 0 : bytes_; }
  uint64_t total_files() const override { return only_ ? 0 : files_; }
  std::optional<Owner> root_owner() const override { return only_ ? std::nullopt : root_owner_; }
  uint64_t blobs_decoded_ahead() const override { return decode_.decoded_ahead(); }

 private:
  bool pull(Entry& e);  // the manifest's next entry within `only`
  bool wants_more() const;  // whether next() reads another entry ahead
  void decode_new_entries();

  Store& store_;
  ManifestReader reader_;
  std::optional<std::string> only_;
  // Entries read from the manifest ahead of the one being restored, with the pack bytes of their
  // blobs announced to the store (Store::will_read), when its backend fetches ahead (S3), and
  // while decoding ahead has room.
  bool look_ahead_;
  std::deque<std::pair<Entry, uint64_t>> ahead_;
  uint64_t ahead_bytes_ = 0;
  bool ended_ = false;
  size_t undecoded_ = 0;  // the last entries of `ahead_`, not yet in `decode_`
  uint64_t bytes_, files_;
  std::optional<Owner> root_owner_;
  std::exception_ptr ahead_error_;  // what reading the manifest ahead threw
  // The blobs of the entries in `ahead_`, decoded on workers (none with MDB_THREADS=1).
  DecodeAhead decode_;  // last: its workers end first
};

// The members of a validated zip (zip::Reader::validate) as a tree, in path order, except
// those at or under the top-level names in `skip`; optionally only `only`. Files get their
// Unix mode from the zip (else 0644, directories 0755) and `mtime_ns` (zips from the
// original carry no reliable times).
class ZipSource : public TreeSource {
 public:
  ZipSource(const zip::Reader& zip, const std::vector<std::string>& skip, std::optional<std::string> only,
            int64_t mtime_ns);
  bool next(Entry& e) override;
  void write_content(const Entry& e, fs::File& out) override;
  bool implicit_parents() const override { return true; }
  uint64_t total_bytes() const override { return bytes_; }

 private:
  const zip::Reader& zip_;
  std::vector<std::pair<std::string, uint64_t>> members_;  // path, member index; sorted by path
  size_t pos_ = 0;
  struct timespec mtime_ {};
  uint64_t bytes_ = 0;
};

struct BuildStats {
  uint64_t files = 0, dirs = 0, symlinks = 0, hard_links = 0, special_files = 0, bytes = 0;
  // Entries that could not be made as recorded (device nodes when not root), one line each.
  std::vector<std::string> warnings;
  // With a DamagedFile fallback: files whose content was damaged, in path order; those the
  // fallback filled instead, and those left out.
  std::vector<std::string> damaged_replaced, damaged_missing;
};

// What build_tree does with a file whose content in the store is damaged (a rollback, which
// must finish): fills `out` (created, empty) some other way and sets its metadata, returning
// true; or returns false, and the file is left out of the tree.
using DamagedFile = std::function<bool(const Entry& e, fs::File& out)>;

// Whether a restore gives entries their recorded owner and group: only as root, as tar does;
// otherwise they belong to the user who restores, and nothing is said.
bool restores_owners();

// Builds the tree of `src` inside the existing empty directory `root`. Every entry's parent
// is a directory made by this build (never a symlink), so nothing is written outside
// `root`; a hard link is made only to a file this build made. Files get their all-zero
// blocks as holes (a sparse file stays sparse). FIFOs are made; device nodes only as root,
// else a warning (reporter and `warnings`) names each. Ends with one syncfs, so the tree is
// durable when this returns.
// A damaged file throws, unless `damaged` is given (see DamagedFile).
BuildStats build_tree(TreeSource& src, const stdfs::path& root, Reporter& reporter, const DamagedFile& damaged = {});

// Refuses (mdb::Error naming it) a `target` with a mount point inside it (docs/mounts.md).
void refuse_mounts_inside(const stdfs::path& target);

// Where a restore builds its tree: beside the target (same filesystem, whole-tree swap) or,
// when the target is a mount point or its parent is not writable, inside `target/keep`
// (per-entry swap). Refuses (refuse_mounts_inside, before anything is written) a target with
// a mount point inside it: swapping its tree would carry the mount away and the removal of
// the old tree would have to stop at it. The tree is `tree` inside an OwnedTempDir (so
// the owner file is not part of it; an entry-by-entry swap puts the old entries in `old`
// beside it), removed with its contents on destruction unless retired.
class Staging {
 public:
  Staging(const stdfs::path& target, const std::string& keep);
  Staging(const Staging&) = delete;
  ~Staging();
  const stdfs::path& path() const { return path_; }
  bool beside() const { return beside_; }
  // After a swap, moves the staging's temp dir (holding the old tree) into the directory
  // `trash` (created when missing, on the target's filesystem), for the caller to delete
  // with progress, or the next command when this one is killed meanwhile.
  void retire_into(const stdfs::path& trash);

 private:
  std::unique_ptr<fs::OwnedTempDir> own_;
  stdfs::path path_;
  bool beside_ = false;
};

// Replaces the tree at `target` by the tree built in `staging` (whole), keeping `target/keep`
// as it is: its files are hard-linked into the staging tree first, so they are present at
// every instant. Beside-staging: one renameat2(RENAME_EXCHANGE) of the two directories;
// otherwise (or when the filesystem lacks RENAME_EXCHANGE) one exchange or rename per
// top-level entry (the caller's journal marker covers a crash in between). Afterwards the
// old tree is in `staging` (removed with it). The data dir keeps its mode and mtime; as root
// it gets `root_owner` (else keeps its owner).
void swap_tree(const stdfs::path& target, const Staging& staging, const std::string& keep,
               const std::optional<Owner>& root_owner);

// Replaces (or creates) the single path `rel` of `target` by `staging/rel` (one exchange);
// missing parent directories are created.
void swap_path(const stdfs::path& target, const Staging& staging, const std::string& rel);

// Removes staging directories of restores whose process is gone (fs::sweep_abandoned),
// beside `target` and inside `target/keep`.
void remove_stale_staging(const stdfs::path& target, const std::string& keep);

}  // namespace mdb::store
