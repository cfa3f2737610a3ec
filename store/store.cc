#include "store/store.h"

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "platform/temp_dir.h"
#include "store/chunker.h"
#include "store/keys.h"
#include "store/rebuild.h"
#include "store/remote_lock.h"
#include "store/remote_index.h"
#include "store/s3_backend.h"

namespace mdb::store {

namespace {

constexpr size_t kFilecacheQueueBytes = 2u << 20;
// Raw bytes handed to the compressor and not yet in a pack: enough to keep its thread
// busy across a run of small files, small against the 64 MB memory budget. 4 MiB: with 8 the
// worker's own malloc arena held as much again in compressed blobs (an initial backup at M
// peaked at 69 MB), and the initial backup at S was no faster (docs/BENCHMARKS_HISTORY.md).
constexpr size_t kCompressWindow = 4u << 20;

std::string random_hex(size_t bytes) {
  std::random_device rd;
  std::string raw;
  for (size_t i = 0; i < bytes; ++i) raw += static_cast<char>(rd() & 0xff);
  return hex(raw);
}

std::vector<std::string> list_dir(const stdfs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  return names;
}

}  // namespace

// A store whose config was lost still holds packs or an index: it exists, damaged (check_config
// says so), rather than being taken for no store at all, or made afresh over its packs.
bool Store::exists(const stdfs::path& location) {
  if (exists(*Backend::open(location))) return true;
  return !is_s3_location(location.string()) && fs::exists(location / "index" / "data.mdb");
}

bool Store::exists(Backend& backend) {
  if (backend.size(ObjectKind::Config, "config")) return true;
  std::vector<ObjectInfo> packs = backend.list(ObjectKind::Pack);
  return std::any_of(packs.begin(), packs.end(), [](const ObjectInfo& o) { return is_pack_name(o.name); });
}

// An encrypted local store keeps its index where an S3 store does (docs/SECURITY.md): the index
// holds blob ids, snapshot names and the file cache's paths, which must not lie in clear beside
// the sealed packs.
stdfs::path Store::local_dir(const stdfs::path& location, Backend& backend, bool wait) {
  std::string id = check_config(backend, wait);
  if (!is_s3_location(location.string()) && !backend.encrypted()) return location;
  if (id.empty() || id.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw Error("The store config " + backend.where(ObjectKind::Config, "config") + " has no valid id.",
                ErrorKind::Damaged);
  return fs::cache_dir() / id;
}

Store::Store(const stdfs::path& dir, Mode mode, const std::string& command, Unlock keys)
    : dir_(dir), local_(dir), backend_(Backend::open(dir)), shared_(is_s3_location(dir.string())) {
  bool write = mode != Mode::Read;
  if (write) {
    open_or_create(mode == Mode::Exclusive, command);
  } else if (!exists(dir_)) {
    throw Error("There is no store at " + dir_.string() + " yet", ErrorKind::NotFound, Remedy::FirstBackup);
  }
  local_ = local_dir(dir_, *backend_, keys == Unlock::Now);  // checks the config
  // A reading command on a shared store holds a shared lock (restic's way), so no prune on
  // another host deletes a pack it is about to read. It is named by the command the user ran.
  if (!write && shared_ && !lock_settings().no_lock) {
    const std::string& ran = lock_settings().command;
    lock_ = take_lock(*backend_, false, !ran.empty() ? ran : !command.empty() ? command : "read");
  }
  cached_ = local_ != dir_;
  if (!cached_ && !fs::exists(local_ / "index" / "data.mdb") && !pack_files(*backend_).empty())
    throw Error("The index of the store " + dir_.string() + " is missing (no " +
                    (local_ / "index" / "data.mdb").string() + ").",
                ErrorKind::Damaged, Remedy::RebuildIndex);
  // A cached index (docs/S3.md) is made when missing and brought up to date from the store's
  // index objects and pack footers by every command, under the store's lock when it holds one.
  // Before the key opened nothing is made or written: a cache to build waits for it.
  if (cached_ && !fs::exists(local_ / "index" / "data.mdb")) backend_->crypto();
  if (write || cached_) fs::mkdirs(local_ / "index");
  if (write) fs::mkdirs(tmp_dir());
  index_ = std::make_unique<Index>(open_index(write || cached_));
  if (cached_ && (key_ready() || !cache_current(*backend_, *index_))) sync_cache(*backend_, *index_);
  if (write && cached_ && !shared_) retire_plain_index();
  if (write && !shared_) index_->filter_empty_tables();  // a local store's lock is exclusive
  sweep_on_unlock_ = write;
  if (key_ready()) unlock();
  refresh_reader();
}

// An encrypted local store made before its index moved to the cache has index/ (and tmp/) beside
// its packs, in clear. The cache has its blobs and snapshots by now (sync_cache read the packs);
// the file cache is carried over, an index object naming every pack is stored (so a new cache
// reads no footers), then index/ is removed. We hold the store's lock: no writer uses it.
void Store::retire_plain_index() {
  stdfs::path old = dir_ / "index";
  if (!fs::exists(old)) return;
  unlock();  // the key first: a wrong password moves nothing
  if (fs::exists(old / "data.mdb")) {
    try {
      Index plain = Index::open(old, false);
      Txn from = plain.read();
      IndexWriter w(*index_);
      plain.for_each_filecache(from, [&](std::string_view key, const FileCacheRecord& rec) {
        index_->put_filecache(w.next(IndexWriter::Table::FileCache), key, rec);
        return true;
      });
      w.commit();
    } catch (const Error&) {  // a damaged old index: the file cache is only a cache
    }
  }
  consolidate_index_objects(*backend_, *index_);
  fs::remove_tree(old);
  fs::remove_tree(dir_ / "tmp");
  fs::sync_dir(dir_);
}

Store::~Store() = default;

Index Store::open_index(bool writable) {
  if (writable) return Index::open(local_ / "index", true);
  try {
    return Index::open(local_ / "index", false);
  } catch (const Error&) {
    // A store killed while it was made has its config but not its index (or not the index's
    // tables), and no packs: the first command to open it finishes making it, readers too.
    if (cached_ || !pack_files(*backend_).empty()) throw;
    fs::mkdirs(local_ / "index");
    return Index::open(local_ / "index", true);
  }
}

void Store::unlock() {
  backend_->crypto();
  if (!sweep_on_unlock_) return;
  sweep_on_unlock_ = false;
  remove_temporaries();
}

void Store::open_or_create(bool exclusive, const std::string& command) {
  if (shared_) {
    // The config first (hosts racing to make the store agree on the one stored first): the
    // local part is named by the store's id.
    if (!exists(*backend_)) create_config();
    local_ = local_dir(dir_, *backend_);
    fs::mkdirs(local_ / "index");
    fs::mkdirs(tmp_dir());
    lock_ = take_lock(*backend_, exclusive, command);
    return;
  }
  try {
    fs::mkdirs(dir_);
    lock_ = take_lock(*backend_, exclusive, command);
    if (exists(dir_)) return;
    // Before the config, so a store is never without it (an encrypted store's is in the cache).
    if (!encrypt_new()) fs::mkdirs(dir_ / "index");
    create_config();
  } catch (const fs::IoError& e) {
    if (e.err() == EACCES || e.err() == EROFS || e.err() == EPERM)
      throw Error("The store " + dir_.string() + " is not writable (" + e.what() + ").", ErrorKind::Io);
    throw;
  }
}

// Encrypted unless asked otherwise on S3 (it leaves the machine); plain unless asked otherwise here.
bool Store::encrypt_new() const { return key_access().encrypt.value_or(is_s3_location(dir_.string())); }

void Store::create_config() {
  backend_->create_layout();
  nlohmann::ordered_json cfg;
  bool encrypt = encrypt_new();
  cfg["format"] = "mephisto-db store";
  cfg["version"] = encrypt ? kEncryptedFormatVersion : 1;
  cfg["id"] = random_hex(16);
  cfg["compression"] = "zstd-3";
  cfg["chunking"] = {{"whole_file_max", kWholeFileMax},
                     {"database_chunk", kDatabaseChunk},
                     {"cdc_min", kCdcMin},
                     {"cdc_avg", kCdcAvg},
                     {"cdc_max", kCdcMax},
                     {"gear_seed", kGearSeed}};
  if (encrypt) encrypt_new_config(cfg, *backend_);
  // Of two hosts making the store at once, the one whose config is stored first wins; the other
  // reads that one (local_dir) and uses its id.
  backend_->create_new(ObjectKind::Config, "config", cfg.dump(2) + "\n");
}

std::string Store::check_config(Backend& backend, bool wait) {
  std::string where = backend.where(ObjectKind::Config, "config");
  if (!backend.size(ObjectKind::Config, "config"))
    throw Error("The store config " + where + " is missing, but " + backend.where(ObjectKind::Config) +
                    " holds a store's packs or index: the store is damaged.",
                ErrorKind::Damaged);
  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(backend.read_all(ObjectKind::Config, "config"));
  } catch (const nlohmann::json::exception&) {
    throw Error("The store config " + where + " is damaged (not JSON).", ErrorKind::Damaged);
  }
  if (!cfg.is_object() || cfg.value("format", "") != "mephisto-db store" || !cfg["version"].is_number_integer())
    throw Error(where + " is not a mephisto-db store config.", ErrorKind::Damaged);
  int version = cfg["version"].get<int>();
  if (version > kFormatVersion)
    throw Error("The store " + backend.where(ObjectKind::Config) + " has format version " + std::to_string(version) +
                ", newer than this build supports (" + std::to_string(kFormatVersion) +
                "). Use a newer mephisto-db.");
  if (cfg.contains("encryption") || version >= kEncryptedFormatVersion) unlock_config(cfg, backend, wait);
  return cfg.value("id", "");
}

std::unique_ptr<Backend> Store::open_backend(const stdfs::path& location) {
  std::unique_ptr<Backend> backend = Backend::open(location);
  if (backend->size(ObjectKind::Config, "config")) check_config(*backend);
  return backend;
}

void Store::remove_temporaries() {
  // Left by writers that died; we hold the lock, so no live writer owns them.
  backend_->remove_abandoned();
  fs::sweep_abandoned(tmp_dir(), "");  // temp dirs of backups (one rule for every temp dir)
  for (const std::string& name : list_dir(tmp_dir()))  // files: from before owned temp dirs
    if (!stdfs::is_directory(tmp_dir() / name)) fs::remove_file(tmp_dir() / name);
}

void Store::refresh_reader() {
  reader_.reset();
  reader_.emplace(index_->read());
  blobs_epoch_ = index_->blobs_epoch(*reader_);
}

bool Store::has(const BlobId& id) { return pending_.count(id) || index_->has_blob(*reader_, id); }

BlobId Store::add(BlobType type, std::string_view raw, bool* is_new, bool anew) {
  if (sweep_on_unlock_) unlock();
  BlobId id = blob_id(backend_->crypto(), raw);
  bool fresh = anew ? !pending_.count(id) : !has(id);
  if (is_new) *is_new = fresh;
  if (!fresh) return id;
  pending_.insert(id);
  stats_.bytes_new += raw.size();
  if (!compressor_) compressor_ = std::make_unique<Compressor>(kCompressWindow, backend_->crypto(), compress_threads());
  compressor_->submit(id, type, raw);
  append_compressed(false);
  return id;
}

void Store::append_compressed(bool all) {
  if (!compressor_) return;
  // Blobs are appended only when the window is full (or at the end), never because the worker
  // happened to finish one: the order of our writes, and so each fault-injection point, then
  // depends on the bytes added alone.
  while (all || compressor_->full()) {
    std::optional<Compressor::Blob> blob = compressor_->next();
    if (!blob) break;
    if (!pack_) pack_ = std::make_unique<PackWriter>(*backend_);
    pack_->add(blob->id, blob->type, blob->raw_len, blob->compression, blob->stored);
    stats_.bytes_stored += blob->stored.size();
    if (pack_->size() >= kPackTarget) flush_pack();
  }
}

void Store::queue_filecache(std::string key, FileCacheRecord rec) {
  rec.epoch = blobs_epoch_;  // what its chunks were found under (or added since)
  filecache_queue_.push(std::move(key), std::move(rec));
  if (filecache_queue_.bytes() >= kFilecacheQueueBytes) flush();
}

std::string Store::seal_pack() {
  append_compressed(true);
  return pack_ && !pack_->empty() ? pack_->finish(false) : std::string();
}

void Store::write_index(const std::string& sealed, const std::function<void(Txn&)>& last) {
  reader_.reset();  // lets the writes reuse pages no reader needs any more
  struct Renew {     // a failed write must not leave the store without a reader
    Store& s;
    ~Renew() {
      try {
        if (!s.reader_) s.refresh_reader();
      } catch (...) {  // already unwinding from the failed write, which is the error to report
      }
    }
  } renew{*this};
  // A pack's record goes first, so an interrupted write leaves blobs of a recorded, durable
  // pack (prune collects them).
  IndexWriter w(*index_);
  using Table = IndexWriter::Table;
  if (!sealed.empty()) {
    if (cached_) unpublished_.add_pack(sealed, pack_->size(), pack_->entries());
    index_->put_pack(w.next(Table::Other), sealed, pack_record(pack_->size(), pack_->entries()));
    for (const PackEntry& e : pack_->entries()) index_->put_blob(w.next(Table::Blobs), BlobLocation{sealed, e});
  }
  put_filecache_ready(w);
  if (last) last(w.next(Table::Other));
  w.commit();
  if (pack_)
    for (const PackEntry& e : pack_->entries()) pending_.erase(e.id);  // blobs in flight stay pending
  pack_.reset();
  refresh_reader();
}

// A record goes into the index only with or after every chunk it names (those still in flight to
// a later pack wait for it), stamped with the blob table's epoch: cached_file() then trusts a
// record of the current epoch without looking its chunks up. It keeps no epoch (0) when a blob
// left the index since its chunks were found (the epoch moved, maybe in this very transaction).
void Store::put_filecache_ready(IndexWriter& w) {
  std::unordered_set<BlobId, BlobIdHash> here;
  if (pack_)
    for (const PackEntry& e : pack_->entries()) here.insert(e.id);
  std::optional<uint64_t> now;  // read once: only puts come before, and no put moves it
  filecache_queue_.take_ready([&](const BlobId& c) { return pending_.count(c) && !here.count(c); },
                              [&](const std::string& key, FileCacheRecord& rec) {
                                Txn& t = w.next(IndexWriter::Table::FileCache);
                                if (!now) now = index_->blobs_epoch(t);
                                if (t.removed_blobs() || rec.epoch != *now) rec.epoch = 0;
                                index_->put_filecache(t, key, rec);
                              });
}

void Store::flush() {
  append_compressed(true);
  flush_pack();
}

void Store::flush_pack() {
  std::string name = pack_ && !pack_->empty() ? pack_->finish(false) : std::string();
  if (name.empty() && filecache_queue_.empty()) return;
  if (!name.empty()) backend_->sync(ObjectKind::Pack);
  bool publish = cached_ && pack_ && unpublished_.blob_count + pack_->entries().size() >= kIndexObjectBlobs;
  write_index(name, publish ? [this](Txn& t) { publish_index(t); } : std::function<void(Txn&)>());
}

// Before the index transaction that holds what it names commits: once this host has a snapshot,
// every host can learn of it without reading its packs. (An index object stored whose
// transaction then fails names only durable packs: it is true all the same.)
void Store::publish_index(Txn& t) {
  if (unpublished_.empty()) return;
  index_->put_index_object(t, put_index_object(*backend_, unpublished_));
  unpublished_ = IndexObject();
}

void Store::commit_repair(const std::vector<BlobId>& drop) {
  unlock();
  std::string data = seal_pack();
  if (!data.empty()) backend_->sync(ObjectKind::Pack);
  write_index(data, [&](Txn& t) {
    for (const BlobId& id : drop) index_->del_blob(t, id);
    if (cached_) publish_index(t);
  });
}

std::string Store::unique_snapshot_name(const std::string& base) {
  std::string name = base;
  for (int n = 2; has_snapshot(name); ++n) name = base + "_" + std::to_string(n);
  return name;
}

bool Store::has_snapshot(const std::string& name) { return index_->snapshot(*reader_, name).has_value(); }

BlobId Store::commit_snapshot(const SnapshotRecord& rec) {
  // The last data pack and the snapshot's own pack share one directory fsync, and a small
  // backup commits everything in one index transaction.
  unlock();
  std::string data = seal_pack();
  std::string bytes = encode_snapshot(rec);
  BlobId id = blob_id(backend_->crypto(), bytes);
  PackWriter w(*backend_);
  w.add(id, BlobType::Snapshot, bytes);
  std::string name = w.finish(false);
  backend_->sync(ObjectKind::Pack);
  write_index(data, [&](Txn& t) {
    if (index_->snapshot(t, rec.name))
      throw Error("a snapshot named " + rec.name + " already exists in the store", ErrorKind::Conflict);
    index_->put_pack(t, name, pack_record(w.size(), w.entries()));
    index_->put_blob(t, BlobLocation{name, w.entries().front()});
    index_->put_snapshot(t, rec.name, id);
    if (!cached_) return;
    unpublished_.add_pack(name, w.size(), w.entries());
    unpublished_.snapshots.emplace_back(rec.name, id);
    publish_index(t);
  });
  return id;
}

std::optional<BlobLocation> Store::locate(const BlobId& id) { return index_->blob(*reader_, id); }

uint64_t Store::will_read(const BlobId& id) {
  std::optional<BlobLocation> loc = locate(id);
  if (!loc) return 0;
  backend_->will_read(ObjectKind::Pack, loc->pack, loc->entry.offset, loc->entry.stored_len);
  return loc->entry.stored_len;
}

bool Store::intact(const BlobId& id) {
  if (pending_.count(id)) return true;
  try {
    read(id);
    return true;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Damaged && e.kind() != ErrorKind::NotFound) throw;
    return false;
  }
}

std::string Store::read(const BlobId& id) { return decode(read_stored(id)); }

Store::Stored Store::read_stored(const BlobId& id) {
  auto loc = locate(id);
  // A blob a snapshot needs that the index lacks: the index is damaged (or the pack is gone),
  // so the message names the index file.
  if (!loc)
    throw CorruptError("blob " + id.hex() + " is missing from the store index " +
                       (local_ / "index" / "data.mdb").string());
  std::string stored = backend_->read(ObjectKind::Pack, loc->pack, loc->entry.offset, loc->entry.stored_len);
  if (stored.size() != loc->entry.stored_len)
    throw CorruptError("pack " + loc->pack + " is damaged: it ends inside blob " + id.hex());
  return Stored{std::move(stored), "pack " + loc->pack, loc->entry, backend_->crypto()};
}

SnapshotRecord Store::read_snapshot(const BlobId& id) { return decode_snapshot(read(id), "snapshot " + id.hex()); }

std::vector<SnapshotInfo> Store::snapshots() {
  std::vector<std::pair<std::string, BlobId>> names;
  index_->for_each_snapshot(*reader_, [&](const std::string& n, const BlobId& id) { names.emplace_back(n, id); });
  std::vector<SnapshotInfo> out;
  for (auto& [name, id] : names) out.push_back(SnapshotInfo{name, id, read_snapshot(id)});
  std::stable_sort(out.begin(), out.end(),
                   [](const SnapshotInfo& a, const SnapshotInfo& b) { return a.record.time_ns < b.record.time_ns; });
  return out;
}

std::optional<SnapshotInfo> Store::find_snapshot(const std::string& spec) {
  if (auto id = index_->snapshot(*reader_, spec)) return SnapshotInfo{spec, *id, read_snapshot(*id)};
  bool hex_spec = spec.size() >= 4 && spec.size() <= 64 && std::all_of(spec.begin(), spec.end(), [](char c) {
                    return std::isxdigit(static_cast<unsigned char>(c));
                  });
  if (!hex_spec) {
    // A name the index lacks may be one its damage hides: reading every entry finds that damage.
    index_->for_each_snapshot(*reader_, [](const std::string&, const BlobId&) {});
    return std::nullopt;
  }
  std::string lower = spec;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::vector<std::pair<std::string, BlobId>> matches;
  index_->for_each_snapshot(*reader_, [&](const std::string& n, const BlobId& id) {
    if (id.hex().rfind(lower, 0) == 0) matches.emplace_back(n, id);
  });
  if (matches.empty()) return std::nullopt;
  if (matches.size() > 1) {
    std::string list;
    for (const auto& [n, id] : matches) list += (list.empty() ? "" : ", ") + n + " (" + id.hex().substr(0, 12) + ")";
    throw Error("The snapshot id prefix " + spec + " is ambiguous: it matches " + list +
                ". Give more digits or the snapshot name.", ErrorKind::NotFound);
  }
  return SnapshotInfo{matches[0].first, matches[0].second, read_snapshot(matches[0].second)};
}

std::optional<FileCacheRecord> Store::cached_file(std::string_view key) {
  auto rec = index_->filecache(*reader_, key);
  if (!rec) return std::nullopt;
  if (rec->epoch != 0 && rec->epoch == blobs_epoch_) return rec;  // put_filecache_ready()
  for (const BlobId& c : rec->chunks)
    if (!has(c)) return std::nullopt;
  return rec;
}

ManifestReader::ManifestReader(Store& store, const SnapshotRecord& rec)
    : store_(store), parts_(rec.manifest), what_("the manifest of snapshot " + rec.name) {}

bool ManifestReader::next(Entry& e) {
  while (pos_ >= current_.size()) {
    if (next_part_ >= parts_.size()) return false;
    if (next_part_ + 1 < parts_.size() && store_.backend().plans_reads()) {  // fetched while this one is used
      if (std::optional<BlobLocation> loc = store_.locate(parts_[next_part_ + 1]))
        store_.backend().will_read_soon(ObjectKind::Pack, loc->pack, loc->entry.offset, loc->entry.stored_len);
    }
    current_ = decode_manifest_part(store_.read(parts_[next_part_++]), what_);
    pos_ = 0;
    if (!current_.empty() && !last_path_.empty() && !path_less(last_path_, current_.front().path))
      throw Error(what_ + " is damaged: parts out of order at '" + current_.front().path + "'", ErrorKind::Damaged);
  }
  e = std::move(current_[pos_++]);
  last_path_ = e.path;
  return true;
}

}  // namespace mdb::store
