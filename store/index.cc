#include "store/index.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>

#include "formats/bytes.h"
#include "platform/env.h"
#include "store/lmdb_check.h"

namespace mdb::store {

Error index_damaged(const stdfs::path& dir, const std::string& what) {
  return Error("The store index " + (dir / "data.mdb").string() + " is damaged (" + what +
               ").", ErrorKind::Damaged, Remedy::RebuildIndex);
}

namespace {

constexpr size_t kDefaultMapSize = size_t{16} << 30;

size_t map_size() {
  if (const char* v = std::getenv("MDB_INDEX_MAP_SIZE")) {
    size_t n = std::strtoull(v, nullptr, 10);
    if (n > 0) return n;
  }
  return kDefaultMapSize;
}

MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

std::string encode_location(const BlobLocation& loc) {
  std::string out = unhex(loc.pack);  // a pack name is 32 hex digits: 16 bytes stored
  put_u64(out, loc.entry.offset);
  put_u32(out, loc.entry.stored_len);
  put_u32(out, loc.entry.raw_len);
  out += static_cast<char>(loc.entry.type);
  out += static_cast<char>(loc.entry.compression);
  return out;
}

constexpr size_t kLocationSize = 16 + 8 + 4 + 4 + 2;

BlobLocation decode_location(std::string_view k, std::string_view v, const stdfs::path& dir) {
  if (k.size() != 32) throw index_damaged(dir, "a blob key of " + std::to_string(k.size()) + " bytes");
  if (v.size() != kLocationSize) throw index_damaged(dir, "a blob record of " + std::to_string(v.size()) + " bytes");
  BlobLocation loc;
  loc.pack = hex(v.substr(0, 16));
  loc.entry.id = BlobId::from_raw(k, "the store index");
  loc.entry.offset = get_u64(v, 16);
  loc.entry.stored_len = get_u32(v, 24);
  loc.entry.raw_len = get_u32(v, 28);
  uint8_t type = static_cast<uint8_t>(v[32]), comp = static_cast<uint8_t>(v[33]);
  if (type > static_cast<uint8_t>(BlobType::Snapshot) || comp > static_cast<uint8_t>(Compression::Zstd) ||
      loc.entry.raw_len > kMaxBlobSize || loc.entry.stored_len > 2 * kMaxBlobSize)
    throw index_damaged(dir, "the record of blob " + loc.entry.id.hex() + " is out of bounds");
  loc.entry.type = static_cast<BlobType>(type);
  loc.entry.compression = static_cast<Compression>(comp);
  return loc;
}

std::string encode_pack(const PackRecord& r) {
  std::string out;
  put_u64(out, r.size);
  put_u32(out, r.blobs);
  put_u64(out, r.live_bytes);
  return out;
}

PackRecord decode_pack(std::string_view k, std::string_view v, const stdfs::path& dir) {
  // The name becomes a path under packs/: anything but 32 hex digits is damage.
  if (!is_pack_name(k) || v.size() != 20) throw index_damaged(dir, "a malformed pack record");
  return PackRecord{get_u64(v, 0), get_u32(v, 8), get_u64(v, 12)};
}

BlobId decode_snapshot_id(std::string_view name, std::string_view v, const stdfs::path& dir) {
  if (name.empty() || name.size() > 255 || name.find('\0') != std::string_view::npos || v.size() != 32)
    throw index_damaged(dir, "a malformed snapshot record");
  return BlobId::from_raw(v, "the store index");
}

// The index's own format record (in the table "meta"), written when the index is created.
constexpr std::string_view kFormatKey = "format";
constexpr std::string_view kFormatPrefix = "mephisto-db index v";
constexpr int kIndexVersion = 1;
constexpr std::string_view kEpochKey = "blobs-epoch";

uint64_t new_epoch() {
  std::random_device rd;
  uint64_t e = (uint64_t{rd()} << 32) | rd();
  return e == 0 ? 1 : e;
}

}  // namespace

Txn::~Txn() {
  if (txn_) mdb_txn_abort(txn_);
}

void Txn::commit() {
  if (writable_) fs::env().fault_point("commit", index_->path());  // LMDB writes by itself: the hook
  int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
  if (rc != 0) index_->fail("cannot commit to", rc);
}

Index::Index(Index&& o) noexcept
    : dir_(std::move(o.dir_)),
      env_(std::exchange(o.env_, nullptr)),
      blobs_(o.blobs_),
      packs_(o.packs_),
      snapshots_(o.snapshots_),
      filecache_(o.filecache_),
      remote_(o.remote_),
      meta_(o.meta_),
      map_addr_(o.map_addr_),
      map_len_(o.map_len_),
      touches_(o.touches_),
      sharing_(std::move(o.sharing_)),
      blob_keys_(std::move(o.blob_keys_)),
      filecache_keys_(std::move(o.filecache_keys_)) {}

Index::~Index() {
  if (env_) mdb_env_close(env_);
}

void Index::fail(const char* what, int rc) const {
  if (rc == MDB_MAP_FULL)
    throw Error("The store index " + dir_.string() + " is full (its LMDB map of " + std::to_string(map_size()) +
                " bytes is used up); nothing was committed. Prune old snapshots or raise MDB_INDEX_MAP_SIZE.");
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
      rc == MDB_INCOMPATIBLE || rc == MDB_BAD_VALSIZE)
    throw index_damaged(dir_, std::string("LMDB: ") + mdb_strerror(rc));
  throw Error(std::string(what) + " the store index " + dir_.string() + ": " + mdb_strerror(rc));
}

Index Index::open(const stdfs::path& dir, bool writable) {
  Index idx;
  idx.dir_ = dir;
  std::error_code ec;
  bool existing = stdfs::file_size(dir / "data.mdb", ec) > 0 && !ec;
  if (existing) idx.check([&] { lmdb_check::meta_pages(dir / "data.mdb"); });  // LMDB trusts them
  if (int rc = mdb_env_create(&idx.env_); rc != 0) idx.fail("cannot create", rc);
  mdb_env_set_maxdbs(idx.env_, 8);
  mdb_env_set_mapsize(idx.env_, map_size());
  unsigned flags = MDB_NOTLS | MDB_NORDAHEAD | (writable ? 0 : MDB_RDONLY);  // lookups are random
  int rc = mdb_env_open(idx.env_, dir.c_str(), flags, 0644);
  if (rc == EACCES && !writable) rc = mdb_env_open(idx.env_, dir.c_str(), flags | MDB_NOLOCK, 0644);
  if (rc != 0) idx.fail("cannot open", rc);
  if (existing) idx.check_trees();
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(idx.env_, nullptr, writable ? 0 : MDB_RDONLY, &txn)) != 0) idx.fail("cannot read", rc);
  Txn t(&idx, txn, false);
  unsigned dbflags = writable ? MDB_CREATE : 0;
  for (auto [name, dbi] : {std::pair{"blobs", &idx.blobs_}, std::pair{"packs", &idx.packs_},
                           std::pair{"snapshots", &idx.snapshots_}, std::pair{"filecache", &idx.filecache_}}) {
    if ((rc = mdb_dbi_open(txn, name, dbflags, dbi)) != 0) idx.fail("cannot open a table of", rc);
  }
  MDB_dbi remote = 0;
  rc = mdb_dbi_open(txn, "remote", dbflags, &remote);
  if (rc == 0) idx.remote_ = remote;
  else if (rc != MDB_NOTFOUND) idx.fail("cannot open a table of", rc);
  idx.check_format(txn, writable);
  rc = mdb_txn_commit(std::exchange(t.txn_, nullptr));
  if (rc != 0) idx.fail("cannot initialize", rc);
  idx.find_map();
  return idx;
}

void Index::check(const std::function<void()>& fn) const {
  try {
    fn();
  } catch (const lmdb_check::Damaged& e) {
    throw index_damaged(dir_, e.what());
  }
}

void Index::check_trees() const {
  // A writer may commit twice between our transaction's start and the check's reading of the
  // meta pages (then no meta page holds our transaction any more): begin again.
  for (int attempt = 0; attempt < 100; ++attempt) {
    Txn t = read();
    bool done = false;
    check([&] { done = lmdb_check::trees(dir_ / "data.mdb", mdb_txn_id(t.get())); });
    if (done) return;
  }
  throw index_damaged(dir_, "no meta page holds the current transaction");
}

void Index::check_format(MDB_txn* txn, bool writable) {
  MDB_dbi meta = 0;
  int rc = mdb_dbi_open(txn, "meta", writable ? MDB_CREATE : 0, &meta);
  if (rc == MDB_NOTFOUND) return;  // an index made before the record existed (format 1), read-only
  if (rc != 0) fail("cannot open a table of", rc);
  meta_ = meta;
  if (writable && blobs_epoch(txn) == 0) write_epoch(txn, new_epoch());
  MDB_val k = val(kFormatKey), v{};
  rc = mdb_get(txn, meta, &k, &v);
  if (rc == MDB_NOTFOUND && writable) {
    std::string record = std::string(kFormatPrefix) + std::to_string(kIndexVersion);
    v = val(record);
    if ((rc = mdb_put(txn, meta, &k, &v, 0)) != 0) fail("cannot write to", rc);
    return;
  }
  if (rc == MDB_NOTFOUND) return;
  if (rc != 0) fail("cannot read", rc);
  std::string_view record = view(v);
  if (record.substr(0, kFormatPrefix.size()) != kFormatPrefix) throw index_damaged(dir_, "an unknown format record");
  std::string_view number = record.substr(kFormatPrefix.size());
  int version = 0;
  for (char c : number) version = c >= '0' && c <= '9' && version < 100000 ? version * 10 + (c - '0') : -1;
  if (number.empty() || version < 1) throw index_damaged(dir_, "an unknown format record");
  if (version > kIndexVersion)
    throw Error("The store index " + (dir_ / "data.mdb").string() + " has format version " + std::to_string(version) +
                ", newer than this build supports (" + std::to_string(kIndexVersion) +
                "). Use a newer mephisto-db.");
}

Txn Index::read() const {
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0) fail("cannot read", rc);
  return Txn(this, txn, false);
}

Txn Index::write() {
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != 0) fail("cannot write to", rc);
  return Txn(this, txn, true);
}

void Index::touched() const {
  bool shared = sharing_ && sharing_();
  if (++touches_ % (shared ? kSharedTouchesPerRelease : kTouchesPerRelease) != 0 || !map_addr_) return;
  MDB_envinfo info{};
  MDB_stat st{};
  if (mdb_env_info(env_, &info) != 0 || mdb_env_stat(env_, &st) != 0) return;
  // LMDB maps data.mdb read-only and shared (it writes with pwrite): dropping our pages
  // only lowers the resident set; the next access maps them again from the page cache.
  size_t used = (info.me_last_pgno + 1) * size_t{st.ms_psize};
  if (used <= (shared ? kSharedMapBudget : kMapBudget)) return;
  ::madvise(map_addr_, std::min(used, map_len_), MADV_DONTNEED);
}

void Index::find_map() {
  // LMDB does not say where it mapped data.mdb (me_mapaddr is only set with MDB_FIXEDMAP):
  // find the mapping of that file's inode in /proc/self/maps.
  struct stat st {};
  if (::stat((dir_ / "data.mdb").c_str(), &st) != 0) return;
  std::istringstream maps(fs::read_file("/proc/self/maps"));
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long start = 0, end = 0, offset = 0, inode = 0;
    char perms[8] = {}, device[16] = {};
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %15s %llu", &start, &end, perms, &offset, device, &inode) != 6)
      continue;
    if (inode == st.st_ino && offset == 0 && line.find("data.mdb") != std::string::npos) {
      map_addr_ = reinterpret_cast<void*>(start);
      map_len_ = end - start;
      return;
    }
  }
}

std::optional<std::string> Index::get(const Txn& t, MDB_dbi db, std::string_view key) const {
  touched();
  MDB_val k = val(key), v{};
  int rc = mdb_get(t.get(), db, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) fail("cannot read", rc);
  return std::string(view(v));
}

void Index::put(Txn& t, MDB_dbi db, std::string_view key, std::string_view value) {
  touched();
  MDB_val k = val(key), v = val(value);
  if (int rc = mdb_put(t.get(), db, &k, &v, 0); rc != 0) fail("cannot write to", rc);
}

void Index::del(Txn& t, MDB_dbi db, std::string_view key) {
  touched();
  MDB_val k = val(key);
  int rc = mdb_del(t.get(), db, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) fail("cannot write to", rc);
}

void Index::scan(const Txn& t, MDB_dbi db, const std::function<bool(std::string_view, std::string_view)>& fn) const {
  MDB_cursor* cur = nullptr;
  if (int rc = mdb_cursor_open(t.get(), db, &cur); rc != 0) fail("cannot read", rc);
  struct Closer {
    MDB_cursor* c;
    ~Closer() { mdb_cursor_close(c); }
  } closer{cur};
  MDB_val k{}, v{};
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    touched();
    if (fn(view(k), view(v))) continue;
    if (int drc = mdb_cursor_del(cur, 0); drc != 0) fail("cannot write to", drc);
  }
}

std::optional<BlobLocation> Index::blob(const Txn& t, const BlobId& id) const {
  if (blob_keys_ && !blob_keys_->maybe_has(id.raw())) return std::nullopt;
  auto v = get(t, blobs_, id.raw());
  if (!v) return std::nullopt;
  return decode_location(id.raw(), *v, dir_);
}

bool Index::has_blob(const Txn& t, const BlobId& id) const {
  if (blob_keys_ && !blob_keys_->maybe_has(id.raw())) return false;
  touched();
  MDB_val k = val(id.raw()), v{};
  int rc = mdb_get(t.get(), blobs_, &k, &v);
  if (rc != 0 && rc != MDB_NOTFOUND) fail("cannot read", rc);
  return rc == 0;
}

void Index::put_blob(Txn& t, const BlobLocation& loc) {
  if (blob_keys_) blob_keys_->add(loc.entry.id.raw());
  put(t, blobs_, loc.entry.id.raw(), encode_location(loc));
}
void Index::del_blob(Txn& t, const BlobId& id) {
  del(t, blobs_, id.raw());
  if (t.removed_blobs_) return;
  write_epoch(t.get(), new_epoch());
  t.removed_blobs_ = true;
}

void Index::reset_blobs_epoch(Txn& t, uint64_t epoch) {
  if (epoch == 0 || t.removed_blobs_) throw std::logic_error("the blobs' epoch set back with no check after");
  write_epoch(t.get(), epoch);
}

uint64_t Index::blobs_epoch(const Txn& t) const { return blobs_epoch(t.get()); }

uint64_t Index::blobs_epoch(MDB_txn* txn) const {
  if (!meta_) return 0;
  MDB_val k = val(kEpochKey), v{};
  int rc = mdb_get(txn, *meta_, &k, &v);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc != 0) fail("cannot read", rc);
  return v.mv_size == 8 ? get_u64(view(v), 0) : 0;
}

void Index::write_epoch(MDB_txn* txn, uint64_t epoch) {
  if (!meta_) return;
  std::string value;
  put_u64(value, epoch);
  MDB_val k = val(kEpochKey), v = val(value);
  if (int rc = mdb_put(txn, *meta_, &k, &v, 0); rc != 0) fail("cannot write to", rc);
}

void Index::for_each_blob(const Txn& t, const std::function<void(const BlobLocation&)>& fn) const {
  scan(t, blobs_, [&](std::string_view k, std::string_view v) {
    fn(decode_location(k, v, dir_));
    return true;
  });
}

MDB_stat Index::stat(const Txn& t, MDB_dbi db) const {
  MDB_stat st{};
  if (int rc = mdb_stat(t.get(), db, &st); rc != 0) fail("cannot read", rc);
  return st;
}

uint64_t Index::blob_count(const Txn& t) const { return stat(t, blobs_).ms_entries; }

void Index::filter_empty_tables() {
  Txn t = read();
  if (stat(t, blobs_).ms_entries == 0) blob_keys_ = std::make_unique<KeysPut>();
  if (stat(t, filecache_).ms_entries == 0) filecache_keys_ = std::make_unique<KeysPut>();
}

std::pair<uint64_t, uint64_t> Index::leaf_pages(const Txn& t) const {
  return {stat(t, blobs_).ms_leaf_pages, stat(t, filecache_).ms_leaf_pages};
}

std::optional<PackRecord> Index::pack(const Txn& t, const std::string& name) const {
  auto v = get(t, packs_, name);
  if (!v) return std::nullopt;
  return decode_pack(name, *v, dir_);
}

void Index::put_pack(Txn& t, const std::string& name, const PackRecord& rec) { put(t, packs_, name, encode_pack(rec)); }
void Index::del_pack(Txn& t, const std::string& name) { del(t, packs_, name); }

void Index::for_each_pack(const Txn& t, const std::function<void(const std::string&, const PackRecord&)>& fn) const {
  scan(t, packs_, [&](std::string_view k, std::string_view v) {
    fn(std::string(k), decode_pack(k, v, dir_));
    return true;
  });
}

std::optional<BlobId> Index::snapshot(const Txn& t, const std::string& name) const {
  auto v = get(t, snapshots_, name);
  if (!v) return std::nullopt;
  return decode_snapshot_id(name, *v, dir_);
}

void Index::put_snapshot(Txn& t, const std::string& name, const BlobId& id) { put(t, snapshots_, name, id.raw()); }
void Index::del_snapshot(Txn& t, const std::string& name) { del(t, snapshots_, name); }

void Index::for_each_snapshot(const Txn& t, const std::function<void(const std::string&, const BlobId&)>& fn) const {
  scan(t, snapshots_, [&](std::string_view k, std::string_view v) {
    fn(std::string(k), decode_snapshot_id(k, v, dir_));
    return true;
  });
}

bool Index::has_index_object(const Txn& t, const std::string& name) const {
  return remote_ && get(t, *remote_, name).has_value();
}

void Index::put_index_object(Txn& t, const std::string& name) { put(t, remote_.value(), name, ""); }

void Index::del_index_object(Txn& t, const std::string& name) {
  if (remote_) del(t, *remote_, name);
}

std::vector<std::string> Index::index_objects(const Txn& t) const {
  std::vector<std::string> out;
  if (remote_)
    scan(t, *remote_, [&](std::string_view k, std::string_view) {
      out.emplace_back(k);
      return true;
    });
  return out;
}

std::optional<FileCacheRecord> Index::filecache(const Txn& t, std::string_view key) const {
  if (filecache_keys_ && !filecache_keys_->maybe_has(key)) return std::nullopt;
  touched();
  MDB_val k = val(key), v{};
  int rc = mdb_get(t.get(), filecache_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) fail("cannot read", rc);
  return decode_filecache(view(v));
}

void Index::put_filecache(Txn& t, std::string_view key, const FileCacheRecord& rec) {
  if (filecache_keys_) filecache_keys_->add(key);
  put(t, filecache_, key, encode_filecache(rec));
}

void Index::for_each_filecache(Txn& t, const std::function<bool(std::string_view, const FileCacheRecord&)>& fn) {
  scan(t, filecache_, [&](std::string_view k, std::string_view v) {
    auto rec = decode_filecache(v);
    return rec ? fn(k, *rec) : false;
  });
}

double random_write_pages(uint64_t leaves, uint64_t writes) {
  double w = static_cast<double>(writes);
  double landed = leaves == 0 ? 0 : static_cast<double>(leaves) * -std::expm1(-w / static_cast<double>(leaves));
  return landed * (1 + 1.0 / 64) + w / 16;
}

Txn& IndexWriter::next(Table table) {
  if (txn_ && dirty_pages_after(table) > kDirtyPageBudget) commit();
  if (!txn_) {
    txn_.emplace(index_.write());
    leaves_ = index_.leaf_pages(*txn_);
  }
  ++(table == Table::Blobs ? blob_writes_ : table == Table::FileCache ? filecache_writes_ : other_writes_);
  return *txn_;
}

void IndexWriter::commit() {
  if (!txn_) return;
  std::optional<Txn> t = std::exchange(txn_, std::nullopt);
  blob_writes_ = filecache_writes_ = other_writes_ = 0;
  t->commit();
  ++commits_;
}

// The tree's path from the root and the free-page list add a few pages to each transaction;
// other writes (pack and snapshot records) are few, one page each.
double IndexWriter::dirty_pages_after(Table table) const {
  constexpr double kFixedPages = 8;
  uint64_t b = blob_writes_ + (table == Table::Blobs), f = filecache_writes_ + (table == Table::FileCache);
  uint64_t o = other_writes_ + (table == Table::Other);
  return kFixedPages + random_write_pages(leaves_.first, b) + random_write_pages(leaves_.second, f) +
         static_cast<double>(o);
}

}  // namespace mdb::store
