#pragma once
// Zip members worked on by worker threads in batches, their results taken back in the order the
// members were added: the one way the project reads members ahead of where it uses them (an
// import's run files, written as they come back; `verify -f`'s member checks, formats/zip_sums.h).
// One hand-over per member (two futex calls and a wake-up) would cost more than reading a small
// member, so members go in batches; MDB_THREADS=1 works each on the caller, inside add().
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "base/ordered_pool.h"
#include "formats/zip.h"

namespace mdb::zip {

template <class T>
class MemberBatches {
 public:
  // `work` runs on the workers, several at once: it must only read `zip` and its member. A batch
  // goes to a worker at `batch_members` members or `batch_bytes` declared bytes.
  using Work = std::function<T(const Reader& zip, const Entry& member)>;

  MemberBatches(const Reader& zip, Work work, size_t batch_members, uint64_t batch_bytes)
      : zip_(zip), work_(std::move(work)), batch_members_(batch_members), batch_bytes_(batch_bytes),
        pool_(worker_threads()) {}
  MemberBatches(const MemberBatches&) = delete;
  MemberBatches& operator=(const MemberBatches&) = delete;

  void add(const Entry& member) {
    batch_.push_back(member);
    bytes_ += member.size;
    if (batch_.size() >= batch_members_ || bytes_ >= batch_bytes_) hand_over();
  }

  // Hands over the members added so far, for when no more are coming.
  void flush() { hand_over(); }

  // The result for the oldest member added and not taken yet, waiting for it. Only after an add()
  // whose result was not taken. When `work` threw for a member, what it threw comes at the turn of
  // the first member of its batch (every caller gives up on the whole zip then).
  T next() {
    if (taken_ == results_.size()) {
      if (pool_.pending() == 0) hand_over();  // the member is in the batch being filled
      results_ = pool_.next();
      taken_ = 0;
    }
    return std::move(results_[taken_++]);
  }

 private:
  void hand_over() {
    if (batch_.empty()) return;
    pool_.submit([this, batch = std::move(batch_)] {
      std::vector<T> out;
      out.reserve(batch.size());
      for (const Entry& e : batch) out.push_back(work_(zip_, e));
      return out;
    });
    batch_.clear();
    bytes_ = 0;
  }

  const Reader& zip_;
  const Work work_;
  const size_t batch_members_;
  const uint64_t batch_bytes_;
  std::vector<Entry> batch_;  // added, not handed over yet
  uint64_t bytes_ = 0;        // declared bytes of batch_
  std::vector<T> results_;    // of the oldest batch handed over
  size_t taken_ = 0;          // of results_
  OrderedPool<std::vector<T>> pool_;  // last: its threads are joined before the members they use go
};

}  // namespace mdb::zip
