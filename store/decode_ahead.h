#pragma once
// A restore's blobs decoded ahead (docs/store.md, "Decoding ahead"): while the main thread
// writes the files of one entry, worker threads decrypt, decompress and check the blobs of the
// entries after it. The main thread still does every index lookup and pack read, in the
// restore's order, so a backend's reads (S3's read-ahead) see the same sequence as before; a
// blob that is missing or damaged fails when its file is written, exactly as without this.
#include <cstdint>
#include <deque>
#include <future>
#include <string>
#include <vector>

#include "base/ordered_pool.h"
#include "store/store.h"

namespace mdb::store {

class DecodeAhead {
 public:
  // Stored and decoded bytes in flight at most (plus one blob): bounds a restore's memory,
  // however large a file.
  static constexpr uint64_t kMaxBytes = 4u << 20;

  // No workers with MDB_THREADS=1: nothing is then decoded ahead (active() is false).
  explicit DecodeAhead(Store& store);
  bool active() const { return !pool_.serial(); }
  // Queues the next entry's blobs (none for an entry without content). They are read (on this
  // thread) and handed to a worker in order, as long as fewer than kMaxBytes are in flight.
  void add(std::vector<BlobId> chunks);
  // Whether queueing more entries would be of no use now: the bytes are in flight, or some
  // queued blob waits for room.
  bool full() const { return waiting_ || bytes_ >= kMaxBytes; }
  // Moves to the next queued entry; what was not taken of the current one is dropped.
  void next_entry();
  // The current entry's next blob `id`, decoded; rethrows what reading or decoding it threw.
  // Read here when none was queued (serial, or an entry queued without its blobs).
  std::string take(const BlobId& id);
  // How many blobs were decoded before take() asked for them.
  uint64_t decoded_ahead() const { return decoded_ahead_; }

 private:
  struct Blob {
    std::future<std::string> raw;
    uint64_t bytes = 0;
  };
  struct Group {
    std::vector<BlobId> ids;
    size_t started = 0;  // ids[0, started) are read, handed to a worker (or taken)
    std::deque<Blob> blobs;
  };
  // Reads and hands on the next blobs, in order, while fewer than kMaxBytes are in flight.
  void start_more();
  bool start_next(Group& g);  // false when `g` has no blob left to start or there is no room
  Blob start(const BlobId& id);

  Store& store_;
  Group current_;
  std::deque<Group> queued_;
  uint64_t bytes_ = 0, decoded_ahead_ = 0;
  bool waiting_ = false;  // a queued blob waits for room
  WorkerPool pool_;  // last: its threads end before the queues go
};

}  // namespace mdb::store
