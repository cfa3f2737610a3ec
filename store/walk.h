#pragma once
// The backup walk's view of directories: each one's entries in path order with their lstat
// results, listed ahead of the walk. An unchanged tree costs the walk almost only getdents64 and
// fstatat (issue 16: 73% kernel time in a no-change backup); listers on threads of their own
// list the directories in the order the walk will reach them while the walk reads the listings
// they made, so the manifest stays what a serial walk makes.
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "platform/env.h"

namespace mdb::store {

// The names in a directory, sorted bytewise (path order). Reads from the descriptor's position:
// each directory is listed once, on a descriptor opened for it.
std::vector<std::string> sorted_names(int dirfd, const std::filesystem::path& where);

struct DirItem {
  std::string name;
  struct stat st {};
  int error = 0;  // fstatat's errno; 0 when `st` holds
};

struct Listing {
  // Shared by the walk and the Lister (invariant 2), and named by its own name only when listed
  // ahead: building a full path per directory (std::filesystem copies each component) cost a
  // one-day incremental backup at S 6% of its CPU time. The walk knows where it is, and lists
  // again under the full path any directory whose listing ahead failed, so what it reports
  // names full paths.
  std::shared_ptr<const fs::File> dir;
  std::vector<DirItem> items;
  bool ahead = false;  // its subdirectories come listed ahead (Lister::take)
};

Listing list_dir(fs::File dir);

// Whether the walk goes into `item`, unless its path is one the walk leaves out: the one rule
// the walk and the listers both follow, so they meet the same directories in the same order.
inline bool descends(const DirItem& item) { return item.error == 0 && S_ISDIR(item.st.st_mode); }

// Lists directories ahead of a depth-first walk, in the walk's order, on threads of its own.
//
// Why listers that run ahead on their own rather than jobs the walk hands out: the walk needs
// each listing right after the one before, and a one-day incremental at S takes 13,000 of them
// in 150 ms. Jobs of a few siblings each, handed out by the walk, made the walk wait for most
// of them and wake a sleeping thread for each: the walking thread ran half of the walk's time,
// with a core idle a fifth of it. Here the listers keep a frontier, the directories known and
// not yet taken, in walk order: each lists the first few that no one lists yet and puts their
// subdirectories right after them; the walk takes the listings from the front. Threads meet on
// one lock, a lister once per few directories and the walk once per run of listings ready, and
// sleep only when there is nothing to list (or enough waits), or nothing is ready.
//
// Invariants:
// 1. The listers descend by descends() and the walk's `skipped`, over the same listings, so
//    the frontier holds the walk's directories in the order the walk takes them; take()
//    checks each one's path.
// 2. A directory's descriptor is shared by the walk and by its subdirectories in the frontier,
//    which are opened through it: the last one done with it closes it, so the walk may drop a
//    listing at any time, even unwinding from an error, and no lister uses a closed descriptor.
// 3. A directory no lister could list comes as a failure: the walk lists it again under its
//    full path, which is what a failure reports, and its subtree itself (not ahead).
// 4. No lister takes more once kAhead listings wait (each holding a descriptor; those under
//    way come on top), unless the walk needs that directory next: then it lists it whatever
//    waits, so the walk never waits for room that only it can make.
// 5. What a lister allocated goes back to a lister to be freed, and the walk's listings to be
//    closed, in batches (recycle()): freed by the walk, each went back to the lister's malloc
//    arena under its lock while the lister allocated from it (with one lister, the walking
//    thread slept on that lock 645 times in one incremental at S), and ext4 frees a
//    directory's hashed names on its last close, which costs about what listing it did.
class Lister {
 public:
  // Lists ahead on min(threads, 4) threads when `threads` > 1; else take() lists each
  // directory when the walk reaches it. `skipped(rel)`: the walk's rule for paths it leaves
  // out (called on the listers' threads).
  Lister(unsigned threads, std::function<bool(const std::string&)> skipped);
  Lister(const Lister&) = delete;
  Lister& operator=(const Lister&) = delete;
  ~Lister();  // stops the threads and joins them

  // Starts listing, in walk order, what is under `top`, the directory at the relative path ""
  // that the walk listed; marks `top` as listed ahead. At most once.
  void start(Listing& top);

  // The listing of `name`, a subdirectory of `parent` that the walk goes into (`rel` its
  // relative path); `where` names the parent's full path for what a failure reports.
  Listing take(const Listing& parent, const std::string& name, const std::string& rel,
               const std::function<std::filesystem::path()>& where);

  // A listing the walk is done with, freed and closed on a lister's thread (invariant 5).
  void recycle(Listing l);

 private:
  struct Node {  // a directory in the frontier
    std::string name, rel;
    std::shared_ptr<const fs::File> parent;
    enum class State { Waiting, Listing, Done } state = State::Waiting;
    std::optional<Listing> listing;  // when Done; none when it could not be listed
  };
  using Frontier = std::list<Node>;
  void work();  // a lister's thread
  Frontier::iterator first_waiting();
  void list(Node& n, Frontier& children);  // outside the lock
  void children_of(const Listing& l, const std::string& rel_dir, Frontier& out) const;
  void refill();  // the walk's: takes the Done nodes at the front, waiting for one
  void free_recycled(std::unique_lock<std::mutex>& lock);

  const unsigned threads_;
  std::function<bool(const std::string&)> skipped_;
  std::mutex mu_;
  std::condition_variable ready_, work_;
  Frontier frontier_;
  size_t done_ = 0, listing_ = 0;  // nodes in those states in frontier_
  Frontier taken_;                 // the walk's, from the front of frontier_
  struct Recycled {
    Frontier nodes;
    std::vector<Listing> listings;
  };
  Recycled recycled_;  // for a lister to free
  Recycled batch_;     // the walk's next batch for recycled_
  bool walk_waits_ = false, stop_ = false;
  unsigned idle_ = 0;              // listers waiting for work
  std::atomic<unsigned> ended_{0};  // listers ended
  std::vector<std::thread> threads_running_;
};

}  // namespace mdb::store
