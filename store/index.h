#pragma once
// The store's index (store.md): one LMDB environment with four sub-databases.
//   blobs      blob id (32 bytes)   -> pack (16 bytes), offset, stored length, raw length, type, compression
//   packs      pack name (32 hex)   -> size, blob count, live bytes
//   snapshots  snapshot name        -> snapshot blob id
//   filecache  XXH3-128 of (data dir \0 rel path) -> size, mtime_ns, ctime_ns, inode, [epoch,] chunk ids
//   remote     index object name    -> "" (a store shared by hosts: the index objects taken in)
// Everything in it can be rebuilt from the packs (verify --repair-index), except the file
// cache, which only saves reading unchanged files. Values are copied out of LMDB before a
// transaction ends; transactions are RAII (aborted unless committed).
#include <lmdb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "formats/hash.h"
#include "store/filecache.h"
#include "store/keys_put.h"
#include "store/pack.h"

namespace mdb::store {

namespace stdfs = std::filesystem;

struct BlobLocation {
  std::string pack;  // pack name (32 hex digits)
  PackEntry entry;   // offset, lengths, type, compression (entry.id is the blob id)
};

struct PackRecord {
  uint64_t size = 0;
  uint32_t blobs = 0;
  uint64_t live_bytes = 0;
};

// The record of a pack of `size` bytes holding `entries`, all of them live.
inline PackRecord pack_record(uint64_t size, const std::vector<PackEntry>& entries) {
  PackRecord rec{size, static_cast<uint32_t>(entries.size()), 0};
  for (const PackEntry& e : entries) rec.live_bytes += e.stored_len;
  return rec;
}

class Index;

// The error for a damaged index in `dir` (what is wrong): names `dir/data.mdb` and says how to
// rebuild it from the packs.
Error index_damaged(const stdfs::path& dir, const std::string& what);

// An LMDB transaction; aborted by the destructor unless committed.
class Txn {
 public:
  Txn(Txn&& o) noexcept
      : index_(o.index_),
        txn_(std::exchange(o.txn_, nullptr)),
        writable_(o.writable_),
        removed_blobs_(o.removed_blobs_) {}
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn();
  // Durable when this returns (LMDB syncs on commit).
  void commit();
  MDB_txn* get() const { return txn_; }
  // Whether this transaction took a blob out of the blob table (and so renewed its epoch).
  bool removed_blobs() const { return removed_blobs_; }

 private:
  friend class Index;
  Txn(const Index* index, MDB_txn* txn, bool writable) : index_(index), txn_(txn), writable_(writable) {}
  const Index* index_;
  MDB_txn* txn_;
  bool writable_;
  bool removed_blobs_ = false;
};

class Index {
 public:
  // Opens (creating when `writable`) the environment in `dir`. The map size is 16 GiB of
  // address space (sparse on disk), or MDB_INDEX_MAP_SIZE bytes when that variable is set.
  static Index open(const stdfs::path& dir, bool writable);
  Index(Index&& o) noexcept;
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;
  ~Index();

  Txn read() const;
  Txn write();
  const stdfs::path& path() const { return dir_; }

  std::optional<BlobLocation> blob(const Txn& t, const BlobId& id) const;
  bool has_blob(const Txn& t, const BlobId& id) const;
  void put_blob(Txn& t, const BlobLocation& loc);
  void del_blob(Txn& t, const BlobId& id);  // renews the epoch (once per transaction)
  // A random value, never 0, made with the blob table and renewed whenever a blob leaves it: a
  // file cache record stamped with the epoch of now names blobs that are all still indexed. 0 in
  // an index that has none (one made before epochs, opened read-only).
  uint64_t blobs_epoch(const Txn& t) const;
  // Sets the epoch to `epoch` (non-zero) in `t`, which has just found every file cache record to
  // name indexed blobs only (prune, once blobs were taken out): any stamp is sound then, and
  // putting back the one before saves the next backup checking and stamping every record anew.
  void reset_blobs_epoch(Txn& t, uint64_t epoch);
  void for_each_blob(const Txn& t, const std::function<void(const BlobLocation&)>& fn) const;
  uint64_t blob_count(const Txn& t) const;
  // The leaf pages of the blob table and of the file cache (IndexWriter's estimate).
  std::pair<uint64_t, uint64_t> leaf_pages(const Txn& t) const;

  std::optional<PackRecord> pack(const Txn& t, const std::string& name) const;
  void put_pack(Txn& t, const std::string& name, const PackRecord& rec);
  void del_pack(Txn& t, const std::string& name);
  void for_each_pack(const Txn& t, const std::function<void(const std::string&, const PackRecord&)>& fn) const;

  std::optional<BlobId> snapshot(const Txn& t, const std::string& name) const;
  void put_snapshot(Txn& t, const std::string& name, const BlobId& id);
  void del_snapshot(Txn& t, const std::string& name);
  void for_each_snapshot(const Txn& t, const std::function<void(const std::string&, const BlobId&)>& fn) const;

  // The index objects (remote_index.h) this cache has taken in.
  bool has_index_object(const Txn& t, const std::string& name) const;
  void put_index_object(Txn& t, const std::string& name);
  void del_index_object(Txn& t, const std::string& name);
  std::vector<std::string> index_objects(const Txn& t) const;

  std::optional<FileCacheRecord> filecache(const Txn& t, std::string_view key) const;
  void put_filecache(Txn& t, std::string_view key, const FileCacheRecord& rec);
  // Calls fn(key, record) for every entry; fn returns false to delete the entry (write txn).
  void for_each_filecache(Txn& t, const std::function<bool(std::string_view, const FileCacheRecord&)>& fn);

  // Lowers the map budget (touched()) to kSharedMapBudget, released every kSharedTouchesPerRelease
  // lookups (8 lookups map up to 2 MiB), while `sharing` says that a command's other work runs
  // beside the store's and holds memory of its own (an import's extraction beside its snapshot):
  // there the whole index mapped took a seeded import into a new store at M over 64 MiB. Once it
  // ends, the usual budget is back: refaulting the map was a fifth of the snapshot's thread's time
  // at L for the rest of the snapshot, where that thread is what the import waits for.
  void share_memory(std::function<bool()> sharing) { sharing_ = std::move(sharing); }
  // For the writer that holds the store's lock alone, from now on the only one to write the index:
  // the blob table and the file cache, if empty now, answer a lookup of a key never put since
  // from memory (KeysPut) instead of from the map.
  void filter_empty_tables();

 private:
  Index() = default;
  [[noreturn]] void fail(const char* what, int rc) const;
  // Runs an lmdb_check, turning what it finds into index_damaged().
  void check(const std::function<void()>& fn) const;
  // lmdb_check::trees() on the pages of a read transaction.
  void check_trees() const;
  // The format record: checked, or written when missing and `writable`; also the blobs' epoch.
  void check_format(MDB_txn* txn, bool writable);
  uint64_t blobs_epoch(MDB_txn* txn) const;
  void write_epoch(MDB_txn* txn, uint64_t epoch);  // the one place the epoch is written
  MDB_stat stat(const Txn& t, MDB_dbi db) const;
  std::optional<std::string> get(const Txn& t, MDB_dbi db, std::string_view key) const;
  void put(Txn& t, MDB_dbi db, std::string_view key, std::string_view value);
  void del(Txn& t, MDB_dbi db, std::string_view key);
  void scan(const Txn& t, MDB_dbi db, const std::function<bool(std::string_view, std::string_view)>& fn) const;
  // Counts lookups; every kTouchesPerRelease of them drops the map pages from our resident
  // set, so memory stays flat however large the index (it is a file mapping). Each page fault
  // on it maps 64 KiB (the kernel's fault-around, which MADV_RANDOM does not turn off), and a
  // random key faults in about 4 pages: 32 lookups map up to 8 MiB (256 mapped 16 MiB at 80k
  // files, the whole index there). An index whose used part is at most kMapBudget is never
  // released: all of it mapped costs no more than that, and refaulting it cost a no-change
  // backup at S 15% of its CPU time (docs/BENCHMARKS_HISTORY.md). Not more than 12 MiB: at 80k files
  // the index is about 16 MB, and all of it mapped took the initial backup there to 65 MB.
  void touched() const;
  void find_map();
  static constexpr uint64_t kTouchesPerRelease = 32, kSharedTouchesPerRelease = 8;
  static constexpr size_t kMapBudget = 12u << 20, kSharedMapBudget = 4u << 20;

  stdfs::path dir_;
  MDB_env* env_ = nullptr;
  MDB_dbi blobs_ = 0, packs_ = 0, snapshots_ = 0, filecache_ = 0;
  std::optional<MDB_dbi> remote_;  // absent from an index opened read-only that never had it
  std::optional<MDB_dbi> meta_;    // the same
  void* map_addr_ = nullptr;  // where LMDB mapped data.mdb (see find_map)
  size_t map_len_ = 0;
  mutable uint64_t touches_ = 0;
  std::function<bool()> sharing_;  // see share_memory
  std::unique_ptr<KeysPut> blob_keys_, filecache_keys_;  // see filter_empty_tables
  friend class Txn;
};

// The pages that `writes` uniformly random keys dirty in a table of `leaves` leaf pages: the
// leaves they land on, about leaves * (1 - e^(-writes/leaves)), one branch page per 64 of those,
// and the pages their splits add (a leaf holds 30-45 entries; one new page per 16 writes leaves
// a margin).
double random_write_pages(uint64_t leaves, uint64_t writes);

// Writes into the index in transactions that each dirty about kDirtyPageBudget pages: LMDB holds
// a write transaction's dirty pages in memory until it commits (and keeps that many for the next
// one). Blob ids and file cache keys are uniformly random, so that is about one page per write
// in a large index, and far fewer per write in a young one (a first backup), which then commits
// far less often. Each commit writes its dirty pages again and waits for fdatasync: at 67k files
// a first backup took 141 transactions of 1024 writes and their syncs were a sixth of its time.
class IndexWriter {
 public:
  enum class Table { Blobs, FileCache, Other };
  static constexpr double kDirtyPageBudget = 1024;  // 4 MiB of 4 KiB pages

  explicit IndexWriter(Index& index) : index_(index) {}
  // The transaction for one write into `table`: the open one, or a new one when that write
  // could take the open one past the budget (which is then committed).
  Txn& next(Table table);
  // Commits the open transaction, if any.
  void commit();
  // The transactions committed so far.
  uint64_t commits() const { return commits_; }

 private:
  double dirty_pages_after(Table table) const;

  Index& index_;
  std::optional<Txn> txn_;
  std::pair<uint64_t, uint64_t> leaves_;  // blobs and file cache, when the transaction began
  uint64_t blob_writes_ = 0, filecache_writes_ = 0, other_writes_ = 0;
  uint64_t commits_ = 0;
};

}  // namespace mdb::store
