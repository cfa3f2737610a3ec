#include "store/walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace mdb::store {

namespace {

namespace stdfs = std::filesystem;

// Items per listing job, subdirectories included; each open subdirectory counts kDirCost, so a
// job holds at most 8 descriptors besides its kSiblingsPerJob (a few hundred for the whole
// walk, even at depth). Siblings after the budget is spent are listed without their subdirectories.
constexpr size_t kJobBudget = 64, kDirCost = 8, kSiblingsPerJob = 4;
constexpr size_t kCloseBatch = 64;  // descriptors held open for close_later

void list_into(Listing& l, size_t& budget) {
  std::vector<std::string> names = sorted_names(l.dir.fd(), l.dir.path());
  l.items.reserve(names.size());
  for (std::string& name : names) {
    DirItem it;
    it.name = std::move(name);
    if (::fstatat(l.dir.fd(), it.name.c_str(), &it.st, AT_SYMLINK_NOFOLLOW) != 0) it.error = errno;
    l.items.push_back(std::move(it));
  }
  budget -= std::min(budget, l.items.size());
  for (DirItem& it : l.items) {
    if (budget == 0) return;
    if (it.error || !S_ISDIR(it.st.st_mode)) continue;
    budget -= std::min(budget, kDirCost);
    try {
      auto sub = std::make_unique<Listing>();
      sub->dir = fs::File::open_dir_at(l.dir, it.name, it.name);
      list_into(*sub, budget);
      it.sub = std::move(sub);
    } catch (const fs::IoError&) {  // the walk opens it again itself and reports what fails
    }
  }
}

}  // namespace

// Raw getdents64 on the fd we already hold: a tree of thousands of directories is walked
// with a third of the system calls readdir() needs.
std::vector<std::string> sorted_names(int dirfd, const stdfs::path& where) {
  std::vector<std::string> names;
  alignas(8) char buf[32768];
  for (;;) {
    ssize_t n = ::getdents64(dirfd, buf, sizeof buf);
    if (n < 0) throw fs::IoError("cannot read directory", where, errno);
    if (n == 0) break;
    for (ssize_t pos = 0; pos < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + pos);
      pos += d->d_reclen;
      std::string_view name(d->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
    }
  }
  std::sort(names.begin(), names.end());  // names hold no '/': bytewise order is path order
  return names;
}

Listing list_dir(fs::File dir, size_t budget) {
  Listing l;
  l.dir = std::move(dir);
  list_into(l, budget);
  return l;
}

void Lister::close_later(fs::File dir) {
  closing_.push_back(std::move(dir));
  if (closing_.size() < kCloseBatch) return;
  pool_.submit([dirs = std::move(closing_)]() mutable { dirs.clear(); });
  closing_.clear();
}

Lister::Children::~Children() {
  for (Batch& b : ahead_) b.listings.wait();
}

void Lister::Children::fill() {
  while (ahead_.size() < lister_.ahead_ && cursor_ < parent_.items.size()) {
    Batch batch;
    while (batch.indexes.size() < kSiblingsPerJob && cursor_ < parent_.items.size()) {
      size_t i = cursor_++;
      const DirItem& it = parent_.items[i];
      if (it.error || !S_ISDIR(it.st.st_mode) || it.sub || skip_(it)) continue;
      batch.indexes.push_back(i);
    }
    if (batch.indexes.empty()) return;
    // The job reads the names in place: the walk changes no item's name or the list while
    // listings of its children are under way (the destructor waits for them).
    batch.listings = lister_.pool_.submit([parent = &parent_, indexes = batch.indexes] {
      std::vector<std::optional<Listing>> out;
      size_t budget = kJobBudget;
      for (size_t i : indexes) {
        const std::string& name = parent->items[i].name;
        try {
          Listing l;
          l.dir = fs::File::open_dir_at(parent->dir, name, name);
          list_into(l, budget);
          out.emplace_back(std::move(l));
        } catch (const fs::IoError&) {
          out.emplace_back();
        }
      }
      return out;
    });
    ahead_.push_back(std::move(batch));
  }
}

Listing Lister::Children::take(size_t index) {
  DirItem& it = parent_.items[index];
  if (it.sub) {
    Listing l = std::move(*it.sub);
    it.sub.reset();
    return l;
  }
  cursor_ = std::max(cursor_, index);  // never list ahead what the walk has passed
  fill();
  while (ready_.empty() || ready_.back().first < index) {  // skipped by the walk after all
    ready_.clear();
    if (ahead_.empty() || ahead_.front().indexes.front() > index) break;
    Batch b = std::move(ahead_.front());
    ahead_.pop_front();
    std::vector<std::optional<Listing>> listings = b.listings.get();
    for (size_t k = 0; k < listings.size(); ++k) ready_.emplace_back(b.indexes[k], std::move(listings[k]));
    fill();
  }
  while (!ready_.empty() && ready_.front().first < index) ready_.pop_front();
  if (!ready_.empty() && ready_.front().first == index) {
    std::optional<Listing> l = std::move(ready_.front().second);
    ready_.pop_front();
    if (l) return std::move(*l);
  }
  return list_dir(fs::File::open_dir_at(parent_.dir, it.name, where_() / it.name), kJobBudget);
}

}  // namespace mdb::store
