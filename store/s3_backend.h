#pragma once
// The store in an S3 bucket, under `s3://BUCKET[/PREFIX]` (docs/S3.md): the objects `config`,
// `packs/<name>`, `pins/<name>`, `indexes/<id>` and `locks/<name>` below PREFIX, the same layout as a local store. A PUT is
// atomic and durable once it returns, so an object is spooled to a local file, handed at finish()
// to the upload threads (s3_uploads.h) and stored whole by one PUT: the bucket holds no temporaries,
// and sync() waits for the uploads, throwing the first failure.
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "platform/s3.h"
#include "platform/temp_dir.h"
#include "store/backend.h"
#include "store/s3_uploads.h"

namespace mdb::store {

// Whether `location` names an S3 store ("s3://...").
bool is_s3_location(const std::string& location);

class S3Backend : public Backend {
 public:
  // `location` is s3://BUCKET[/PREFIX]; a bad one is a usage error naming it.
  S3Backend(const std::string& location, fs::S3Settings settings);
  ~S3Backend() override;
  void create_layout() override;

  std::string where(ObjectKind kind, const std::string& name) const override;
  std::string where(ObjectKind kind) const override;
  std::unique_ptr<ObjectWriter> create(ObjectKind kind) override;
  void save(ObjectKind kind, const std::string& name, std::string_view bytes) override;
  bool create_new(ObjectKind kind, const std::string& name, std::string_view bytes) override;
  void sync(ObjectKind) override;
  std::string read(ObjectKind kind, const std::string& name, uint64_t offset, size_t length) override;
  // Fetched ahead, in the order announced, while earlier reads are consumed (docs/S3.md).
  bool plans_reads() const override { return true; }
  void will_read(ObjectKind kind, const std::string& name, uint64_t offset, size_t length) override;
  void no_more_reads_planned() override;
  void will_read_soon(ObjectKind kind, const std::string& name, uint64_t offset, size_t length) override;
  std::string read_all(ObjectKind kind, const std::string& name) override;
  std::optional<uint64_t> size(ObjectKind kind, const std::string& name) override;
  std::vector<ObjectInfo> list(ObjectKind kind) override;
  void forget(ObjectKind, const std::string&) override {}
  void remove(ObjectKind kind, const std::string& name) override;
  void remove_abandoned() override {}
  // A lock object (remote_lock.h), refreshed through a backend of its own.
  std::unique_ptr<StoreLock> lock(bool exclusive, const std::string& command) override;

 private:
  std::string dir_of(ObjectKind kind) const;  // the key prefix of a kind's objects, "" or ending in '/'
  std::string key_of(ObjectKind kind, const std::string& name) const { return dir_of(kind) + name; }
  std::string get_range(ObjectKind kind, const std::string& name, uint64_t offset, size_t length);

  UploadPool& pool();  // made at the first use

  // Read-ahead (docs/S3.md, "Read-ahead"): the spans of packs that will be read, in order (from
  // will_read(), or one open-ended span when a pack is read in order without a plan), and the
  // windows fetched from their front by the pool, at most kAheadWindows in all, across packs.
  struct Span {
    std::string pack;
    uint64_t start = 0, end = 0;  // end: kToTheEnd for a pack read in order to its end
  };
  struct Window {
    std::string pack;
    uint64_t start = 0, end = 0;
    std::shared_future<std::string> bytes;  // end - start, fewer at the pack's end
  };
  struct ReadAhead {
    std::mutex mu;
    std::deque<Span> spans;
    std::deque<Window> windows;
    std::deque<Window> soon;  // will_read_soon()'s, kSoonReads at most, taken by the read of the same range
    bool planned = false;   // will_read() was called: reads follow the plan, none is guessed
    bool complete = false;  // no_more_reads_planned(): the last span grows no more
    std::string pack;       // of the last read, and where it ended (reads without a plan)
    uint64_t next = 0;
  };
  // The windows that hold (or are fetching) [offset, offset + length) of `pack`, in order, once
  // what lies before it is dropped; none when the read is neither planned nor in order, or they
  // do not reach its end (ahead_.mu held).
  std::vector<Window> windows_for(const std::string& pack, uint64_t offset, size_t length);
  // The windows, in order, from the first one, that hold [offset, offset + length) of `pack`.
  std::vector<Window> chain(const std::string& pack, uint64_t offset, size_t length) const;
  // Starts the GETs of the next windows, while fewer than kAheadWindows are held. The last span
  // may still grow (unless the plan is complete), so its short tail waits unless a read needs
  // bytes of it before `until`.
  void add_windows(const std::string& pack = "", uint64_t until = 0);

  std::string location_;
  fs::S3Settings settings_;
  std::string bucket_, prefix_;  // prefix_: "" or "some/path/"
  std::shared_ptr<fs::S3Client> client_;
  std::unique_ptr<fs::OwnedTempDir> spool_;  // where writers spool their objects, made at the first
  uint64_t spooled_ = 0;
  std::mutex pool_mu_;
  std::unique_ptr<UploadPool> uploads_;  // after spool_: ends before the spool dir is removed
  ReadAhead ahead_;
};

}  // namespace mdb::store
