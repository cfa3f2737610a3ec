#pragma once
// Compresses blobs on worker threads while the caller reads, chunks and hashes the next ones:
// on the machines we target (two cores) zstd is a third of a backup's CPU time. It is the
// project's one worker pool (base/ordered_pool.h): results come back strictly in submission
// order, so packs are byte-for-byte what a serial writer makes ($MDB_THREADS=1 compresses on the
// caller's thread). The raw bytes in flight are bounded, and a blob waits compressed (its raw
// bytes dropped, its buffer no larger than its bytes), so memory stays flat. In an encrypted
// store the workers also seal each compressed blob (store/crypto.h).
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "base/ordered_pool.h"
#include "store/pack.h"

namespace mdb::store {

class Compressor {
 public:
  struct Blob {
    BlobId id;
    BlobType type = BlobType::Data;
    uint32_t raw_len = 0;
    Compression compression = Compression::None;
    std::string stored;  // what the pack holds: compressed or raw, then sealed in an encrypted store
  };

  // `crypto`: the store's keys, or null for a plain store. `threads`: the worker threads, 0 runs
  // each job in submit().
  Compressor(size_t max_bytes_in_flight, const Crypto* crypto, unsigned threads);
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
  ~Compressor() = default;  // drops the jobs not started, waits for the running ones

  void submit(const BlobId& id, BlobType type, std::string_view raw);
  // The oldest blob, waiting until it is compressed; none when nothing is in flight. Rethrows
  // a failure of its job.
  std::optional<Blob> next();
  // Whether the caller should take results before submitting more: the raw bytes submitted and
  // not taken reach the bound.
  bool full() const { return bytes_ >= max_bytes_; }
  // Whether jobs run inside submit(), on the caller's thread.
  bool serial() const { return pool_.serial(); }

 private:
  struct Raw {
    BlobId id;
    BlobType type;
    std::string bytes;
  };
  void hand_over();

  const size_t max_bytes_;
  const Crypto* crypto_;
  size_t bytes_ = 0;  // raw bytes of the blobs in flight
  // Blobs go to the worker in batches (a job each): waking it and waiting for it cost the caller
  // about what compressing a small file does. Blobs submitted and not yet handed over, the
  // batches handed over, and the blobs of the oldest batch done and not yet taken.
  std::vector<Raw> batch_;
  size_t batch_bytes_ = 0;
  OrderedPool<std::vector<Blob>> pool_;
  std::deque<Blob> done_;
};

// The worker threads the store compresses on: none with $MDB_THREADS=1 (the caller's thread
// compresses), else at most kMaxCompressThreads. One worker
// beside the walking thread, as measured at 80k files: a second one (each holds a zstd context and
// a blob being compressed, a few MiB) cost 4 MiB of RSS and twice the context switches for no CPU
// time saved on two cores, where the walk's listers and the caller use the other core.
inline constexpr unsigned kMaxCompressThreads = 1;
unsigned compress_threads();

}  // namespace mdb::store
