#include "store/walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "base/ordered_pool.h"

namespace mdb::store {

namespace {

namespace stdfs = std::filesystem;

// Listings waiting for the walk at most (invariant 4), listers at most, and directories a
// lister takes at a time.
constexpr size_t kAhead = 64;
constexpr unsigned kMaxListers = 4;
constexpr size_t kClaim = 4;

std::string join(const std::string& rel_dir, const std::string& name) {
  return rel_dir.empty() ? name : rel_dir + "/" + name;
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

Listing list_dir(fs::File dir) {
  Listing l;
  l.dir = std::make_shared<const fs::File>(std::move(dir));
  int fd = l.dir->fd();
  std::vector<std::string> names = sorted_names(fd, l.dir->path());
  l.items.reserve(names.size());
  for (std::string& name : names) {
    DirItem it;
    it.name = std::move(name);
    if (::fstatat(fd, it.name.c_str(), &it.st, AT_SYMLINK_NOFOLLOW) != 0) it.error = errno;
    l.items.push_back(std::move(it));
  }
  return l;
}

Lister::Lister(unsigned threads, std::function<bool(const std::string&)> skipped)
    : threads_(threads <= 1 ? 0 : std::min(threads, kMaxListers)), skipped_(std::move(skipped)) {}

Lister::~Lister() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_.notify_all();
  for (std::thread& t : threads_running_) t.join();
}

void Lister::children_of(const Listing& l, const std::string& rel_dir, Frontier& out) const {
  for (const DirItem& it : l.items) {
    if (!descends(it)) continue;
    std::string rel = join(rel_dir, it.name);
    if (skipped_(rel)) continue;
    Node& n = out.emplace_back();
    n.name = it.name;
    n.rel = std::move(rel);
    n.parent = l.dir;
  }
}

void Lister::start(Listing& top) {
  if (threads_ == 0 || !threads_running_.empty()) return;
  children_of(top, "", frontier_);
  top.ahead = true;
  for (unsigned i = 0; i < threads_; ++i) threads_running_.push_back(start_worker([this] { work(); }));
}

Lister::Frontier::iterator Lister::first_waiting() {
  auto it = frontier_.begin();
  while (it != frontier_.end() && it->state != Node::State::Waiting) ++it;
  return it;
}

void Lister::list(Node& n, Frontier& children) {
  try {
    Listing l = list_dir(fs::File::open_dir_at(*n.parent, n.name, n.name));
    l.ahead = true;
    children_of(l, n.rel, children);
    n.listing = std::move(l);
  } catch (const std::exception&) {  // invariant 3
    children.clear();
    n.listing.reset();
  }
  n.parent.reset();  // its descriptor may close once the walk and the siblings are done
}

void Lister::free_recycled(std::unique_lock<std::mutex>& lock) {
  if (recycled_.nodes.empty() && recycled_.listings.empty()) return;
  Recycled dead;
  std::swap(dead, recycled_);
  lock.unlock();
  dead = Recycled();
  lock.lock();
}

void Lister::work() {
  std::vector<Frontier::iterator> mine;
  mine.reserve(kClaim);
  std::vector<Frontier> children(kClaim);  // no allocation below that list() does not catch
  std::unique_lock lock(mu_);
  for (;;) {
    free_recycled(lock);
    if (stop_) break;
    auto it = first_waiting();
    if (it == frontier_.end() && listing_ == 0) break;  // all listed
    if (it == frontier_.end() || (done_ >= kAhead && it != frontier_.begin())) {
      ++idle_;
      work_.wait(lock);
      --idle_;
      continue;
    }
    // A few siblings at a time: each meeting on the lock costs more than listing a small directory.
    mine.clear();
    for (; it != frontier_.end() && it->state == Node::State::Waiting && mine.size() < kClaim; ++it) {
      it->state = Node::State::Listing;
      mine.push_back(it);
    }
    listing_ += mine.size();
    bool more = it != frontier_.end() && it->state == Node::State::Waiting && idle_ > 0;
    lock.unlock();
    if (more) work_.notify_one();  // another idle lister takes the next few
    for (size_t i = 0; i < mine.size(); ++i) list(*mine[i], children[i]);  // the node is this thread's while Listing
    size_t added = 0;
    lock.lock();
    for (size_t i = 0; i < mine.size(); ++i) {
      mine[i]->state = Node::State::Done;
      added += children[i].size();
      frontier_.splice(std::next(mine[i]), children[i]);
    }
    listing_ -= mine.size();
    done_ += mine.size();
    bool wake_walk = walk_waits_ && frontier_.front().state == Node::State::Done;
    bool wake_lister = added > 0 && idle_ > 0;
    lock.unlock();
    if (wake_walk) ready_.notify_one();
    if (wake_lister) work_.notify_one();
    lock.lock();
  }
  ++ended_;
  lock.unlock();
  work_.notify_all();  // the others may wait for the last listing under way
  ready_.notify_one();
}

void Lister::refill() {
  size_t n = 0;
  bool wake;
  {
    std::unique_lock lock(mu_);
    recycled_.nodes.splice(recycled_.nodes.end(), batch_.nodes);
    for (Listing& l : batch_.listings) recycled_.listings.push_back(std::move(l));
    walk_waits_ = true;
    ready_.wait(lock, [&] {
      return frontier_.empty() || frontier_.front().state == Node::State::Done || ended_ == threads_;
    });
    walk_waits_ = false;
    auto end = frontier_.begin();
    while (end != frontier_.end() && end->state == Node::State::Done) ++end, ++n;
    taken_.splice(taken_.end(), frontier_, frontier_.begin(), end);
    done_ -= n;
    wake = idle_ > 0;
  }
  batch_.listings.clear();
  if (wake) work_.notify_one();
}

void Lister::recycle(Listing l) {
  if (!l.ahead || ended_ == threads_) return;  // freed here (the listers are gone, or it was made here)
  batch_.listings.push_back(std::move(l));  // handed over at the next refill()
}

Listing Lister::take(const Listing& parent, const std::string& name, const std::string& rel,
                     const std::function<stdfs::path()>& where) {
  if (parent.ahead) {  // set by start() or a lister only
    if (taken_.empty()) refill();
    if (!taken_.empty()) {
      Node& n = taken_.front();
      if (n.rel != rel) throw std::logic_error("the backup walk met " + rel + " where the lister listed " + n.rel);
      std::optional<Listing> l = std::move(n.listing);
      batch_.nodes.splice(batch_.nodes.end(), taken_, taken_.begin());
      if (l) return std::move(*l);
    }
  }
  return list_dir(fs::File::open_dir_at(*parent.dir, name, where() / name));
}

}  // namespace mdb::store
