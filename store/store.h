#pragma once
// The content-addressed blob store (store.md): config and packs/ (through its Backend), index/
// (LMDB; in the cache dir for an S3 or encrypted store), tmp/ and the writer lock. A Store opened for writing holds the store lock for its lifetime; readers
// need no lock (LMDB's MVCC, immutable packs).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "store/backend.h"
#include "store/compressor.h"
#include "store/index.h"
#include "platform/lock.h"
#include "store/manifest.h"
#include "store/pack.h"
#include "store/remote_index.h"

namespace mdb::store {

namespace stdfs = std::filesystem;

inline constexpr int kFormatVersion = 2;
// Encrypted stores are written as version 2, so a build from before encryption refuses them
// rather than reading sealed packs as damaged ones; plain stores stay version 1.
inline constexpr int kEncryptedFormatVersion = 2;
inline constexpr uint64_t kPackTarget = 32u << 20;

struct SnapshotInfo {
  std::string name;
  BlobId id;
  SnapshotRecord record;
};

// What a writer added since it was opened.
struct WriteStats {
  uint64_t bytes_new = 0;     // raw bytes of new blobs
  uint64_t bytes_stored = 0;  // the same as stored (compressed)
};

class Store {
 public:
  // Write: creates the store when missing and takes the store lock for `command` (shared, in a
  // store hosts share); Exclusive: the same with the exclusive lock (prune, repairs).
  // Read: the store must exist. A store of a newer format version is refused.
  // A store hosts share (on S3) brings its cache up to date first (remote_index.h).
  enum class Mode { Read, Write, Exclusive };
  // Now: an encrypted store's key is derived (Argon2id) before the constructor returns.
  // Meanwhile: on a worker while the caller goes on (a backup walks its data dir); whatever
  // needs the key waits for it (Backend::crypto), and a wrong password is thrown there. Its cache
  // must be current then (else it is brought up to date first, which needs the key), and the
  // store's temporaries are swept only once the key opened (unlock()).
  enum class Unlock { Now, Meanwhile };
  Store(const stdfs::path& dir, Mode mode, const std::string& command = "", Unlock unlock = Unlock::Now);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // Whether the store at `location` (a directory, s3://...) has its config, asked through its
  // Backend like every other object.
  static bool exists(const stdfs::path& location);
  static bool exists(Backend& backend);
  // Throws unless the backend's `config` is a store config of a format this build reads;
  // returns the store's id. An encrypted store's keys are unlocked here (store/keys.h) and given
  // to `backend`: a wrong password or a changed config byte throws.
  static std::string check_config(Backend& backend, bool wait = true);
  // Where the local part of the store at `location` is (index/, tmp/): the store's directory
  // itself, or for a store on S3 or an encrypted one `<cache dir>/<store id>` (docs/S3.md).
  static stdfs::path local_dir(const stdfs::path& location, Backend& backend, bool wait = true);
  // The backend of the store at `location` with its keys unlocked when it has a config.
  static std::unique_ptr<Backend> open_backend(const stdfs::path& location);
  // The location: a directory or s3://BUCKET[/PREFIX].
  const stdfs::path& dir() const { return dir_; }
  stdfs::path tmp_dir() const { return local_ / "tmp"; }
  Index& index() { return *index_; }
  // For a command whose other work runs beside the store's while `sharing` (Index::share_memory).
  void share_memory(std::function<bool()> sharing) { index_->share_memory(std::move(sharing)); }
  // Where the packs and the config are (the index and tmp/ stay on the local disk).
  Backend& backend() { return *backend_; }
  // Whether hosts share the store (on S3): lock objects beside the packs.
  bool shared() const { return shared_; }
  // Whether the index is a cache in `<cache dir>/<store id>` (an S3 store, an encrypted local one),
  // kept current from index objects beside the packs (remote_index.h).
  bool cached() const { return cached_; }

  // ---- writing blobs (Write mode) ----
  // Stores `raw` unless the store has it; returns its id. `is_new` tells which. With `anew`
  // it is stored even when the index has it (that copy is damaged): once the new pack is
  // indexed, the id names the new copy.
  BlobId add(BlobType type, std::string_view raw, bool* is_new = nullptr, bool anew = false);
  bool has(const BlobId& id);
  // The id `raw` has in this store: its SHA-256, or in an encrypted store its HMAC.
  BlobId id_of(std::string_view raw) const { return blob_id(backend_->crypto(), raw); }
  bool encrypted() const { return backend_->encrypted(); }
  // Whether the key is known (or the store is plain), without waiting for it.
  bool key_ready() const { return backend_->crypto_ready(); }
  // Waits for the key (throws a wrong password), then does what waited for it.
  void unlock();
  // Queues a file cache entry, its chunks found in the index or added since the last commit;
  // written with the first index commit that holds all its chunks (put_filecache_ready).
  void queue_filecache(std::string key, FileCacheRecord rec);
  // What this writer added so far, blobs still being compressed included (it waits for them).
  const WriteStats& stats() {
    append_compressed(true);
    return stats_;
  }

  // Writes `rec` as a snapshot blob in a pack of its own and commits `rec.name -> blob` in
  // one index transaction: the snapshot exists once this returns. Flushes first.
  BlobId commit_snapshot(const SnapshotRecord& rec);
  // Indexes the blobs added so far (their pack durable first) and, in the same last
  // transaction, removes `drop` from the index: blobs found damaged that could not be stored
  // anew, so that no backup reuses them and no file cache entry naming them matches.
  void commit_repair(const std::vector<BlobId>& drop);
  // `base`, or `base_2`, `base_3`, ... whichever no snapshot has yet.
  std::string unique_snapshot_name(const std::string& base);
  bool has_snapshot(const std::string& name);

  // ---- reading ----
  // The verified plaintext of a blob (throws CorruptError when damaged, Error when missing).
  std::string read(const BlobId& id);
  // read() in two halves, for a restore that decodes ahead on workers: the index lookup and
  // the pack read (this Store's thread), then the decryption, decompression and id check,
  // which touch only `crypto` and may run on any thread.
  struct Stored {
    std::string bytes, where;
    PackEntry entry;
    const Crypto* crypto = nullptr;
  };
  Stored read_stored(const BlobId& id);
  static std::string decode(const Stored& s) { return decode_blob(s.bytes, s.entry, s.where, s.crypto); }
  std::optional<BlobLocation> locate(const BlobId& id);
  // Announces that `id` will be read (Backend::will_read), after those announced before; returns
  // the bytes it takes in its pack (0: not in the index, its read() will say so).
  uint64_t will_read(const BlobId& id);
  // Whether the blob reads back whole (decompressed and re-hashed); one this writer has not
  // indexed yet counts as whole.
  bool intact(const BlobId& id);
  std::vector<SnapshotInfo> snapshots();  // sorted by time, oldest first
  SnapshotRecord read_snapshot(const BlobId& id);
  // By exact name, or by unique prefix (>= 4 hex digits) of the snapshot id; nullopt when
  // nothing matches; mdb::Error listing the candidates when the prefix is ambiguous.
  std::optional<SnapshotInfo> find_snapshot(const std::string& spec);
  // The index state every read of this Store sees: taken when it was opened, renewed only by
  // this Store's own commits and reload(). Readers that also use index() directly pass it.
  const Txn& state() const { return *reader_; }
  // Sees index changes made through index() directly (prune).
  void reload() { refresh_reader(); }

  // The file cache entry for `key`, if every chunk it lists is still in the store: looked up,
  // unless the entry has the current blobs' epoch (Index::blobs_epoch). An entry of another
  // epoch that passes is worth queueing again (it then gets this one).
  std::optional<FileCacheRecord> cached_file(std::string_view key);
  uint64_t blobs_epoch() const { return blobs_epoch_; }
  // Whether file cache records wait for a commit (each stamped with the epoch it was queued under).
  bool filecache_queued() const { return !filecache_queue_.empty(); }

 private:
  void open_or_create(bool exclusive, const std::string& command);
  // Stores an index object naming what this writer added since the last one (remote_index.h);
  // `t` records that this cache has it.
  void publish_index(Txn& t);
  void create_config();
  // The index at local_ / "index", for writing or for reading.
  Index open_index(bool writable);
  bool encrypt_new() const;  // whether a store made now is encrypted
  void retire_plain_index();
  void remove_temporaries();
  void refresh_reader();
  // Appends compressed blobs to the open pack in the order they were added, sealing and
  // indexing the pack whenever it reaches kPackTarget; with `all`, every blob in flight.
  void append_compressed(bool all);
  // Finishes the open pack and commits its blobs and the queued file cache entries.
  void flush();
  void flush_pack();  // the same, for the blobs already appended
  // Finishes the open pack (file fsynced and renamed; the caller fsyncs the dir). Returns
  // its name, or "" when no pack is open.
  std::string seal_pack();
  // Indexes the sealed open pack (if `sealed` names it) and the queued file cache entries,
  // then runs `last` in the final transaction; resets the writer state.
  void write_index(const std::string& sealed, const std::function<void(Txn&)>& last);
  // Puts the queued file cache records whose chunks are all indexed once `w` commits.
  void put_filecache_ready(IndexWriter& w);

  stdfs::path dir_;
  stdfs::path local_;  // the lock, index/ and tmp/: dir_, or a cache dir for a remote store
  std::unique_ptr<Backend> backend_;
  bool shared_ = false;  // a store hosts share: lock objects
  bool cached_ = false;  // the index is a cache (local_ is the cache dir), kept from index objects
  bool sweep_on_unlock_ = false;  // remove_temporaries() once the key opened
  std::unique_ptr<StoreLock> lock_;
  IndexObject unpublished_;  // packs indexed here, no index object names yet (cached_)
  std::unique_ptr<Index> index_;
  std::optional<Txn> reader_;  // a read snapshot of the index, renewed after each commit
  std::unique_ptr<PackWriter> pack_;
  std::unique_ptr<Compressor> compressor_;  // created by the first add()
  std::unordered_set<BlobId, BlobIdHash> pending_;  // blobs added and not yet indexed (in flight or in the open pack)
  FileCacheQueue filecache_queue_;
  uint64_t blobs_epoch_ = 0;  // of reader_
  WriteStats stats_;
};

// Iterates a snapshot's manifest entries in path order, one part in memory at a time.
class ManifestReader {
 public:
  ManifestReader(Store& store, const SnapshotRecord& rec);
  // Fills `e` with the next entry; false at the end.
  bool next(Entry& e);

 private:
  Store& store_;
  std::vector<BlobId> parts_;
  size_t next_part_ = 0;
  std::vector<Entry> current_;
  size_t pos_ = 0;
  std::string last_path_;
  std::string what_;
};

}  // namespace mdb::store
