#include "base/read_ahead.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace mdb {

ReadAhead::ReadAhead(ReadFn source, bool serial) : source_(std::move(source)), pool_(1, serial) { ask_ahead(); }

ReadAhead::Chunk ReadAhead::fill_chunk() {
  Chunk chunk{std::string(kChunk, '\0'), nullptr};
  size_t filled = 0;
  while (!source_done_ && filled < kChunk) {
    try {
      size_t n = source_(chunk.bytes.data() + filled, kChunk - filled);
      if (n == 0) source_done_ = true;
      filled += n;
    } catch (...) {
      source_done_ = true;
      chunk.error = std::current_exception();
    }
  }
  chunk.bytes.resize(filled);
  return chunk;
}

void ReadAhead::ask_ahead() {
  size_t room = pool_.serial() ? 1 : kChunksAhead;
  while (!end_seen_ && pool_.pending() < room) pool_.submit([this] { return fill_chunk(); });
}

// Until the last chunk came back, ask_ahead() keeps at least one chunk asked for.
size_t ReadAhead::read(char* buf, size_t n) {
  if (n == 0) return 0;
  while (at_ == chunk_.bytes.size()) {
    if (std::exception_ptr error = std::exchange(chunk_.error, nullptr)) std::rethrow_exception(error);
    if (pool_.pending() == 0) return 0;
    chunk_ = pool_.next();
    at_ = 0;
    if (chunk_.bytes.size() < kChunk) end_seen_ = true;  // a failure comes with fewer bytes too
    ask_ahead();
  }
  size_t k = std::min(n, chunk_.bytes.size() - at_);
  std::memcpy(buf, chunk_.bytes.data() + at_, k);
  at_ += k;
  return k;
}

}  // namespace mdb
