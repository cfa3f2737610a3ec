#pragma once
// The backup walk's view of directories: each one's entries in path order with their lstat
// results, listed ahead of the walk on worker threads. An unchanged tree costs the walk almost
// only getdents64 and fstatat (issue 16: 73% kernel time in a no-change backup); spreading those
// over the cores while the walk consumes the listings in order keeps the manifest what a serial
// walk makes.
#include <sys/stat.h>

#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/ordered_pool.h"
#include "platform/env.h"

namespace mdb::store {

// The names in a directory, sorted bytewise (path order). Reads from the descriptor's position:
// each directory is listed once, on a descriptor opened for it.
std::vector<std::string> sorted_names(int dirfd, const std::filesystem::path& where);

struct Listing;

struct DirItem {
  std::string name;
  struct stat st {};
  int error = 0;                 // fstatat's errno; 0 when `st` holds
  std::unique_ptr<Listing> sub;  // a subdirectory listed along with its parent
};

struct Listing {
  // Opened by its path, or, when listed ahead, named by its own name only: building a full path
  // per directory (std::filesystem copies each component) cost a one-day incremental backup at S
  // 6% of its CPU time. The walk knows where it is, and lists again under the full path any
  // directory whose listing ahead failed, so what it reports names full paths.
  fs::File dir;
  std::vector<DirItem> items;
};

// Lists `dir`, and its subdirectories too while the items listed stay within `budget`
// (small subtrees, such as a unit's agent directories, come in one job).
Listing list_dir(fs::File dir, size_t budget);

class Lister {
 public:
  explicit Lister(unsigned threads) : ahead_(threads <= 1 ? 0 : 2 * size_t{threads}), pool_(threads) {}

  // Closes the directories the walk is done with on a worker: closing one costs the kernel about
  // as much as listing it (ext4 frees the names it hashed for getdents64), a sixth of the walking
  // thread's time at S. Batched, to hand over few jobs.
  void close_later(fs::File dir);

  // The subdirectories of one listing, handed out in order, the next few listed in advance,
  // several siblings a job (a unit's directories are small: one job each cost more in handing
  // over between threads than in listing).
  class Children {
   public:
    // `skip`: items the walk leaves out (not listed ahead). `where`: the parent's full path, for
    // what a failure reports.
    Children(Lister& lister, Listing& parent, std::function<bool(const DirItem&)> skip,
             std::function<std::filesystem::path()> where)
        : lister_(lister), parent_(parent), skip_(std::move(skip)), where_(std::move(where)) {}
    Children(const Children&) = delete;
    Children& operator=(const Children&) = delete;
    ~Children();  // waits for the listings under way: they use the parent's descriptor
    // The listing of parent.items[index], a directory; indexes must increase.
    Listing take(size_t index);

   private:
    // One job's siblings: their indexes in the parent, and their listings (none where opening
    // one failed: the walk opens it again itself and reports what fails).
    struct Batch {
      std::vector<size_t> indexes;
      std::future<std::vector<std::optional<Listing>>> listings;
    };
    void fill();
    Lister& lister_;
    Listing& parent_;
    std::function<bool(const DirItem&)> skip_;
    std::function<std::filesystem::path()> where_;
    size_t cursor_ = 0;  // the next item to consider listing ahead
    std::deque<Batch> ahead_;
    std::deque<std::pair<size_t, std::optional<Listing>>> ready_;  // of the batch taken last
  };

 private:
  const size_t ahead_;  // subdirectories listed in advance, per directory being walked
  std::vector<fs::File> closing_;  // for close_later's next batch
  WorkerPool pool_;
};

}  // namespace mdb::store
