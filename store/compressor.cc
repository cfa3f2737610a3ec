#include "store/compressor.h"

#include <algorithm>
#include <utility>

namespace mdb::store {

namespace {

// Raw bytes per batch: at S (20k files of 13 kB on average) about a thousand wakeups of the worker
// instead of 20k, and still some 30 batches in the window.
constexpr size_t kBatchBytes = 256u << 10;

}  // namespace

Compressor::Compressor(size_t max_bytes_in_flight, const Crypto* crypto, unsigned threads)
    : max_bytes_(max_bytes_in_flight), crypto_(crypto), pool_(threads, threads == 0) {}

// Batches are cut by the bytes submitted alone, never by timing, so the packs do not depend on it.
void Compressor::submit(const BlobId& id, BlobType type, std::string_view raw) {
  bytes_ += raw.size();
  batch_bytes_ += raw.size();
  batch_.push_back(Raw{id, type, std::string(raw)});
  if (batch_bytes_ >= kBatchBytes || pool_.serial()) hand_over();
}

void Compressor::hand_over() {
  if (batch_.empty()) return;
  pool_.submit([batch = std::exchange(batch_, {}), crypto = crypto_]() mutable {
    std::vector<Blob> out;
    out.reserve(batch.size());
    for (Raw& r : batch) {
      Blob b{r.id, r.type, static_cast<uint32_t>(r.bytes.size()), Compression::None, {}};
      b.stored = encode_blob(std::move(r.bytes), r.type, crypto, b.compression);
      out.push_back(std::move(b));
    }
    return out;
  });
  batch_bytes_ = 0;
}

std::optional<Compressor::Blob> Compressor::next() {
  if (done_.empty()) {
    if (pool_.pending() == 0) hand_over();  // the oldest blobs are the ones not handed over yet
    if (pool_.pending() == 0) return std::nullopt;
    for (Blob& b : pool_.next()) done_.push_back(std::move(b));
  }
  Blob b = std::move(done_.front());
  done_.pop_front();
  bytes_ -= b.raw_len;
  return b;
}

// (Until 2026-12-05 the one worker was asked for as a pool of one thread, which is serial: every
// blob was compressed on the walking thread.)
unsigned compress_threads() { return worker_threads() <= 1 ? 0 : std::min(worker_threads(), kMaxCompressThreads); }

}  // namespace mdb::store
