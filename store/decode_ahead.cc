#include "store/decode_ahead.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include "base/malloc_policy.h"

namespace mdb::store {

namespace {

// Two workers keep ahead of the main thread, which spends most of its time in the kernel
// creating files; more would only hold more memory.
constexpr unsigned kMaxThreads = 2;

unsigned decode_threads() {
  share_one_malloc_arena();  // decoded blobs are freed by the main thread
  return std::min(worker_threads(), kMaxThreads);
}

}  // namespace

DecodeAhead::DecodeAhead(Store& store) : store_(store), pool_(decode_threads()) {}

DecodeAhead::Blob DecodeAhead::start(const BlobId& id) {
  Blob b;
  try {
    Store::Stored s = store_.read_stored(id);
    b.bytes = s.entry.raw_len + s.bytes.size();
    b.raw = pool_.submit([s = std::move(s)] { return Store::decode(s); });
  } catch (...) {  // the index or the pack: fails when the file is written, as without decoding ahead
    std::promise<std::string> failed;
    failed.set_exception(std::current_exception());
    b.raw = failed.get_future();
  }
  return b;
}

bool DecodeAhead::start_next(Group& g) {
  if (g.started == g.ids.size() || bytes_ >= kMaxBytes) return false;
  Blob b = start(g.ids[g.started++]);
  bytes_ += b.bytes;
  g.blobs.push_back(std::move(b));
  return true;
}

void DecodeAhead::start_more() {
  waiting_ = true;
  while (start_next(current_)) {
  }
  if (current_.started < current_.ids.size()) return;
  for (Group& g : queued_) {
    while (start_next(g)) {
    }
    if (g.started < g.ids.size()) return;
  }
  waiting_ = false;
}

void DecodeAhead::add(std::vector<BlobId> chunks) {
  queued_.push_back(Group{std::move(chunks), 0, {}});
  start_more();
}

void DecodeAhead::next_entry() {
  for (const Blob& b : current_.blobs) bytes_ -= b.bytes;
  current_ = Group{};
  if (!queued_.empty()) {
    current_ = std::move(queued_.front());
    queued_.pop_front();
  }
  start_more();
}

std::string DecodeAhead::take(const BlobId& id) {
  if (current_.blobs.empty()) {
    if (current_.started < current_.ids.size()) ++current_.started;  // this one, read here
    return store_.read(id);
  }
  Blob b = std::move(current_.blobs.front());
  current_.blobs.pop_front();
  bytes_ -= b.bytes;
  start_more();
  bool ready = b.raw.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  std::string out = b.raw.get();
  if (ready) ++decoded_ahead_;
  return out;
}

}  // namespace mdb::store
