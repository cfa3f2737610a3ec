#include "store/snapshot_zip.h"

#include <algorithm>
#include <cstring>

#include "formats/utf8.h"

namespace mdb::store {

namespace {

// A file's bytes, read chunk by chunk from the store while the zip is written.
class ChunkInput : public zip::Input {
 public:
  ChunkInput(Store& store, std::vector<BlobId> chunks, uint64_t size)
      : store_(store), chunks_(std::move(chunks)), size_(size) {}
  size_t read(char* out, size_t n) override {
    while (pos_ == buffer_.size()) {
      if (next_ == chunks_.size()) return 0;
      buffer_ = store_.read(chunks_[next_++]);
      pos_ = 0;
    }
    size_t k = std::min(n, buffer_.size() - pos_);
    std::memcpy(out, buffer_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  std::optional<uint64_t> size() override { return size_; }
  void close() override { std::string().swap(buffer_); }

 private:
  Store& store_;
  std::vector<BlobId> chunks_;
  uint64_t size_;
  std::string buffer_;
  size_t pos_ = 0, next_ = 0;
};

}  // namespace

uint64_t write_snapshot_zip(Store& store, const SnapshotRecord& rec, std::unique_ptr<zip::Output> out,
                            Reporter& reporter) {
  std::string name = out->name();
  zip::Writer writer(std::move(out), static_cast<time_t>(rec.time_ns / 1'000'000'000));
  ManifestReader manifest(store, rec);
  Entry e;
  while (manifest.next(e)) {
    // The original's zips hold files and directories only; a hard link becomes a copy of its file.
    const char* left_out = e.kind == EntryKind::Symlink       ? " (a symlink)"
                           : e.kind == EntryKind::Fifo        ? " (a FIFO)"
                           : e.kind == EntryKind::CharDevice  ? " (a character device)"
                           : e.kind == EntryKind::BlockDevice ? " (a block device)"
                           : !utf8::valid(e.path)             ? " (its name is not UTF-8)"
                                                              : nullptr;
    if (left_out) {
      reporter.warn("Left out of " + name + ": " + e.path + left_out + "; the snapshot " + rec.name + " has it.");
      continue;
    }
    if (e.kind == EntryKind::Directory)
      writer.add_directory(e.path);
    else
      writer.add_file(e.path, std::make_unique<ChunkInput>(store, std::move(e.chunks), e.size), (e.mode & 0100) != 0);
  }
  writer.commit();
  return writer.member_count();
}

}  // namespace mdb::store
