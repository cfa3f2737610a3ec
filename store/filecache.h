#pragma once
// The file cache (docs/store.md, "backup"): for each file backed up, keyed by the XXH3-128 of
// (data dir \0 relative path), what it was (size, mtime, ctime, inode) and its chunks, so that an
// unchanged file is not read again; and the records a writer holds until the index commit that
// holds their chunks.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/hash.h"

namespace mdb::store {

struct FileCacheRecord {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  std::vector<BlobId> chunks;
  // The blob table's epoch (Index::blobs_epoch) when the record went in with every chunk it names
  // indexed; 0 when not known so (records written before epochs were, or copied from another index).
  uint64_t epoch = 0;
};

// Two layouts, told apart by length: 32 bytes then the chunk ids (before epochs), or 40 bytes
// (the epoch last) then the chunk ids. A build from before epochs ignores the newer records.
std::string encode_filecache(const FileCacheRecord& r);
std::optional<FileCacheRecord> decode_filecache(std::string_view v);  // none: not a record of ours

// Records a writer queued, each held until the index commit that holds every chunk it names: a
// record trusted by its epoch must name indexed blobs only (Store::cached_file).
class FileCacheQueue {
 public:
  void push(std::string key, FileCacheRecord rec);
  size_t bytes() const { return bytes_; }  // about what the records hold
  bool empty() const { return records_.empty(); }
  // Hands `put` each record that names no chunk `unindexed` says is not indexed, in the order
  // queued, and keeps the others.
  void take_ready(const std::function<bool(const BlobId&)>& unindexed,
                  const std::function<void(const std::string& key, FileCacheRecord&)>& put);

 private:
  std::vector<std::pair<std::string, FileCacheRecord>> records_;
  size_t bytes_ = 0;
};

}  // namespace mdb::store
