#pragma once
// A sequential byte source read on a worker thread a few chunks ahead of its reader: the import's
// checks parse the dump's rows while the zip member under them is read and inflated (a fifth of
// the checks' main thread at L). The source is called on that one thread only, in order, never
// again once it returned 0 or threw; what it threw reaches the reader after the bytes before it.
#include <cstddef>
#include <exception>
#include <functional>
#include <string>

#include "base/ordered_pool.h"

namespace mdb {

class ReadAhead {
 public:
  // Fills up to n bytes of buf; 0 at the end.
  using ReadFn = std::function<size_t(char* buf, size_t n)>;

  static constexpr size_t kChunk = 256u << 10;
  static constexpr size_t kChunksAhead = 3;  // at most this many chunks (768 KiB) wait to be read

  // Starts reading. `serial`: no thread; the source is read as the reader asks (MDB_THREADS=1, one
  // core). What the source uses must outlive this object, whose destruction waits for a chunk
  // being read.
  explicit ReadAhead(ReadFn source, bool serial = worker_threads() <= 1);
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // As the source's read: up to n bytes, 0 only at the end.
  size_t read(char* buf, size_t n);

 private:
  // Up to kChunk bytes; fewer only at the end or before the source's failure, which comes with them.
  struct Chunk {
    std::string bytes;
    std::exception_ptr error;
  };
  void ask_ahead();
  Chunk fill_chunk();  // on the worker

  ReadFn source_;             // the worker's alone
  bool source_done_ = false;  // the worker's alone: the source returned 0 or threw
  bool end_seen_ = false;     // the last chunk came back: nothing more to ask for
  Chunk chunk_;            // the chunk being read
  size_t at_ = 0;
  OrderedPool<Chunk> pool_;  // last: its thread is joined before the members it uses go
};

}  // namespace mdb
