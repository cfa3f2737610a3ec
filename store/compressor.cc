#include "store/compressor.h"

#include <algorithm>

namespace mdb::store {

void Compressor::submit(const BlobId& id, BlobType type, std::string_view raw) {
  bytes_ += raw.size();
  pool_.submit([id, type, raw = std::string(raw), crypto = crypto_]() mutable {
    Blob b{id, type, static_cast<uint32_t>(raw.size()), Compression::None, {}};
    b.stored = encode_blob(std::move(raw), crypto, b.compression);
    return b;
  });
}

std::optional<Compressor::Blob> Compressor::next() {
  if (pool_.pending() == 0) return std::nullopt;
  Blob b = pool_.next();
  bytes_ -= b.raw_len;
  return b;
}

// (Until 2026-12-05 the one worker was asked for as a pool of one thread, which is serial: every
// blob was compressed on the walking thread.)
unsigned compress_threads() { return worker_threads() <= 1 ? 0 : std::min(worker_threads(), kMaxCompressThreads); }

}  // namespace mdb::store
