#include "store/restore.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "base/interrupt.h"
#include "formats/safe_path.h"

namespace mdb::store {

namespace {

bool is_under(std::string_view path, std::string_view dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

std::vector<std::string> names_in(const stdfs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : stdfs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string staging_prefix_beside(const stdfs::path& target) {
  return "." + target.filename().string() + ".mdb-restore-";
}
constexpr const char* kStagingPrefixInside = "restore-";

// Hard-links the tree `from` into the new directory `to` (same filesystem).
void link_tree(const stdfs::path& from, const stdfs::path& to) {
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0) throw fs::IoError("cannot stat", from, errno);
  fs::make_dir(to, st.st_mode & 07777);
  for (const std::string& name : names_in(from)) {
    struct stat cst {};
    if (::lstat((from / name).c_str(), &cst) != 0) throw fs::IoError("cannot stat", from / name, errno);
    if (S_ISDIR(cst.st_mode))
      link_tree(from / name, to / name);
    else
      fs::hard_link(from / name, to / name);
  }
  fs::sync_dir(to);
}

// A sibling directory of `staging` holding old entries moved out of the target when no
// RENAME_EXCHANGE is available.
// Where an entry-by-entry swap puts the old entries: beside the staging tree, inside the
// staging's own temp dir (so they go with it).
stdfs::path old_holder(const stdfs::path& staging) {
  stdfs::path p = staging.parent_path() / "old";
  if (!fs::exists(p)) fs::make_dir(p, 0700);
  return p;
}

void replace_entry(const stdfs::path& fresh, const stdfs::path& current, const stdfs::path& staging,
                   const std::string& name) {
  if (fs::exchange(fresh, current)) return;
  fs::rename(current, old_holder(staging) / name);
  fs::rename(fresh, current);
}

constexpr size_t kHoleBlock = 4096;

bool all_zero(std::string_view d) { return !d.empty() && d[0] == 0 && std::memcmp(d.data(), d.data() + 1, d.size() - 1) == 0; }

// Writes `data` at `offset` of a new file, leaving out its all-zero blocks (4 KiB, aligned in
// the file), which the file then has as holes, as `cp --sparse=auto` and restic do. Returns
// the end of the last byte written, or 0 when none was.
uint64_t write_skipping_zeros(fs::File& out, std::string_view data, uint64_t offset) {
  uint64_t end = 0;
  size_t start = 0, pos = 0;  // bytes [start, pos) are pending
  auto flush = [&] {
    if (pos == start) return;
    out.pwrite_all(data.substr(start, pos - start), offset + start);
    end = offset + pos;
  };
  while (pos < data.size()) {
    size_t len = std::min<size_t>(data.size() - pos, kHoleBlock - (offset + pos) % kHoleBlock);
    if (all_zero(data.substr(pos, len))) {
      flush();
      start = pos + len;
    }
    pos += len;
  }
  flush();
  return end;
}

}  // namespace

SnapshotSource::SnapshotSource(Store& store, const SnapshotRecord& rec, std::optional<std::string> only)
    : store_(store),
      reader_(store, rec),
      only_(std::move(only)),
      look_ahead_(store.backend().plans_reads()),
      bytes_(rec.bytes),
      files_(rec.files),
      root_owner_(rec.root_owner),
      decode_(store) {}

bool SnapshotSource::pull(Entry& e) {
  while (reader_.next(e)) {
    if (!only_ || e.path == *only_ || is_under(e.path, *only_)) return true;
    if (path_less(*only_, e.path)) return false;  // past the subtree: it is contiguous in path order
  }
  return false;
}

// How far the manifest is read ahead of the entry being restored: further than the backend's
// windows reach (12 MiB on S3), so the next pack's first window is on the wire before it is
// needed; few enough entries to keep memory small (docs/S3.md, "Read-ahead"). Decoding ahead
// (DecodeAhead) reads on while it has room.
constexpr uint64_t kLookAheadBytes = 24u << 20;
constexpr size_t kLookAheadEntries = 8192;

bool SnapshotSource::wants_more() const {
  if (ended_ || ahead_.size() >= (look_ahead_ || decode_.active() ? kLookAheadEntries : 1)) return false;
  if (ahead_.empty()) return true;
  // On S3 the announced bytes bound it (more than DecodeAhead holds); else DecodeAhead's room.
  return look_ahead_ ? ahead_bytes_ < kLookAheadBytes : decode_.active() && !decode_.full();
}

// Hands the entries read ahead since the last call to DecodeAhead, which reads their blobs: on
// S3 only once they are all announced, so a read that waits does not hold back the announcements.
void SnapshotSource::decode_new_entries() {
  for (size_t i = ahead_.size() - undecoded_; i < ahead_.size() && decode_.active(); ++i) {
    const Entry& x = ahead_[i].first;
    // A hard link is written as a file of its own only when its file may be outside the tree.
    bool content = x.kind == EntryKind::File || (x.kind == EntryKind::HardLink && only_);
    decode_.add(content ? x.chunks : std::vector<BlobId>{});
  }
  undecoded_ = 0;
}

bool SnapshotSource::next(Entry& e) {
  while (wants_more()) {
    Entry x;
    try {
      if (!pull(x)) {
        ended_ = true;
        if (look_ahead_) store_.backend().no_more_reads_planned();
        break;
      }
    } catch (...) {  // a damaged manifest part: thrown when its entries' turn comes
      ahead_error_ = std::current_exception();
      ended_ = true;
      break;
    }
    uint64_t bytes = 0;
    if (look_ahead_ && x.kind == EntryKind::File)
      for (const BlobId& id : x.chunks) bytes += store_.will_read(id);
    ahead_bytes_ += bytes;
    ahead_.emplace_back(std::move(x), bytes);
    ++undecoded_;
    if (!look_ahead_) decode_new_entries();
  }
  decode_new_entries();
  decode_.next_entry();
  if (ahead_.empty()) {
    if (ahead_error_) std::rethrow_exception(ahead_error_);
    return false;
  }
  e = std::move(ahead_.front().first);
  ahead_bytes_ -= ahead_.front().second;
  ahead_.pop_front();
  return true;
}

void SnapshotSource::write_content(const Entry& e, fs::File& out) {
  uint64_t written = 0, end = 0;
  for (const BlobId& id : e.chunks) {
    interrupt::check();
    std::string data = decode_.take(id);
    if (uint64_t w = write_skipping_zeros(out, data, written)) end = w;
    written += data.size();
  }
  if (written != e.size)
    throw CorruptError("the snapshot's data for " + e.path + " has " + std::to_string(written) + " bytes, expected " +
                       std::to_string(e.size));
  if (end < written) out.truncate(written);  // ends in a hole
}

ZipSource::ZipSource(const zip::Reader& zip, const std::vector<std::string>& skip, std::optional<std::string> only,
                     int64_t mtime_ns)
    : zip_(zip) {
  mtime_.tv_sec = static_cast<time_t>(mtime_ns / 1'000'000'000);
  mtime_.tv_nsec = static_cast<long>(mtime_ns % 1'000'000'000);
  for (const zip::Entry& e : zip.entries()) {
    std::string path = e.name;
    while (!path.empty() && path.back() == '/') path.pop_back();
    std::string top = path.substr(0, path.find('/'));
    if (std::find(skip.begin(), skip.end(), top) != skip.end()) continue;
    if (only && path != *only && !is_under(path, *only)) continue;
    members_.emplace_back(std::move(path), e.index);
    if (!e.is_directory) bytes_ += e.size;
  }
  std::sort(members_.begin(), members_.end(), [](const auto& a, const auto& b) { return path_less(a.first, b.first); });
}

bool ZipSource::next(Entry& e) {
  if (pos_ >= members_.size()) return false;
  const auto& [path, index] = members_[pos_++];
  zip::Entry m = zip_.entry(index);
  const zip::Entry* member = &m;
  e = Entry{};
  e.path = path;
  e.kind = member->is_directory ? EntryKind::Directory : EntryKind::File;
  e.mode = member->unix_mode & 07777;
  if (e.mode == 0) e.mode = member->is_directory ? 0755 : 0644;
  e.mtime = mtime_;
  e.size = member->size;
  return true;
}

void ZipSource::write_content(const Entry& e, fs::File& out) {
  auto it = std::lower_bound(members_.begin(), members_.end(), e.path,
                             [](const auto& m, const std::string& p) { return path_less(m.first, p); });
  zip_.stream(zip_.entry(it->second), [&](std::string_view chunk) { out.write_all(chunk); });
}

bool restores_owners() { return ::geteuid() == 0; }

namespace {

// The file `f` at `path` (`name` in `parent`) got damaged content: it is made anew and filled
// by `damaged`, or removed when that has nothing.
void replace_damaged(const Entry& e, fs::File& f, const fs::File& parent, const std::string& name,
                     const stdfs::path& path, const DamagedFile& damaged, BuildStats& stats) {
  f = fs::File();
  fs::remove_file(path);  // the partial content; `parent` is a directory this build made
  fs::File again = fs::File::create_at(parent, name, path, 0600);
  if (damaged(e, again)) {
    again.close();
    stats.damaged_replaced.push_back(e.path);
    ++stats.files;
    return;
  }
  again = fs::File();
  fs::remove_file(path);
  stats.damaged_missing.push_back(e.path);
}

const char* device_kind(EntryKind kind) {
  return kind == EntryKind::Fifo ? "FIFO" : kind == EntryKind::CharDevice ? "character device" : "block device";
}

// A FIFO or a device node (as tar does: devices only as root, else a warning naming it).
void make_special(const Entry& e, const fs::File& dir, const std::string& name, const stdfs::path& path,
                  BuildStats& stats, Reporter& reporter) {
  bool device = e.kind != EntryKind::Fifo;
  if (device && !restores_owners()) {
    std::string warning = "Warning: did not restore " + e.path + ", a " + device_kind(e.kind) + " (" +
                          std::to_string(e.device_major) + ":" + std::to_string(e.device_minor) +
                          "): only root can create device nodes.";
    stats.warnings.push_back(warning);
    reporter.warn(warning);
    return;
  }
  mode_t type = e.kind == EntryKind::Fifo ? S_IFIFO : e.kind == EntryKind::CharDevice ? S_IFCHR : S_IFBLK;
  fs::make_node_at(dir, name, type | 0600, device ? makedev(e.device_major, e.device_minor) : 0, path);
  if (e.owner && restores_owners()) fs::set_owner_at(dir, name, e.owner->uid, e.owner->gid, path);
  fs::set_mode_at(dir, name, e.mode, path);
  fs::set_mtime_at(dir, name, e.mtime, path);
  ++stats.special_files;
}

}  // namespace

BuildStats build_tree(TreeSource& src, const stdfs::path& root, Reporter& reporter, const DamagedFile& damaged) {
  // The directories from the root down to the current entry's parent, each held open so
  // every entry is made relative to its parent's fd: no path walks, no symlink followed.
  struct OpenDir {
    std::string path;
    fs::File fd;
    Entry entry;
    bool implicit;
  };
  std::vector<OpenDir> stack;
  bool owners = restores_owners();
  // Files this build made that later HardLink entries may link to: a link is made only to
  // one of them, never to whatever a path names.
  std::unordered_set<std::string> link_targets;
  fs::File root_fd = fs::File::open_dir(root);
  auto top = [&] { return stack.empty() ? std::string() : stack.back().path; };
  auto parent_fd = [&]() -> const fs::File& { return stack.empty() ? root_fd : stack.back().fd; };
  auto close_top = [&] {
    OpenDir& d = stack.back();
    if (!d.implicit) {
      if (owners && d.entry.owner) d.fd.set_owner(d.entry.owner->uid, d.entry.owner->gid);
      d.fd.set_mode_and_mtime(d.entry.mode, d.entry.mtime);
    }
    stack.pop_back();
  };
  auto open_dir = [&](const std::string& path, mode_t mode, Entry entry, bool implicit) {
    std::string name = stdfs::path(path).filename().string();
    fs::make_dir_at(parent_fd(), name, mode, root / path);
    fs::File fd = fs::File::open_dir_at(parent_fd(), name, root / path);
    stack.push_back({path, std::move(fd), std::move(entry), implicit});
  };
  if (reporter.wants_progress()) reporter.phase("Restoring", src.total_bytes(), true, src.total_files());
  BuildStats stats;
  std::string last;
  Entry e;
  while (src.next(e)) {
    interrupt::check();  // the tree is only staged: stopping removes the staging dir
    if (std::string problem = relative_path_problem(e.path); !problem.empty())
      throw Error("refusing the path '" + e.path + "', which " + problem, ErrorKind::Damaged);
    if (!last.empty() && !path_less(last, e.path))
      throw Error("'" + e.path + "' appears twice or out of order in the tree to restore", ErrorKind::Damaged);
    last = e.path;
    while (!stack.empty() && !is_under(e.path, stack.back().path)) close_top();
    std::string_view parent = parent_path(e.path);
    while (top() != parent) {
      if (!src.implicit_parents())
        throw Error("the tree to restore is damaged: '" + e.path + "' has no parent entry", ErrorKind::Damaged);
      std::string t = top();
      size_t end = parent.find('/', t.empty() ? 0 : t.size() + 1);
      open_dir(std::string(parent.substr(0, end == std::string_view::npos ? parent.size() : end)), 0755, Entry{}, true);
    }
    std::string name = stdfs::path(e.path).filename().string();
    stdfs::path path = root / e.path;
    switch (e.kind) {
      case EntryKind::Directory:
        open_dir(e.path, 0700, e, false);  // writable while we fill it; its mode is set when closed
        ++stats.dirs;
        break;
      case EntryKind::Symlink:
        fs::symlink_at(e.target, parent_fd(), name, path);
        if (owners && e.owner) fs::set_owner_at(parent_fd(), name, e.owner->uid, e.owner->gid, path);
        fs::set_mtime_at(parent_fd(), name, e.mtime, path);
        ++stats.symlinks;
        break;
      case EntryKind::HardLink:
        if (link_targets.count(e.target)) {
          fs::hard_link_at(root_fd, e.target, parent_fd(), name, path);
          ++stats.hard_links;
          break;
        }
        [[fallthrough]];  // its file is not in this tree (--only): a file of its own
      case EntryKind::File: {
        fs::File f = fs::File::create_at(parent_fd(), name, path, 0600);
        try {
          src.write_content(e, f);
        } catch (const CorruptError&) {
          if (!damaged) throw;
          replace_damaged(e, f, parent_fd(), name, path, damaged, stats);
          reporter.advance(e.size, 1);
          break;
        }
        if (owners && e.owner) f.set_owner(e.owner->uid, e.owner->gid);  // before the mode: chown clears set-id bits
        f.set_mode_and_mtime(e.mode, e.mtime);
        f.close();
        if (e.hard_linked) link_targets.insert(e.path);
        ++stats.files;
        stats.bytes += e.size;
        reporter.advance(e.size, 1);
        break;
      }
      case EntryKind::Fifo:
      case EntryKind::CharDevice:
      case EntryKind::BlockDevice:
        make_special(e, parent_fd(), name, path, stats, reporter);
        break;
    }
  }
  while (!stack.empty()) close_top();
  reporter.end_phase();
  fs::sync_filesystem(root);
  return stats;
}

void refuse_mounts_inside(const stdfs::path& target) {
  std::vector<stdfs::path> mounts = fs::mount_points_inside(target);
  if (mounts.empty()) return;
  throw Error(mounts.front().string() + " is a mount point inside the data directory " + target.string() +
              " (another filesystem, or a bind mount of a directory that lives elsewhere). Replacing the data "
              "directory's tree would move that mount away and delete files that live outside the data "
              "directory, so mephisto-db does not restore or roll back a data directory with a mount inside it. "
              "Unmount " +
              mounts.front().string(),
              ErrorKind::Failure, Remedy::MountInside);
}

Staging::Staging(const stdfs::path& target, const std::string& keep) {
  refuse_mounts_inside(target);
  stdfs::path parent = target.parent_path();
  struct stat ts {
  }, ps{};
  beside_ = ::stat(target.c_str(), &ts) == 0 && ::stat(parent.c_str(), &ps) == 0 && ts.st_dev == ps.st_dev &&
            !fs::is_mount_point(target) && ::access(parent.c_str(), W_OK | X_OK) == 0;
  if (beside_) {
    own_ = std::make_unique<fs::OwnedTempDir>(parent, staging_prefix_beside(target));
  } else {
    fs::mkdirs(target / keep);
    own_ = std::make_unique<fs::OwnedTempDir>(target / keep, kStagingPrefixInside);
  }
  path_ = own_->path() / "tree";
  fs::make_dir(path_, 0700);
}

Staging::~Staging() = default;

void Staging::retire_into(const stdfs::path& trash) {
  fs::mkdirs(trash);
  fs::rename(own_->path(), trash / own_->path().filename());
  own_->release();
  fs::sync_dir(trash);
}

void swap_tree(const stdfs::path& target, const Staging& staging, const std::string& keep,
               const std::optional<Owner>& root_owner) {
  const stdfs::path& fresh = staging.path();
  if (staging.beside()) {
    bool has_keep = fs::exists(target / keep);
    if (has_keep) link_tree(target / keep, fresh / keep);
    struct stat st {};
    if (::stat(target.c_str(), &st) == 0) {  // the data dir keeps its own mode and mtime
      Owner owner = root_owner ? *root_owner : Owner{st.st_uid, st.st_gid};
      if (restores_owners()) fs::File::open_dir(fresh).set_owner(owner.uid, owner.gid);
      fs::set_mode_and_mtime(fresh, st.st_mode, st.st_mtim, false);
    }
    fs::sync_dir(fresh);
    if (fs::exchange(fresh, target)) {
      fs::sync_dir(target.parent_path());
      return;
    }
    if (has_keep) fs::remove_tree(fresh / keep);  // no RENAME_EXCHANGE here: swap entry by entry
  }
  std::vector<std::string> fresh_names = names_in(fresh), old_names = names_in(target);
  for (const std::string& name : fresh_names) {
    if (name == keep) continue;
    if (std::binary_search(old_names.begin(), old_names.end(), name))
      replace_entry(fresh / name, target / name, fresh, name);
    else
      fs::rename(fresh / name, target / name);
  }
  for (const std::string& name : old_names) {
    if (name == keep || std::binary_search(fresh_names.begin(), fresh_names.end(), name)) continue;
    fs::rename(target / name, old_holder(fresh) / name);
  }
  if (root_owner && restores_owners()) fs::File::open_dir(target).set_owner(root_owner->uid, root_owner->gid);
  fs::sync_dir(target);
  fs::sync_dir(fresh);
}

void swap_path(const stdfs::path& target, const Staging& staging, const std::string& rel) {
  stdfs::path dst = target / rel;
  fs::mkdirs(dst.parent_path());
  if (fs::exists(dst))
    replace_entry(staging.path() / rel, dst, staging.path(), stdfs::path(rel).filename());
  else
    fs::rename(staging.path() / rel, dst);
  fs::sync_dir(dst.parent_path());
}

void remove_stale_staging(const stdfs::path& target, const std::string& keep) {
  fs::sweep_abandoned(target.parent_path(), staging_prefix_beside(target));
  fs::sweep_abandoned(target / keep, kStagingPrefixInside);
}

}  // namespace mdb::store
