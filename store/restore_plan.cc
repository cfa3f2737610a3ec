#include "store/restore_plan.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "base/interrupt.h"

namespace mdb::store {

namespace {

EntryKind kind_of(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return EntryKind::Directory;
  if (S_ISLNK(st.st_mode)) return EntryKind::Symlink;
  if (S_ISFIFO(st.st_mode)) return EntryKind::Fifo;
  if (S_ISCHR(st.st_mode)) return EntryKind::CharDevice;
  if (S_ISBLK(st.st_mode)) return EntryKind::BlockDevice;
  return EntryKind::File;
}

std::string link_target(const stdfs::path& p) {
  std::error_code ec;
  stdfs::path t = stdfs::read_symlink(p, ec);
  return ec ? std::string() : t.string();
}

// Whether restoring `e` over the existing `st` at `p` changes it.
bool differs(const Entry& e, const struct stat& st, const stdfs::path& p, bool compare_mtimes) {
  EntryKind want = e.kind == EntryKind::HardLink ? EntryKind::File : e.kind;
  if (kind_of(st) != want) return true;
  if (want == EntryKind::Symlink) return link_target(p) != e.target;
  if (want != EntryKind::File) return false;  // a directory's content is its entries
  if (static_cast<uint64_t>(st.st_size) != e.size || (st.st_mode & 07777) != e.mode) return true;
  return compare_mtimes && (st.st_mtim.tv_sec != e.mtime.tv_sec || st.st_mtim.tv_nsec != e.mtime.tv_nsec);
}

// Every path under `root` (not following symlinks), relative and '/'-separated, with the size
// of the regular files; `keep` at the top is left out.
struct Current {
  EntryKind kind;
  std::optional<uint64_t> size;  // regular files only
};

std::map<std::string, Current> current_tree(const stdfs::path& root, const std::string& keep) {
  std::map<std::string, Current> out;
  std::error_code ec;
  if (!stdfs::is_directory(stdfs::symlink_status(root, ec))) return out;
  stdfs::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    interrupt::check();
    std::string rel = it->path().lexically_relative(root).generic_string();
    if (rel == keep) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;  // gone meanwhile
    Current c{kind_of(st), std::nullopt};
    if (c.kind == EntryKind::File) c.size = static_cast<uint64_t>(st.st_size);
    out[rel] = c;
  }
  return out;
}

bool at_or_under(const std::string& path, const std::string& top) {
  return path == top || (path.size() > top.size() && path.compare(0, top.size(), top) == 0 && path[top.size()] == '/');
}

}  // namespace

uint64_t RestorePlan::bytes(const std::vector<Change>& list) const {
  uint64_t n = 0;
  for (const Change& c : list) n += c.bytes;
  return n;
}

RestorePlan plan_restore(TreeSource& src, const stdfs::path& root, const std::string& keep,
                         const std::optional<std::string>& only, bool compare_mtimes) {
  RestorePlan plan;
  std::map<std::string, Current> current = current_tree(root, keep);
  std::set<std::string> in_source;  // and the parents a zip leaves implicit
  Entry e;
  while (src.next(e)) {
    interrupt::check();
    for (std::string_view p = parent_path(e.path); !p.empty(); p = parent_path(p)) in_source.emplace(p);
    in_source.insert(e.path);
    uint64_t size = e.kind == EntryKind::File || e.kind == EntryKind::HardLink ? e.size : 0;
    stdfs::path p = root / e.path;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      plan.added.push_back({e.path, size, e.kind, std::nullopt});
    } else if (differs(e, st, p, compare_mtimes)) {
      std::optional<uint64_t> before;
      if (S_ISREG(st.st_mode)) before = static_cast<uint64_t>(st.st_size);
      plan.changed.push_back({e.path, size, e.kind, before});
    }
  }
  for (const auto& [path, c] : current)
    if ((!only || at_or_under(path, *only)) && !in_source.count(path))
      plan.removed.push_back({path, c.size.value_or(0), c.kind, c.size});
  auto by_path = [](const RestorePlan::Change& a, const RestorePlan::Change& b) { return path_less(a.path, b.path); };
  for (auto* list : {&plan.added, &plan.removed, &plan.changed}) std::sort(list->begin(), list->end(), by_path);
  return plan;
}

}  // namespace mdb::store
