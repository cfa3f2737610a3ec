#include "store/prune.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "base/interrupt.h"

namespace mdb::store {

namespace {

// The live blob set as a Bloom filter (about 1% false positives at 10 bits per blob): memory
// stays small however large the store, and a false positive only keeps a dead blob.
class LiveSet {
 public:
  explicit LiveSet(uint64_t expected) : bits_(std::max<uint64_t>(expected * 10, 1 << 16)), words_((bits_ + 63) / 64) {}
  void add(const BlobId& id) {
    for_each_bit(id, [&](uint64_t b) { words_[b / 64] |= uint64_t{1} << (b % 64); });
  }
  bool maybe(const BlobId& id) const {
    bool all = true;
    for_each_bit(id, [&](uint64_t b) { all = all && (words_[b / 64] >> (b % 64) & 1); });
    return all;
  }

 private:
  template <typename Fn>
  void for_each_bit(const BlobId& id, Fn fn) const {
    uint64_t h1, h2;  // SHA-256 bytes are uniform: use them directly
    std::memcpy(&h1, id.bytes.data(), 8);
    std::memcpy(&h2, id.bytes.data() + 8, 8);
    for (uint64_t i = 0; i < 7; ++i) fn((h1 + i * (h2 | 1)) % bits_);
  }
  uint64_t bits_;
  std::vector<uint64_t> words_;
};

constexpr double kRewriteBelow = 0.5;  // live fraction under which a pack is rewritten

uint64_t packs_bytes(Backend& backend) {
  uint64_t total = 0;
  for (const ObjectInfo& o : backend.list(ObjectKind::Pack))
    if (is_pack_name(o.name)) total += o.size;
  return total;
}

class Pruner {
 public:
  Pruner(Store& store, const PrunePolicy& policy, Reporter& rep) : store_(store), policy_(policy), rep_(rep) {}

  PruneReport run() {
    report_.bytes_before = packs_bytes(store_.backend());
    // Put back only with no record queued under it: one written after this prune would carry it
    // again and name a blob the prune took out.
    epoch_before_ = store_.filecache_queued() ? 0 : store_.blobs_epoch();
    select();
    mark();
    plan();
    if (policy_.dry_run) {
      report_.bytes_after = report_.bytes_before - std::min(report_.bytes_before, bytes_freed_);
      return std::move(report_);
    }
    forget();
    apply();
    if (store_.cached()) {
      consolidate_index_objects(store_.backend(), store_.index());
      for (const std::string& pack : doomed_) store_.backend().remove(ObjectKind::Pack, pack);
    }
    remove_unreferenced_files();
    clean_filecache();
    report_.bytes_after = packs_bytes(store_.backend());
    return std::move(report_);
  }

 private:
  // What a pack becomes: deleted (nothing live in it) or rewritten with its live blobs.
  struct PackPlan {
    std::string name;
    bool rewrite = false;
  };

  bool considered(const SnapshotInfo& s) const {
    if (policy_.only_tags.empty()) return true;
    for (const std::string& tag : policy_.only_tags)
      if (s.record.has_tag(tag)) return true;
    return false;
  }

  // Decides for each data dir apart: user backups by the keep policy, automatic snapshots by
  // rank (the keep_auto newest); `keep` is indexed like `snaps` (oldest first).
  void apply_rules(const std::vector<SnapshotInfo>& snaps, std::vector<bool>& keep) {
    std::map<std::string, std::vector<size_t>> backups;  // data dir -> indices, newest first
    std::map<std::string, uint64_t> autos;               // data dir -> automatic ones seen
    for (size_t i = snaps.size(); i-- > 0;) {
      const SnapshotInfo& s = snaps[i];
      if (!considered(s))
        keep[i] = true;
      else if (is_automatic(s.record.kind))
        keep[i] = autos[s.record.data_dir]++ < policy_.keep_auto;
      else
        backups[s.record.data_dir].push_back(i);
    }
    for (const auto& [data_dir, indices] : backups) {
      std::vector<KeepCandidate> candidates;
      for (size_t i : indices) candidates.push_back({snaps[i].record.time_ns, snaps[i].record.tags});
      std::vector<std::string> why = keep_reasons(policy_.keep, candidates, policy_.now_ns);
      for (size_t k = 0; k < indices.size(); ++k) {
        keep[indices[k]] = !why[k].empty();
        if (!why[k].empty()) report_.kept_why[snaps[indices[k]].name] = why[k];
      }
    }
  }

  // `forget NAME...`: each must exist and none may be protected; checked before anything changes.
  void apply_forget(const std::vector<SnapshotInfo>& snaps, std::vector<bool>& keep) {
    std::set<std::string> named(policy_.forget.begin(), policy_.forget.end());
    for (const std::string& name : named) {
      if (std::none_of(snaps.begin(), snaps.end(), [&](const SnapshotInfo& s) { return s.name == name; }))
        throw Error("There is no snapshot named " + name + " in the store " + store_.dir().string() + ".",
                    ErrorKind::NotFound);
      if (auto why = policy_.protect.find(name); why != policy_.protect.end())
        throw Error("The snapshot " + name + " cannot be forgotten: " + why->second + ".", ErrorKind::Conflict);
    }
    for (size_t i = 0; i < snaps.size(); ++i) keep[i] = !named.count(snaps[i].name);
  }

  // Which snapshots go: by the rules, never a protected one (except that forget refuses it).
  void select() {
    std::vector<SnapshotInfo> snaps = store_.snapshots();  // oldest first
    std::vector<bool> keep(snaps.size());
    if (!policy_.forget.empty()) {
      apply_forget(snaps, keep);
    } else {
      apply_rules(snaps, keep);
      for (size_t i = 0; i < snaps.size(); ++i) {
        auto why = policy_.protect.find(snaps[i].name);
        if (keep[i] || why == policy_.protect.end()) continue;
        keep[i] = true;
        report_.protected_kept.emplace_back(snaps[i].name, why->second);
      }
    }
    for (size_t i = 0; i < snaps.size(); ++i) (keep[i] ? report_.kept : report_.forgotten).push_back(snaps[i]);
  }

  void forget() {
    Txn t = store_.index().write();
    for (const SnapshotInfo& s : report_.forgotten) store_.index().del_snapshot(t, s.name);
    t.commit();
    store_.reload();
  }

  void mark() {
    live_.emplace(store_.index().blob_count(store_.index().read()));
    if (rep_.wants_progress()) rep_.phase("Marking live data", report_.kept.size(), false);
    for (const SnapshotInfo& s : report_.kept) {
      live_->add(s.id);
      for (const BlobId& part : s.record.manifest) live_->add(part);
      try {
        ManifestReader reader(store_, s.record);
        Entry e;
        while (reader.next(e)) {
          interrupt::check();
          for (const BlobId& c : e.chunks) live_->add(c);
        }
      } catch (const Error& e) {  // which blobs it needs is unknown: none may be deleted
        throw Error("Cannot tell which blobs the snapshot " + s.name + " needs, so nothing can be pruned: " +
                        e.message(),
                    e.kind(), e.remedy())
            .with_outcome("Nothing was changed.");  // marking comes before any change
      }
      rep_.advance(1);
    }
    rep_.end_phase();
  }

  // The entries of `pack` the index still locates in it. A pack whose footer is damaged is
  // read through the index alone (its entries hold every offset and length; each blob is
  // re-hashed before it is copied), and is always rewritten: its intact live blobs go to a new
  // pack with a sound footer, and every index entry into it goes with it.
  // `stored`, when given, gets the stored bytes of every blob in the pack, indexed here or not:
  // a copy another pack holds too (two hosts' backups at once) is dead weight like a dead blob.
  std::vector<PackEntry> indexed_entries(const std::string& pack, uint64_t* stored = nullptr) {
    std::vector<PackEntry> out;
    std::vector<PackEntry> footer;
    try {
      footer = read_footer(store_.backend(), pack);
    } catch (const CorruptError&) {
      damaged_footers_.insert(pack);
      store_.index().for_each_blob(store_.index().read(), [&](const BlobLocation& loc) {
        if (loc.pack == pack) out.push_back(loc.entry);
      });
      return out;
    }
    Txn t = store_.index().read();
    for (const PackEntry& e : footer) {
      if (stored) *stored += e.stored_len;
      auto loc = store_.index().blob(t, e.id);
      if (loc && loc->pack == pack && loc->entry.offset == e.offset) out.push_back(e);
    }
    return out;
  }

  uint64_t pack_bytes(const std::string& pack) { return store_.backend().size(ObjectKind::Pack, pack).value_or(0); }

  // Decides every pack's fate and counts the bytes that frees (a rewrite frees the old pack
  // less the new one); changes nothing.
  void plan() {
    std::vector<std::string> packs;
    {
      Txn t = store_.index().read();
      store_.index().for_each_pack(t, [&](const std::string& name, const PackRecord&) { packs.push_back(name); });
    }
    if (rep_.wants_progress()) rep_.phase("Finding reclaimable space", packs.size(), false);
    for (const std::string& pack : packs) {
      interrupt::check();  // each pack is dropped or rewritten in its own transaction
      rep_.advance(1);
      if (!store_.backend().size(ObjectKind::Pack, pack)) continue;  // verify reports it
      uint64_t footer_total = 0, total = 0, live = 0, live_count = 0;
      for (const PackEntry& e : indexed_entries(pack, &footer_total)) {
        total += e.stored_len;
        if (!live_->maybe(e.id)) continue;
        live += e.stored_len;
        ++live_count;
      }
      total = std::max(total, footer_total);
      uint64_t size = pack_bytes(pack);
      if (live == 0) {
        plans_.push_back({pack, false});
        bytes_freed_ += size;
        ++report_.packs_deleted;
      } else if (damaged_footers_.count(pack) ||
                 static_cast<double>(live) < kRewriteBelow * static_cast<double>(total)) {
        plans_.push_back({pack, true});
        bytes_freed_ += size - std::min(size, pack_file_size(live_count, live, store_.backend().crypto()));
        ++report_.packs_rewritten;
      }
    }
    rep_.end_phase();
    for (const std::string& orphan : unreferenced_files()) {
      bytes_freed_ += pack_bytes(orphan);
      ++report_.packs_deleted;
    }
  }

  void apply() {
    report_.packs_deleted = report_.packs_rewritten = 0;  // counted again as they happen
    if (rep_.wants_progress()) rep_.phase("Reclaiming space", plans_.size(), false);
    for (const PackPlan& p : plans_) {
      rep_.advance(1);
      if (p.rewrite)
        rewrite(p.name, indexed_entries(p.name));
      else
        drop(p.name, indexed_entries(p.name));
    }
    rep_.end_phase();
  }

  // Where the index is a cache of the store's index objects (docs/S3.md, "Prune"), a pack is
  // deleted only once they name it no more: a prune that dies among its deletions leaves packs
  // no index object names, never an index object naming a pack that is gone (a lost pack to
  // every reader). Such a leftover pack is taken in again from its footer, with the snapshot
  // records it holds, so the packs holding records go first: a forgotten snapshot that comes
  // back still has every blob it names (none of its data was deleted yet).
  void delete_pack_file(const std::string& pack, const std::vector<PackEntry>& entries) {
    if (!store_.cached()) return store_.backend().remove(ObjectKind::Pack, pack);
    bool records =
        std::any_of(entries.begin(), entries.end(), [](const PackEntry& e) { return e.type == BlobType::Snapshot; });
    doomed_.insert(records ? doomed_.begin() : doomed_.end(), pack);
  }

  void drop(const std::string& pack, const std::vector<PackEntry>& entries) {
    Txn t = store_.index().write();
    for (const PackEntry& e : entries) store_.index().del_blob(t, e.id);
    store_.index().del_pack(t, pack);
    t.commit();
    delete_pack_file(pack, entries);
    ++report_.packs_deleted;
  }

  void rewrite(const std::string& pack, const std::vector<PackEntry>& entries) {
    PackWriter w(store_.backend());
    for (const PackEntry& e : entries) {
      if (!live_->maybe(e.id)) continue;
      interrupt::check();  // the new pack is still temporary
      std::string stored = store_.backend().read(ObjectKind::Pack, pack, e.offset, e.stored_len);
      try {
        decode_blob(stored, e, "pack " + pack, store_.backend().crypto());  // never carry damage into a new pack
      } catch (const CorruptError& err) {
        rep_.warn(std::string("Kept pack ") + pack + " as it is: " + err.what() + ".");
        ++report_.damaged_packs_kept;
        return;
      }
      w.add(e.id, e.type, e.raw_len, e.compression, stored);
    }
    std::string name = w.finish();
    // Every blob kept in its order (a pack rewritten for its damaged footer): the new pack is
    // the pack as it was written, whole again under its own name; nothing is to be deleted.
    bool same = name == pack;
    Txn t = store_.index().write();
    for (const PackEntry& e : w.entries()) store_.index().put_blob(t, BlobLocation{name, e});
    for (const PackEntry& e : entries)
      if (!live_->maybe(e.id)) store_.index().del_blob(t, e.id);
    store_.index().put_pack(t, name, pack_record(w.size(), w.entries()));
    if (!same) store_.index().del_pack(t, pack);
    t.commit();
    if (!same) delete_pack_file(pack, entries);
    ++report_.packs_rewritten;
  }

  // Packs no index entry refers to: left by writers that died after writing them.
  std::vector<std::string> unreferenced_files() {
    Txn t = store_.index().read();
    std::vector<std::string> orphans;
    for (const ObjectInfo& o : store_.backend().list(ObjectKind::Pack))
      if (is_pack_name(o.name) && !store_.index().pack(t, o.name)) orphans.push_back(o.name);
    return orphans;
  }

  void remove_unreferenced_files() {
    std::vector<std::string> orphans = unreferenced_files();
    // Named by no index object either: the cache took them all in under this prune's lock.
    for (const std::string& name : orphans) store_.backend().remove(ObjectKind::Pack, name);
    report_.packs_deleted += orphans.size();
  }

  // Drops the records that name a blob taken out; the rest name indexed blobs only, so the
  // epoch they were stamped with is put back (Index::reset_blobs_epoch).
  void clean_filecache() {
    store_.reload();
    Txn t = store_.index().write();
    store_.index().for_each_filecache(t, [&](std::string_view, const FileCacheRecord& rec) {
      return std::all_of(rec.chunks.begin(), rec.chunks.end(),
                         [&](const BlobId& c) { return store_.index().has_blob(t, c); });
    });
    if (epoch_before_ != 0) store_.index().reset_blobs_epoch(t, epoch_before_);
    t.commit();
    store_.reload();
  }

  Store& store_;
  const PrunePolicy& policy_;
  Reporter& rep_;
  PruneReport report_;
  std::optional<LiveSet> live_;
  std::vector<PackPlan> plans_;
  std::vector<std::string> doomed_;  // deleted once the index objects are consolidated, records first
  std::set<std::string> damaged_footers_;  // packs read through the index (indexed_entries)
  uint64_t bytes_freed_ = 0;
  uint64_t epoch_before_ = 0;  // the blobs' epoch when the prune began
};

}  // namespace

PruneReport prune(Store& store, const PrunePolicy& policy, Reporter& reporter) {
  return Pruner(store, policy, reporter).run();
}

}  // namespace mdb::store
