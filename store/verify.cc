#include "store/verify.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

#include "base/interrupt.h"
#include "formats/bytes.h"
#include "platform/env.h"
#include "store/remote_lock.h"

namespace mdb::store {

namespace {

constexpr size_t kReadChunk = 4u << 20;
constexpr size_t kChecksumTail = 24;  // the pack checksum and the end magic: not covered by the checksum

// A pack read front to back in chunks, so memory holds a chunk or two whatever the pack's size.
struct PackBytes {
  uint64_t size = 0;    // bytes actually read (fewer than listed when the pack is cut short)
  bool intact = false;  // magic and pack checksum hold
  std::string footer;   // the pack's last bytes as its trailer sizes the footer (decode_footer's tail)
};

// Hashes the pack's bytes but its last kChecksumTail, reads its footer, judges its checksum.
PackBytes read_pack(Backend& backend, const ObjectInfo& pack) {
  PackBytes out;
  Xxh128Stream sum;
  std::string head, pending;  // the first bytes (magic); bytes read but not yet hashed (at most the last 24)
  while (out.size < pack.size) {
    interrupt::check();
    std::string chunk =
        backend.read(ObjectKind::Pack, pack.name, out.size, std::min<uint64_t>(kReadChunk, pack.size - out.size));
    if (chunk.empty()) break;
    if (out.size == 0) head = chunk.substr(0, kPackMagic.size());
    out.size += chunk.size();
    size_t total = pending.size() + chunk.size();
    size_t to_hash = total > kChecksumTail ? total - kChecksumTail : 0;
    size_t from_pending = std::min(to_hash, pending.size());
    sum.update(std::string_view(pending).substr(0, from_pending));
    sum.update(std::string_view(chunk).substr(0, to_hash - from_pending));
    pending = pending.substr(from_pending) + chunk.substr(to_hash - from_pending);
  }
  if (out.size < kTrailerSize + kPackMagic.size()) return out;
  std::string trailer = backend.read(ObjectKind::Pack, pack.name, out.size - kTrailerSize, kTrailerSize);
  uint64_t count = trailer.size() == kTrailerSize ? get_u32(trailer, 0) : 0;
  uint64_t want = std::min<uint64_t>(count * kEntrySize + seal_overhead(backend.crypto()) + kTrailerSize, out.size);
  out.footer = backend.read(ObjectKind::Pack, pack.name, out.size - want, want);
  out.intact = sum.digest() == trailer_pack_checksum(out.footer) && has_pack_magic(head);
  return out;
}

// The stored bytes of each entry in turn, read in windows of kReadChunk or more (one read per
// window, not per blob: a remote store answers each read with a request).
class BlobWindow {
 public:
  BlobWindow(Backend& backend, const std::string& pack, uint64_t size) : backend_(backend), pack_(pack), size_(size) {}
  std::string_view stored(const PackEntry& e) {
    if (e.offset < start_ || e.offset + e.stored_len > start_ + bytes_.size()) {
      start_ = e.offset;
      uint64_t n = std::max<uint64_t>(kReadChunk, e.stored_len);
      bytes_ = backend_.read(ObjectKind::Pack, pack_, start_, std::min<uint64_t>(n, size_ - std::min(size_, start_)));
    }
    uint64_t at = e.offset - start_;
    if (at + e.stored_len > bytes_.size()) return std::string_view(bytes_).substr(std::min<uint64_t>(at, bytes_.size()));
    return std::string_view(bytes_).substr(at, e.stored_len);
  }

 private:
  Backend& backend_;
  const std::string& pack_;
  uint64_t size_;
  uint64_t start_ = 0;
  std::string bytes_;
};

class Verifier {
 public:
  Verifier(Store& store, const VerifyOptions& opts, Reporter& rep) : store_(store), opts_(opts), rep_(rep) {}

  VerifyReport run() {
    // One index state throughout, the store's reader, taken when it was opened and so before
    // the packs are listed: a writer makes a pack durable before any index state names it, so
    // every pack this state names is in the listing, however many backups commit meanwhile
    // (their newer packs only count as unreferenced, their snapshots are not seen).
    check_packs();
    check_index(store_.state());
    check_snapshots(store_.state());
    unused_damaged();
    return std::move(report_);
  }

 private:
  void problem(std::string p) { report_.problems.push_back(std::move(p)); }

  bool selected_for_read_data() {
    if (opts_.read_data_percent >= 100) return true;
    if (opts_.read_data_percent <= 0) return false;
    return std::uniform_real_distribution<double>(0, 100)(rng_) < opts_.read_data_percent;
  }

  // Every pack file: checksum, footer, and (when damaged or selected) every blob.
  void check_packs() {
    std::vector<ObjectInfo> packs = pack_files(store_.backend());
    uint64_t total = 0;
    for (const ObjectInfo& p : packs) total += p.size;
    if (rep_.wants_progress()) rep_.phase("Checking packs", total, true);
    for (const ObjectInfo& pack : packs) {
      const std::string& name = pack.name;
      interrupt::check();
      on_disk_.insert(name);
      ++report_.packs;
      PackBytes read = read_pack(store_.backend(), pack);
      rep_.advance(read.size);
      std::vector<PackEntry> entries;
      try {
        entries = decode_footer(read.footer, read.size, name, store_.backend().crypto());
      } catch (const CorruptError& e) {
        damaged_footers_[name] = e.what() + salvageable(name);
        damaged_packs_.insert(name);
        store_.backend().forget(ObjectKind::Pack, name);
        continue;
      }
      footers_[name] = entries.size();
      bool intact = read.intact;
      bool read_data = !intact || selected_for_read_data();
      if (read_data) ++report_.packs_read_data;
      size_t bad = 0;
      BlobWindow window(store_.backend(), name, read.size);
      for (const PackEntry& e : entries) {
        if (!read_data) continue;
        interrupt::check();
        try {
          decode_blob(window.stored(e), e, "pack " + name, store_.backend().crypto());
        } catch (const CorruptError& err) {
          bad_copies_[{name, e.offset}] = err.what();
          ++bad;
        }
      }
      store_.backend().forget(ObjectKind::Pack, name);  // read once: no handle kept for it
      if (!intact) {
        damaged_packs_.insert(name);
        mismatched_.emplace_back(name, bad);  // judged once the index says which copies it uses
      }
    }
    rep_.end_phase();
  }

  // What scanning the records of `pack` (its footer damaged) can save, said as the end of its
  // problem; remembers the blobs it finds intact, which the index may then point at.
  // Reads the whole pack: only damaged footers come here.
  std::string salvageable(const std::string& pack) {
    std::string bytes = store_.backend().read_all(ObjectKind::Pack, pack);
    if (!has_record_headers(bytes, store_.backend().crypto()))
      return "; its blobs cannot be salvaged (a version 1 pack has no record headers)";
    Salvage s = salvage_pack(bytes, "pack " + pack, store_.backend().crypto());
    for (const PackEntry& e : s.blobs) salvageable_.emplace(pack, e.offset);
    return "; it is salvageable: " + s.summary(bytes.size());
  }

  // A pack whose checksum does not match is a problem when a blob in it is damaged; when every
  // blob is intact, only bytes that hold none (the magic, a record header, the checksum itself)
  // are, nothing is lost, and it is a note (docs/DAMAGE.md).
  // A damaged blob whose copy the index no longer uses (`verify --repair` or a snapshot before
  // a change stored it anew) loses nothing either: a note too.
  void judge_checksum(const std::string& pack, size_t bad_blobs, bool in_use) {
    if (bad_blobs && in_use)
      problem("pack " + pack + " is damaged: checksum mismatch");
    else if (bad_blobs)
      report_.notes.push_back("pack " + pack + " is damaged (checksum mismatch), but the index uses none of its "
                              "damaged blobs");
    else
      report_.notes.push_back("pack " + pack + " is damaged: checksum mismatch, in bytes that hold no blob (its "
                              "magic, a record header or the checksum itself); every blob in it is intact");
  }

  // A pack whose footer is damaged is a problem when a blob the index locates in it is lost;
  // when every such blob is intact the store is whole (the index and the record headers
  // locate them) and it is a note: prune rewrites the pack (docs/DAMAGE.md).
  void judge_damaged_footers() {
    for (const auto& [pack, what] : damaged_footers_) {
      if (lossy_footers_.count(pack))
        problem(what + " (`mephisto db verify --repair-index` indexes them if the index does not)");
      else
        report_.notes.push_back(what + "; every blob the index locates in it is intact (`mephisto db prune` "
                                       "rewrites them into a new pack)");
    }
  }

  // Every index entry points into an intact pack that exists.
  void check_index(const Txn& t) {
    std::set<std::string> indexed_packs;
    store_.index().for_each_pack(t, [&](const std::string& name, const PackRecord&) {
      indexed_packs.insert(name);
      if (!on_disk_.count(name))
        problem("pack " + name + " is in the index but missing from " + store_.backend().where(ObjectKind::Pack));
    });
    for (const std::string& name : on_disk_)
      if (!indexed_packs.count(name)) ++report_.unreferenced_packs;
    std::set<std::string> in_use_damaged;  // packs whose damaged copy the index uses
    store_.index().for_each_blob(t, [&](const BlobLocation& loc) {
      ++report_.blobs;
      if (auto it = bad_copies_.find({loc.pack, loc.entry.offset}); it != bad_copies_.end()) {
        bad_blobs_.emplace(loc.entry.id, it->second);
        in_use_damaged.insert(loc.pack);
      } else if (!on_disk_.count(loc.pack))
        bad_blobs_.emplace(loc.entry.id, "its pack " + loc.pack + " is missing");
      else if (damaged_packs_.count(loc.pack) && !footers_.count(loc.pack) &&
               !salvageable_.count({loc.pack, loc.entry.offset})) {
        bad_blobs_.emplace(loc.entry.id, "its pack " + loc.pack + " is damaged");
        lossy_footers_.insert(loc.pack);
      }
    });
    judge_damaged_footers();
    for (const auto& [name, bad] : mismatched_) judge_checksum(name, bad, in_use_damaged.count(name) > 0);
  }

  // Remembers where snapshot `snapshot` uses the damaged blob `id` (why: `why`).
  void damaged_use(const BlobId& id, const std::string& why, BlobUse use) {
    auto [it, fresh] = damaged_at_.emplace(id, report_.damaged.size());
    if (fresh) report_.damaged.push_back(DamagedBlob{id, why, {}});
    if (!use.snapshot.empty()) report_.damaged[it->second].uses.push_back(std::move(use));
  }

  // The damaged blobs no snapshot uses, by id, after those that snapshots use.
  void unused_damaged() {
    std::map<BlobId, std::string> rest;
    for (const auto& [id, why] : bad_blobs_)
      if (!damaged_at_.count(id)) rest.emplace(id, why);
    for (const auto& [id, why] : rest) damaged_use(id, why, {});
  }

  void check_blob(const BlobId& id, const std::string& snapshot, const std::string& path, bool database = false) {
    std::string why;
    if (auto it = bad_blobs_.find(id); it != bad_blobs_.end())
      why = it->second;
    else if (!store_.locate(id))
      why = "blob " + id.hex() + " is missing from the index";
    if (why.empty()) return;
    problem("snapshot " + snapshot + ": " + path + ": " + why);
    damaged_use(id, why, BlobUse{snapshot, path, database});
  }

  // Every blob of every snapshot exists and is not damaged.
  void check_snapshots(const Txn& t) {
    std::vector<std::pair<std::string, BlobId>> snaps;
    store_.index().for_each_snapshot(t, [&](const std::string& n, const BlobId& id) { snaps.emplace_back(n, id); });
    if (rep_.wants_progress()) rep_.phase("Checking snapshots", snaps.size(), false);
    for (const auto& [name, id] : snaps) {
      ++report_.snapshots;
      rep_.advance(1);
      try {
        SnapshotRecord rec = store_.read_snapshot(id);
        for (const BlobId& part : rec.manifest) check_blob(part, name, "(manifest)");
        ManifestReader reader(store_, rec);
        Entry e;
        while (reader.next(e)) {
          interrupt::check();
          ++report_.entries;
          for (const BlobId& c : e.chunks) check_blob(c, name, e.path, e.database);
        }
      } catch (const Error& e) {
        problem("snapshot " + name + ": cannot read its record or manifest: " + e.what());
        if (e.remedy() == Remedy::RebuildIndex) report_.index_rebuild_helps = true;
      }
    }
    rep_.end_phase();
  }

  Store& store_;
  const VerifyOptions& opts_;
  Reporter& rep_;
  VerifyReport report_;
  std::set<std::string> on_disk_, damaged_packs_;
  std::set<std::pair<std::string, uint64_t>> salvageable_;  // (pack, offset) of intact scanned blobs
  std::map<std::string, size_t> footers_;
  std::map<std::string, std::string> damaged_footers_;  // pack -> what is wrong and what is salvageable
  std::set<std::string> lossy_footers_;                  // of those, packs where an indexed blob is lost
  std::vector<std::pair<std::string, size_t>> mismatched_;         // packs whose checksum fails, damaged blobs in it
  std::map<std::pair<std::string, uint64_t>, std::string> bad_copies_;  // (pack, offset) -> why
  std::map<BlobId, size_t> damaged_at_;                             // id -> its place in report_.damaged
  std::unordered_map<BlobId, std::string, BlobIdHash> bad_blobs_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

VerifyReport verify_store(Store& store, const VerifyOptions& opts, Reporter& reporter) {
  return Verifier(store, opts, reporter).run();
}

RepairReport repair_index(const stdfs::path& location, Reporter& reporter) {
  std::unique_ptr<Backend> backend = Backend::open(location);
  const stdfs::path store_dir = Store::local_dir(location, *backend);  // checks the config
  fs::mkdirs(store_dir);  // a remote store's cache dir may be gone: it is rebuilt here
  std::unique_ptr<StoreLock> lock = take_lock(*backend, true, "verify --repair-index");
  return rebuild_index(*backend, store_dir, reporter);
}

}  // namespace mdb::store
