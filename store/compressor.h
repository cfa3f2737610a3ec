#pragma once
// Compresses blobs on a worker thread while the caller reads, chunks and hashes the next
// ones: on the machines we target (two cores) zstd is a third of a backup's CPU time.
// Results come back strictly in submission order, so packs are byte-for-byte what a serial
// writer makes, and the bytes in flight are bounded, so memory stays flat. In an encrypted store
// the worker also seals each compressed blob (store/crypto.h), so encryption costs the caller nothing.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "store/pack.h"

namespace mdb::store {

class Compressor {
 public:
  struct Job {
    BlobId id;
    BlobType type;
    std::string raw;
    Compression compression = Compression::None;
    std::string compressed;  // empty when stored raw
    std::string sealed;      // the stored bytes sealed, in an encrypted store
    bool is_sealed = false;
    bool done = false;

    std::string_view stored() const {
      if (is_sealed) return sealed;
      return compression == Compression::None ? raw : compressed;
    }
  };

  // `crypto`: the store's keys, or null for a plain store.
  Compressor(size_t max_bytes_in_flight, const Crypto* crypto) : max_bytes_(max_bytes_in_flight), crypto_(crypto) {}
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
  ~Compressor();  // drops unfinished jobs

  void submit(const BlobId& id, BlobType type, std::string_view raw);
  // The oldest job once it is compressed: without waiting only when it already is; with
  // `wait` always, unless nothing is in flight. Rethrows a failure of the worker.
  std::optional<Job> next(bool wait);
  // Whether the caller should wait for results before submitting more.
  bool full() const;

 private:
  void work();

  const size_t max_bytes_;
  const Crypto* crypto_;
  mutable std::mutex mu_;
  std::condition_variable wake_worker_, job_done_;
  std::deque<Job> jobs_;   // submission order; the worker takes them from `started_` on
  size_t started_ = 0;     // jobs at the front the worker has taken (or finished)
  size_t bytes_ = 0;       // raw bytes in jobs_
  bool stop_ = false;
  std::exception_ptr failure_;
  std::thread worker_;
};

}  // namespace mdb::store
