#include "store/backup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "base/interrupt.h"
#include "platform/lock.h"
#include "store/chunker.h"
#include "store/held_entries.h"
#include "store/walk.h"

namespace mdb::store {

namespace {

namespace stdfs = std::filesystem;

// A file whose ctime is this close to the moment we read it may be changed again without a
// visible ctime change (timestamps come from a coarse clock), so it is not cached.
constexpr int64_t kRacyWindowNs = 50'000'000;
constexpr size_t kHoldBytes = 4u << 20;  // held while an encrypted store's key is derived

// A time as the file cache keeps it: nanoseconds since the epoch, exact from 1678 to 2262 and
// wrapping (without overflow) outside, where two times collide only when 584 years apart.
int64_t ns(const struct timespec& t) {
  return static_cast<int64_t>(static_cast<uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(t.tv_nsec));
}

int64_t now_ns() { return fs::env().now_ns(); }

bool same_file(const FileCacheRecord& r, const struct stat& st) {
  return r.size == static_cast<uint64_t>(st.st_size) && r.mtime_ns == ns(st.st_mtim) && r.ctime_ns == ns(st.st_ctim) &&
         r.inode == st.st_ino;
}

FileCacheRecord cache_record(const struct stat& st, std::vector<BlobId> chunks) {
  return FileCacheRecord{static_cast<uint64_t>(st.st_size), ns(st.st_mtim), ns(st.st_ctim), st.st_ino,
                         std::move(chunks)};
}

// A database's journal, WAL and shared-memory files belong to its state at one instant;
// the snapshot holds a consistent copy of the database instead, so they are left out
// (restoring a stale journal next to that copy would corrupt it).
std::set<std::string> sidecar_paths(const std::vector<std::string>& databases) {
  std::set<std::string> out;
  for (const std::string& db : databases)
    for (const char* suffix : {"-journal", "-wal", "-shm"}) out.insert(db + suffix);
  return out;
}

// The metadata an entry keeps of the state its bytes were read in.
void set_meta(Entry& e, const struct stat& st) {
  e.mode = st.st_mode & 07777;
  e.mtime = st.st_mtim;
  e.owner = Owner{st.st_uid, st.st_gid};
}

class BackupRun {
 public:
  BackupRun(Store* store, const BackupRequest& req, Reporter& rep)
      : store_(store),
        dry_(static_cast<bool>(req.on_entry)),
        req_(req),
        rep_(rep),
        manifest_([this](std::string part) { return store_->add(BlobType::Tree, part); }),
        databases_(req.databases.begin(), req.databases.end()),
        sidecars_(sidecar_paths(req.databases)),
        key_prefix_(req.root.string() + std::string(1, '\0')) {}

  void scan() {
    Listing root = list_dir(fs::File::open_dir(req_.root));
    lister_.start(root);
    walk(root, "");
  }

  BackupResult run() {
    WriteStats before = store_->stats();
    rec_.name = req_.name;
    rec_.time_ns = now_ns();
    rec_.host = host_name();
    rec_.data_dir = req_.root.string();
    rec_.reason = req_.reason;
    rec_.kind = req_.kind;
    rec_.tags = req_.tags;
    fs::File root = fs::File::open_dir(req_.root);
    struct stat rs = root.stat();
    rec_.root_owner = Owner{rs.st_uid, rs.st_gid};
    if (rep_.wants_progress()) {
      Size size = total_size(fs::File::open_dir(req_.root), "");
      rep_.phase("Backing up", size.bytes, true, size.files);
    }
    read_databases_first();
    Listing top = list_dir(std::move(root));
    lister_.start(top);
    walk(top, "");
    rep_.end_phase();
    release();
    rec_.manifest = manifest_.finish();
    rec_.entries = manifest_.count();
    rec_.new_bytes = store_->stats().bytes_new - before.bytes_new;
    rec_.stored_bytes = store_->stats().bytes_stored - before.bytes_stored;
    BackupResult result;
    result.snapshot.name = rec_.name;
    result.snapshot.id = store_->commit_snapshot(rec_);
    result.snapshot.record = rec_;
    result.files_read = files_read_;
    result.changed_while_read = changed_;
    result.warnings = warnings_;
    result.blobs_restored = blobs_restored_;
    result.entries_before_key = held_.count();
    result.bytes_new = data_new_bytes_;
    result.bytes_deduplicated = rec_.bytes - std::min(rec_.bytes, data_new_bytes_);
    result.bytes_stored = store_->stats().bytes_stored - before.bytes_stored;
    return result;
  }

 private:
  bool excluded(const std::string& rel) const {
    return std::find(req_.exclude.begin(), req_.exclude.end(), rel) != req_.exclude.end();
  }
  // Whether `rel` or a dir it is in is excluded.
  bool excluded_below(const std::string& rel) const {
    for (size_t end = rel.find('/'); end != std::string::npos; end = rel.find('/', end + 1))
      if (excluded(rel.substr(0, end))) return true;
    return excluded(rel);
  }

  void emit(Entry&& e) {
    if (dry_) {
      req_.on_entry(std::move(e));
    } else if (!held_.reading() && key_ready()) {
      release();
      manifest_.add(std::move(e));
    } else {
      held_.hold(std::move(e));
      if (held_.full() || key_ready()) release();  // waits for the key
    }
  }

  // Entries walked before an encrypted store's key is known (store/held_entries.h).
  bool key_ready() { return key_known_ || (key_known_ = store_->key_ready()); }
  void release() {
    held_.release([this](HeldEntries::Held& h) {
      for (const std::string& chunk : h.chunks) add_chunk(chunk, h.entry);
      if (h.cache) store_->queue_filecache(std::move(h.cache->first), cache_record(h.cache->second, h.entry.chunks));
      manifest_.add(std::move(h.entry));
    });
  }

  // Only feeds the progress bar: a stat-only pre-walk.
  struct Size {
    uint64_t bytes = 0, files = 0;
  };
  Size total_size(const fs::File& dir, const std::string& rel_dir) {
    Size total;
    for (const std::string& name : sorted_names(dir.fd(), dir.path())) {
      std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
      if (excluded(rel)) continue;
      struct stat st {};
      if (::fstatat(dir.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISREG(st.st_mode)) total.bytes += static_cast<uint64_t>(st.st_size), ++total.files;
      if (!S_ISDIR(st.st_mode)) continue;
      try {
        Size sub = total_size(fs::File::open_dir_at(dir, name, dir.path() / name), rel);
        total.bytes += sub.bytes;
        total.files += sub.files;
      } catch (const fs::IoError&) {  // an estimate: the walk itself reports what it cannot read
      }
    }
    return total;
  }

  // The databases are read before the walk (issue 16): a day rewrites most of their pages, and
  // read where the walk meets them (last, in path order) their chunks were compressed after the
  // walk instead of beside it. The walk takes each one's entry from early_, in path order. Read
  // only what the walk would read: a regular file reached through directories, not symlinks.
  // Not in a scan, nor while an encrypted store's key is derived (entries read then are held in
  // walk order, store/held_entries.h): the walk reads them then.
  void read_databases_first() {
    if (dry_ || !key_ready()) return;
    for (const std::string& db : req_.databases) {
      std::vector<std::string> parts;
      for (const auto& part : stdfs::path(db)) parts.push_back(part.string());
      if (parts.empty() || excluded_below(db) || sidecars_.count(db) || early_.count(db)) continue;
      auto odd = [](const std::string& p) { return p.empty() || p == "." || p == ".." || p == "/"; };
      if (std::any_of(parts.begin(), parts.end(), odd)) continue;  // not a path the walk meets
      fs::File dir;
      struct stat st {};
      try {
        dir = fs::File::open_dir(req_.root);
        for (size_t i = 0; i + 1 < parts.size(); ++i) dir = fs::File::open_dir_at(dir, parts[i], dir.path() / parts[i]);
      } catch (const fs::IoError&) {  // the walk meets it, or not, and reports what fails
        continue;
      }
      if (::fstatat(dir.fd(), parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
      Entry e;
      e.path = db;
      set_meta(e, st);
      file(dir.fd(), parts.back(), st, e);
      early_.emplace(db, std::move(e));
    }
  }

  bool skipped(const std::string& rel) const { return excluded(rel) || sidecars_.count(rel); }

  void walk(Listing& listing, const std::string& rel_dir) {
    // Only for messages (store/walk.h: a listing made ahead names its directory by its name alone).
    auto where = [&] { return rel_dir.empty() ? req_.root : req_.root / rel_dir; };
    int dirfd = listing.dir->fd();
    for (size_t i = 0; i < listing.items.size(); ++i) {
      const DirItem& item = listing.items[i];
      const std::string& name = item.name;
      interrupt::check();  // no snapshot until commit_snapshot: stopping leaves only unreferenced blobs
      std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
      if (skipped(rel)) continue;
      if (item.error == ENOENT) continue;  // removed while we walk
      if (item.error) throw fs::IoError("cannot stat", where() / name, item.error);
      const struct stat& st = item.st;
      Entry e;
      e.path = rel;
      set_meta(e, st);
      if (descends(item)) {  // the listers' rule too (store/walk.h)
        e.kind = EntryKind::Directory;
        emit(std::move(e));
        ++rec_.dirs;
        Listing sub = lister_.take(listing, name, rel, where);
        walk(sub, rel);
        lister_.recycle(std::move(sub));
      } else if (S_ISLNK(st.st_mode)) {
        e.kind = EntryKind::Symlink;
        e.target = read_link(dirfd, name, where() / name, st);
        emit(std::move(e));
      } else if (S_ISREG(st.st_mode)) {
        regular_file(dirfd, name, st, e);
        ++rec_.files;
        rep_.advance(static_cast<uint64_t>(st.st_size), 1);
        emit(std::move(e));
      } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        e.kind = S_ISFIFO(st.st_mode) ? EntryKind::Fifo : S_ISCHR(st.st_mode) ? EntryKind::CharDevice
                                                                                : EntryKind::BlockDevice;
        e.device_major = major(st.st_rdev);
        e.device_minor = minor(st.st_rdev);
        emit(std::move(e));
      } else {
        warn("Skipped " + (where() / name).string() + ": a socket (as tar does, sockets are not backed up).");
      }
    }
  }

  // A file with other names (link count > 1) is stored once: the later paths of its inode
  // in the walk become HardLink entries to the first, carrying its chunks for `--only`.
  void regular_file(int dirfd, const std::string& name, const struct stat& st, Entry& e) {
    bool linked = st.st_nlink > 1 && !databases_.count(e.path);
    auto inode = std::make_pair(st.st_dev, st.st_ino);
    if (linked) {
      if (auto it = links_.find(inode); it != links_.end()) {
        e.kind = EntryKind::HardLink;
        e.target = it->second.path;
        e.chunks = it->second.chunks;
        e.size = it->second.size;
        return;
      }
    }
    file(dirfd, name, st, e);
    rec_.bytes += e.size;
    if (!linked) return;
    e.hard_linked = true;
    links_[inode] = LinkedFile{e.path, e.size, e.chunks};
  }

  static std::string read_link(int dirfd, const std::string& name, const stdfs::path& path, const struct stat& st) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    for (;;) {
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
      if (n < 0) throw fs::IoError("cannot read symlink", path, errno);
      if (static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        return target;
      }
      target.resize(target.size() * 2);
    }
  }

  void file(int dirfd, const std::string& name, const struct stat& st, Entry& e) {
    if (auto early = early_.find(e.path); early != early_.end()) {  // read before the walk
      e = std::move(early->second);
      early_.erase(early);
      return;
    }
    struct stat now = st;  // the state of the bytes read, for the file cache
    Hash128 h = xxh128(key_prefix_ + e.path);  // a fixed-size key keeps the index small
    std::string key = h.bytes();
    bool is_db = databases_.count(e.path) > 0;
    if (store_ && (!is_db || !has_sidecar(req_.root / e.path))) {
      auto cached = store_->cached_file(key);
      if (cached && same_file(*cached, st) && (!checked(is_db) || all_intact(cached->chunks))) {
        // Stamped anew, a record of another epoch is trusted next time without its lookups (not
        // while an encrypted store's key is derived: nothing is written before it opens).
        if (!dry_ && cached->epoch != store_->blobs_epoch() && key_ready())
          store_->queue_filecache(std::move(key), *cached);
        e.chunks = std::move(cached->chunks);
        e.size = is_db ? chunk_bytes(e.chunks) : static_cast<uint64_t>(st.st_size);
        e.database = is_db;
        return;
      }
    }
    if (dry_ && is_db) {
      e.database = true;
      e.size = static_cast<uint64_t>(st.st_size);
      return;
    }
    int64_t read_at = now_ns();
    ++files_read_;
    // Held, unless its chunks are needed at once: its other names copy them, or they are checked.
    held_.start_read(!dry_ && !key_ready() && st.st_nlink <= 1 && !checked(is_db) && !held_.full());
    if (is_db && database(e)) {
      // The copy was read under a read transaction taken after `st`: caching `st` is safe,
      // since any later change moves mtime/ctime.
    } else if (!read_stable(dirfd, name, now, e)) {
      return;  // kept changing: read again next time
    }
    if (dry_ || ns(now.st_ctim) >= read_at - kRacyWindowNs) return;
    if (held_.reading())
      held_.cache(std::move(key), now);
    else
      store_->queue_filecache(std::move(key), cache_record(now, e.chunks));
  }

  // Reads a regular file until one read finds it the same (size, mtime, ctime, inode) after
  // as before, at most kReadAttempts times; `st` is then the state its bytes belong to. A file
  // that changes on every read is stored as the last read, marked, and warned about: its bytes
  // may mix old and new content. Blobs of discarded reads stay unreferenced until prune.
  bool read_stable(int dirfd, const std::string& name, struct stat& st, Entry& e) {
    stdfs::path path = req_.root / e.path;
    for (int attempt = 1;; ++attempt) {
      fs::File f = fs::File::open_read_at(dirfd, name, path);
      if (attempt > 1) st = f.stat();
      e.chunks.clear();
      set_meta(e, st);
      read_file(f, e);
      struct stat after = f.stat();
      if (fs::same_state(st, after)) return true;
      if (attempt == kReadAttempts) break;
    }
    e.changed_while_read = true;
    ++rec_.changed_while_read;
    changed_.push_back(e.path);
    warn("Warning: " + path.string() + " changed while it was read (" + std::to_string(kReadAttempts) +
         " times); the snapshot holds the bytes of the last read, which may mix old and new content.");
    return false;
  }

  void warn(const std::string& message) {
    warnings_.push_back(message);
    rep_.warn(message);
  }

  static bool has_sidecar(const stdfs::path& db) {
    for (const char* suffix : {"-journal", "-wal"}) {
      stdfs::path p = db;
      p += suffix;
      if (fs::exists(p)) return true;
    }
    return false;
  }

  // Whether the blobs reused for this file are read back first (BackupRequest::check_reused_databases).
  bool checked(bool is_db) const { return is_db && req_.check_reused_databases; }

  bool all_intact(const std::vector<BlobId>& chunks) {
    for (const BlobId& c : chunks)
      if (!store_->intact(c)) return false;
    return true;
  }

  uint64_t chunk_bytes(const std::vector<BlobId>& chunks) {
    uint64_t total = 0;
    for (const BlobId& c : chunks)
      if (auto loc = store_->locate(c)) total += loc->entry.raw_len;
    return total;
  }

  void add_chunk(std::string_view data, Entry& e) {
    if (held_.reading()) {
      held_.add_chunk(data);
      if (!held_.full()) return;
      std::vector<std::string> mine = held_.stop_reading();
      release();  // waits for the key
      for (const std::string& chunk : mine) add_chunk(chunk, e);
      return;
    }
    if (dry_) {
      e.chunks.push_back(store_ ? store_->id_of(data) : sha256(data));
      return;
    }
    bool is_new = false;
    BlobId id = store_->add(BlobType::Data, data, &is_new);
    if (!is_new && checked(e.database) && !store_->intact(id)) {
      store_->add(BlobType::Data, data, nullptr, true);  // once indexed, the id names this copy
      ++blobs_restored_;
      is_new = true;
      warn("The store's copy of a blob of " + (req_.root / e.path).string() +
           " was damaged; it was stored anew from the database.");
    }
    e.chunks.push_back(id);
    if (is_new) data_new_bytes_ += data.size();
  }

  void read_file(fs::File& f, Entry& e) {
    e.size = 0;
    held_.drop_chunks();
    for_each_chunk(f, buffer_, [&](std::string_view chunk) {
      add_chunk(chunk, e);
      e.size += chunk.size();
    });
  }

  // Reads the DB once (store/database_file.h) in fixed chunks. Under a caller's exclusive lock
  // the file cannot change and holds no pending journal, so it is read as it is. False when
  // the file is not a usable SQLite database (then a plain file).
  bool database(Entry& e) {
    e.size = 0;
    held_.drop_chunks();
    e.database = true;
    auto take = [&](std::string_view chunk) {
      add_chunk(chunk, e);
      e.size += chunk.size();
    };
    stdfs::path path = req_.root / e.path;
    if (sqlite3* locked = req_.locked_connection ? req_.locked_connection(e.path) : nullptr) {
      read_database_file(locked, path, buffer_, take);
      return true;
    }
    try {
      read_database(path, store_->tmp_dir(), buffer_, take);
    } catch (const NotADatabase& err) {
      e.database = false;
      warn(std::string("Backed up ") + path.string() + " as a plain file: it is not a readable SQLite database (" +
           err.what() + ").");
      return false;
    }
    return true;
  }

  Store* store_;  // null only in a scan without a store
  bool dry_;      // a scan: nothing is stored
  const BackupRequest& req_;
  Reporter& rep_;
  ManifestWriter manifest_;
  std::set<std::string> databases_;
  std::set<std::string> sidecars_;
  struct LinkedFile {
    std::string path;  // the first path of the inode in the walk
    uint64_t size;
    std::vector<BlobId> chunks;
  };
  std::map<std::pair<dev_t, ino_t>, LinkedFile> links_;
  std::map<std::string, Entry> early_;  // databases read before the walk, by path
  std::string key_prefix_;
  SnapshotRecord rec_;
  std::string buffer_;
  uint64_t files_read_ = 0;
  std::vector<std::string> changed_;
  std::vector<std::string> warnings_;
  uint64_t data_new_bytes_ = 0;
  uint64_t blobs_restored_ = 0;
  HeldEntries held_{kHoldBytes};
  bool key_known_ = false;
  Lister lister_{worker_threads(), [this](const std::string& rel) { return skipped(rel); }};  // last: its threads end before the rest goes
};

}  // namespace

BackupResult backup(Store& store, const BackupRequest& req, Reporter& reporter) {
  return BackupRun(&store, req, reporter).run();
}

void scan(Store* store, const BackupRequest& req, Reporter& reporter) { BackupRun(store, req, reporter).scan(); }

}  // namespace mdb::store
