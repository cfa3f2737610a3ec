#include "store/restore.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

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

}  // namespace

SnapshotSource::SnapshotSource(Store& store, const SnapshotRecord& rec, std::optional<std::string> only)
    : store_(store), reader_(store, rec), only_(std::move(only)), bytes_(rec.bytes) {}

bool SnapshotSource::next(Entry& e) {
  while (reader_.next(e)) {
    if (!only_ || e.path == *only_ || is_under(e.path, *only_)) return true;
    if (path_less(*only_, e.path)) return false;  // past the subtree: it is contiguous in path order
  }
  return false;
}

void SnapshotSource::write_content(const Entry& e, fs::File& out) {
  uint64_t written = 0;
  for (const BlobId& id : e.chunks) {
    interrupt::check();
    std::string data = store_.read(id);
    out.write_all(data);
    written += data.size();
  }
  if (written != e.size)
    throw CorruptError("the snapshot's data for " + e.path + " has " + std::to_string(written) + " bytes, expected " +
                       std::to_string(e.size));
}

ZipSource::ZipSource(const zip::Reader& zip, const std::vector<std::string>& skip, std::optional<std::string> only,
                     int64_t mtime_ns)
    : zip_(zip), mtime_ns_(mtime_ns) {
  for (const zip::Entry& e : zip.entries()) {
    std::string path = e.name;
    while (!path.empty() && path.back() == '/') path.pop_back();
    std::string top = path.substr(0, path.find('/'));
    if (std::find(skip.begin(), skip.end(), top) != skip.end()) continue;
    if (only && path != *only && !is_under(path, *only)) continue;
    members_.emplace_back(std::move(path), &e);
    if (!e.is_directory) bytes_ += e.size;
  }
  std::sort(members_.begin(), members_.end(), [](const auto& a, const auto& b) { return path_less(a.first, b.first); });
}

bool ZipSource::next(Entry& e) {
  if (pos_ >= members_.size()) return false;
  const auto& [path, member] = members_[pos_++];
  e = Entry{};
  e.path = path;
  e.kind = member->is_directory ? EntryKind::Directory : EntryKind::File;
  e.mode = member->unix_mode & 07777;
  if (e.mode == 0) e.mode = member->is_directory ? 0755 : 0644;
  e.mtime_ns = mtime_ns_;
  e.size = member->size;
  return true;
}

void ZipSource::write_content(const Entry& e, fs::File& out) {
  auto it = std::lower_bound(members_.begin(), members_.end(), e.path,
                             [](const auto& m, const std::string& p) { return path_less(m.first, p); });
  zip_.stream(*it->second, [&](std::string_view chunk) { out.write_all(chunk); });
}

BuildStats build_tree(TreeSource& src, const stdfs::path& root, Reporter& reporter) {
  // The directories from the root down to the current entry's parent, each held open so
  // every entry is made relative to its parent's fd: no path walks, no symlink followed.
  struct OpenDir {
    std::string path;
    fs::File fd;
    Entry entry;
    bool implicit;
  };
  std::vector<OpenDir> stack;
  fs::File root_fd = fs::File::open_dir(root);
  auto top = [&] { return stack.empty() ? std::string() : stack.back().path; };
  auto parent_fd = [&]() -> const fs::File& { return stack.empty() ? root_fd : stack.back().fd; };
  auto close_top = [&] {
    OpenDir& d = stack.back();
    if (!d.implicit) d.fd.set_mode_and_mtime(d.entry.mode, d.entry.mtime_ns);
    stack.pop_back();
  };
  auto open_dir = [&](const std::string& path, mode_t mode, Entry entry, bool implicit) {
    std::string name = stdfs::path(path).filename().string();
    fs::make_dir_at(parent_fd(), name, mode, root / path);
    fs::File fd = fs::File::open_dir_at(parent_fd(), name, root / path);
    stack.push_back({path, std::move(fd), std::move(entry), implicit});
  };
  if (reporter.wants_progress()) reporter.phase("Restoring", src.total_bytes(), true);
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
    switch (e.kind) {
      case EntryKind::Directory:
        open_dir(e.path, 0700, e, false);  // writable while we fill it; its mode is set when closed
        ++stats.dirs;
        break;
      case EntryKind::Symlink:
        fs::symlink_at(e.target, parent_fd(), name, root / e.path);
        fs::set_mtime_at(parent_fd(), name, e.mtime_ns, root / e.path);
        ++stats.symlinks;
        break;
      case EntryKind::File: {
        fs::File f = fs::File::create_at(parent_fd(), name, root / e.path, 0600);
        src.write_content(e, f);
        f.set_mode_and_mtime(e.mode, e.mtime_ns);
        f.close();
        ++stats.files;
        stats.bytes += e.size;
        reporter.advance(e.size);
        break;
      }
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

void swap_tree(const stdfs::path& target, const Staging& staging, const std::string& keep) {
  const stdfs::path& fresh = staging.path();
  if (staging.beside()) {
    bool has_keep = fs::exists(target / keep);
    if (has_keep) link_tree(target / keep, fresh / keep);
    struct stat st {};
    if (::stat(target.c_str(), &st) == 0)  // the data dir keeps its own mode and mtime
      fs::set_mode_and_mtime(fresh, st.st_mode, int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec, false);
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
