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
  // The bytes [offset, offset + length) of the read-ahead's windows, waiting for their GETs; the
  // windows must cover them (ahead_.mu held by the caller, released while waiting).
  std::string from_windows(std::unique_lock<std::mutex>& held, uint64_t offset, size_t length);
  void add_windows(const std::string& pack);  // up to kAheadWindows, after the last one

  // Read-ahead for packs read in order (a restore): consecutive windows of one pack, the first
  // covering the last read, the next ones being fetched by the pool, and where the last read ended.
  struct Window {
    uint64_t start = 0;
    std::shared_future<std::string> bytes;  // up to kReadAhead, fewer at the pack's end
  };
  struct ReadAhead {
    std::mutex mu;
    std::string pack;
    std::deque<Window> windows;
    uint64_t next = 0;
  };

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
