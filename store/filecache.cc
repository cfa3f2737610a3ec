#include "store/filecache.h"

#include <algorithm>

#include "formats/bytes.h"

namespace mdb::store {

namespace {

size_t bytes_of(const std::string& key, const FileCacheRecord& rec) {
  return key.size() + 64 + rec.chunks.size() * 32;
}

}  // namespace

std::string encode_filecache(const FileCacheRecord& r) {
  std::string out;
  put_u64(out, r.size);
  put_u64(out, static_cast<uint64_t>(r.mtime_ns));
  put_u64(out, static_cast<uint64_t>(r.ctime_ns));
  put_u64(out, r.inode);
  put_u64(out, r.epoch);
  for (const BlobId& c : r.chunks) out += c.raw();
  return out;
}

std::optional<FileCacheRecord> decode_filecache(std::string_view v) {
  size_t head = v.size() % 32 == 8 ? 40 : 32;
  if (v.size() < head || (v.size() - head) % 32 != 0) return std::nullopt;
  FileCacheRecord r;
  r.size = get_u64(v, 0);
  r.mtime_ns = static_cast<int64_t>(get_u64(v, 8));
  r.ctime_ns = static_cast<int64_t>(get_u64(v, 16));
  r.inode = get_u64(v, 24);
  if (head == 40) r.epoch = get_u64(v, 32);
  for (size_t pos = head; pos < v.size(); pos += 32)
    r.chunks.push_back(BlobId::from_raw(v.substr(pos, 32), "filecache"));
  return r;
}

void FileCacheQueue::push(std::string key, FileCacheRecord rec) {
  bytes_ += bytes_of(key, rec);
  records_.emplace_back(std::move(key), std::move(rec));
}

void FileCacheQueue::take_ready(const std::function<bool(const BlobId&)>& unindexed,
                                const std::function<void(const std::string&, FileCacheRecord&)>& put) {
  std::vector<std::pair<std::string, FileCacheRecord>> later;
  size_t later_bytes = 0;
  for (auto& [key, rec] : records_) {
    if (std::none_of(rec.chunks.begin(), rec.chunks.end(), unindexed)) {
      put(key, rec);
      continue;
    }
    later_bytes += bytes_of(key, rec);
    later.emplace_back(std::move(key), std::move(rec));
  }
  records_ = std::move(later);
  bytes_ = later_bytes;
}

}  // namespace mdb::store
