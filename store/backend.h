#pragma once
// Where a store keeps its objects (store.md "Layout"). The blob store above this knows objects
// by kind and name only, so the same engines run on a local directory (local_backend.h) and
// on S3-compatible object storage (s3_backend.h). The index (LMDB), the file cache and scratch space
// are not objects: they stay on the local disk beside the store.
//
// The contract (tests/store/backend_contract_test.cc holds every backend to it):
//   1. An object is visible under its name only once it is complete and durable: after
//      ObjectWriter::finish() and sync(kind), or save(), return. A reader never sees part of one.
//   2. Packs are named by their content and never rewritten; save() replaces an object of the
//      same name atomically (the config, pins): readers see the old bytes or the new, never a mix.
//   3. read() returns the bytes asked for, fewer only where the object ends; it (and read_all) throws
//      CorruptError when the object is missing, IoError when the medium fails.
//   4. list() names each complete object of a kind once, with its size; never a temporary.
//   5. remove() of a missing object is not an error.
//   6. A writer that dies leaves at most temporaries, which remove_abandoned() deletes; the
//      caller holds the store's writer lock, so no live writer owns one.
//   7. create_new() stores an object only when none of that name exists, atomically: of two
//      callers (two hosts) racing for one name exactly one gets true (S3: If-None-Match: *).
#include <cstdint>
#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace mdb::store {

class Crypto;

// A damaged or missing pack or blob. Carries what it concerns so verify can name the snapshots hit.
class CorruptError : public Error {
 public:
  explicit CorruptError(const std::string& message) : Error(message, ErrorKind::Damaged) {}
};

// Index: `indexes/<sha256>`, what a writer added (remote_index.h); Lock: `locks/<random>`, a
// command's lock on a store shared by hosts (remote_lock.h).
enum class ObjectKind { Config, Pack, Pin, Index, Lock };

// "pack", "pin", "store config": for messages.
std::string object_kind_word(ObjectKind kind);

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
};

// A new object being written. Nothing is visible until finish(); destroying an unfinished
// writer removes what it wrote.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual void append(std::string_view bytes) = 0;
  // Makes the object durable under `name` (contract 1: its name is durable once the
  // backend's sync(kind) returns).
  virtual void finish(const std::string& name) = 0;
};

// A command's hold on a store, released when destroyed: the lock file of a local store
// (platform/lock.h), a lock object in a store shared by hosts (remote_lock.h).
class StoreLock {
 public:
  virtual ~StoreLock() = default;
};

class Backend {
 public:
  // The backend of the store at `location`: s3://BUCKET[/PREFIX] (s3_backend.h, settings from
  // the environment by the AWS conventions), else a local directory.
  static std::unique_ptr<Backend> open(const std::filesystem::path& location);

  virtual ~Backend() = default;
  // Where an object is, for messages (a path, a URL).
  virtual std::string where(ObjectKind kind, const std::string& name) const = 0;
  // Where the objects of a kind are, for messages.
  virtual std::string where(ObjectKind kind) const = 0;

  // Makes the places a new store's objects go (a local directory's subdirectories).
  virtual void create_layout() = 0;
  virtual std::unique_ptr<ObjectWriter> create(ObjectKind kind) = 0;
  // Writes a whole small object, replacing one of the same name atomically.
  virtual void save(ObjectKind kind, const std::string& name, std::string_view bytes) = 0;
  // Stores a whole small object under `name` unless one exists (contract 7): false then,
  // changing nothing.
  virtual bool create_new(ObjectKind kind, const std::string& name, std::string_view bytes) = 0;
  // Makes the names of objects finished since the last call durable (one directory fsync
  // for many packs on a local disk).
  virtual void sync(ObjectKind kind) = 0;

  virtual std::string read(ObjectKind kind, const std::string& name, uint64_t offset, size_t length) = 0;
  // Whether announcing reads helps (a remote backend fetches them ahead): a reader then calls
  // will_read() for the ranges it will read, in the order it will read them, ahead of the
  // read()s. A hint never changes what read() returns; a local directory ignores them.
  virtual bool plans_reads() const { return false; }
  virtual void will_read(ObjectKind, const std::string&, uint64_t, size_t) {}
  // The reads announced so far are all that will be (until the next will_read()).
  virtual void no_more_reads_planned() {}
  // A read coming soon but outside that order (a manifest's next part, read as the files before
  // it are): fetched now and kept until read, the two latest at most.
  virtual void will_read_soon(ObjectKind, const std::string&, uint64_t, size_t) {}
  virtual std::string read_all(ObjectKind kind, const std::string& name) = 0;
  virtual std::optional<uint64_t> size(ObjectKind kind, const std::string& name) = 0;
  virtual std::vector<ObjectInfo> list(ObjectKind kind) = 0;
  // Lets go of anything cached for an object about to be removed or replaced.
  virtual void forget(ObjectKind kind, const std::string& name) = 0;
  virtual void remove(ObjectKind kind, const std::string& name) = 0;
  virtual void remove_abandoned() = 0;
  // Locks the store for `command`: `exclusive` for commands that remove objects, shared for
  // those that add. Throws mdb::Error (busy) naming the holder when another holds it.
  virtual std::unique_ptr<StoreLock> lock(bool exclusive, const std::string& command) = 0;

  // The keys of an encrypted store once a password unlocked them (store/keys.h); null for a plain
  // store. Pack readers and writers take them from here. While the keys are still being derived
  // (set_crypto_later) these wait for them, and throw what unlocking threw (a wrong password).
  const Crypto* crypto() const {
    if (unlocking_.load(std::memory_order_acquire)) await_crypto();
    return crypto_.get();
  }
  const std::shared_ptr<const Crypto>& shared_crypto() const {
    crypto();
    return crypto_;
  }
  void set_crypto(std::shared_ptr<const Crypto> crypto) { crypto_ = std::move(crypto); }
  // The keys, derived on a worker (keys.cc): whoever needs them first waits.
  void set_crypto_later(std::shared_future<std::shared_ptr<const Crypto>> keys);
  // Whether the store is encrypted, without waiting for its keys.
  bool encrypted() const { return unlocking_.load(std::memory_order_acquire) || crypto_; }
  // Whether the keys are known (or the store is plain), without waiting.
  bool crypto_ready() const;
  // A whole small object (pins, index objects, lock objects): sealed in an encrypted store, as
  // it is in a plain one. opened() throws CorruptError naming the object when its bytes were changed.
  std::string sealed(std::string_view bytes) const;
  std::string opened(ObjectKind kind, const std::string& name, std::string bytes) const;
  void save_sealed(ObjectKind kind, const std::string& name, std::string_view bytes) {
    save(kind, name, sealed(bytes));
  }
  std::string read_sealed(ObjectKind kind, const std::string& name) { return opened(kind, name, read_all(kind, name)); }

 private:
  void await_crypto() const;
  mutable std::shared_ptr<const Crypto> crypto_;
  mutable std::shared_future<std::shared_ptr<const Crypto>> later_;
  mutable std::atomic<bool> unlocking_{false};
  mutable std::mutex unlock_mu_;
};

}  // namespace mdb::store
