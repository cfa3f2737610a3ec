#pragma once
// A backup's entries while an encrypted store's key is still being derived (Store::Unlock::Meanwhile,
// docs/SECURITY.md "Opening a store"). Blob ids are keyed, so until the key is known the entries
// walked wait here in walk order, each file read with its plain chunks and its file cache state;
// the backup stores them and writes them to the manifest, in that order, once the key is known
// (or `full()`: then it waits for the key). Bounded by `limit` bytes: a file that fills it is
// no longer held, its chunks so far stored once the key is known.
#include <sys/stat.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/manifest.h"

namespace mdb::store {

class HeldEntries {
 public:
  struct Held {
    Entry entry;
    bool read = false;  // its chunks are `chunks`, not yet stored (entry.chunks is empty)
    std::vector<std::string> chunks;
    std::optional<std::pair<std::string, struct stat>> cache;  // its file cache key and state
  };

  explicit HeldEntries(size_t limit) : limit_(limit) {}
  bool empty() const { return held_.empty(); }
  bool full() const { return bytes_ >= limit_; }
  // Entries held so far, all released ones included.
  uint64_t count() const { return count_; }

  // The file about to be read is held (its chunks kept here) when `hold`.
  void start_read(bool hold) {
    drop_chunks();
    next_.read = hold;
  }
  bool reading() const { return next_.read; }
  // Its bytes are read again from the start.
  void drop_chunks() {
    drop_bytes();
    next_.chunks.clear();
  }
  void add_chunk(std::string_view data) {
    next_.chunks.emplace_back(data);
    bytes_ += data.size();
  }
  // The chunks of the file being read, which is no longer held: too much is held already.
  std::vector<std::string> stop_reading() {
    drop_bytes();
    next_.read = false;
    return std::exchange(next_.chunks, {});
  }
  void cache(std::string key, const struct stat& st) { next_.cache.emplace(std::move(key), st); }
  void hold(Entry&& e) {
    bytes_ += e.path.size() + e.target.size() + 64;
    next_.entry = std::move(e);
    held_.push_back(std::move(next_));
    next_ = Held();
    ++count_;
  }
  // Hands every held entry to `take` in walk order and forgets them. They are moved out first:
  // `take` may hold new entries, and held_ must not grow while it is iterated.
  template <class F>
  void release(F&& take) {
    std::vector<Held> held = std::exchange(held_, {});
    bytes_ = 0;
    for (const std::string& c : next_.chunks) bytes_ += c.size();
    for (Held& h : held) take(h);
  }

 private:
  void drop_bytes() {
    for (const std::string& c : next_.chunks) bytes_ -= c.size();
  }
  size_t limit_;
  std::vector<Held> held_;
  Held next_;  // the entry being made
  size_t bytes_ = 0;
  uint64_t count_ = 0;
};

}  // namespace mdb::store
