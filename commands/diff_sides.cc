#include "commands/diff_sides.h"

#include <algorithm>
#include <map>
#include <set>

#include "commands/snapshot_view.h"
#include "datadir/classify.h"
#include "datadir/journal.h"
#include "datadir/storeops.h"
#include "formats/zip.h"
#include "import/import_dump.h"
#include "platform/zipfile.h"
#include "store/backup.h"
#include "store/chunker.h"

namespace mdb {

namespace {

using store::Entry;
using store::EntryKind;

// Where the database `db` of a side is materialized.
stdfs::path scratch_file(const stdfs::path& scratch, DbId db) {
  return scratch / (std::string(db_spec(db).key) + ".db");
}

// Entries held in memory, sorted into path order first.
class ListedSide : public DiffSide {
 public:
  bool next(Entry& e) override {
    if (pos_ >= entries_.size()) return false;
    e = std::move(entries_[pos_++]);
    return true;
  }

 protected:
  void sort_entries() {
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return store::path_less(a.path, b.path); });
  }
  std::vector<Entry> entries_;
  size_t pos_ = 0;
};

class SnapshotSide : public DiffSide {
 public:
  SnapshotSide(store::Store& store, store::SnapshotInfo snap)
      : store_(store), snap_(std::move(snap)), reader_(store_, snap_.record) {}
  const char* kind() const override { return "snapshot"; }
  std::string name() const override { return snap_.name; }
  bool next(Entry& e) override { return reader_.next(e); }
  std::optional<DbTables> tables(DbId db, const Entry* entry, const stdfs::path& scratch) override {
    if (!entry) return std::nullopt;
    stdfs::path path = scratch_file(scratch, db);
    fs::File out = fs::File::create(path, true, 0600);
    for (const store::BlobId& chunk : entry->chunks) out.write_all(store_.read(chunk));  // verified as it is read
    return sqlite_tables(path.string());
  }

 private:
  store::Store& store_;
  store::SnapshotInfo snap_;
  store::ManifestReader reader_;
};

// The live data dir, walked as backup walks it (store::scan): nothing outside it is read, no
// symlink is followed, and the file cache saves reading files a backup has read.
class NowSide : public ListedSide {
 public:
  NowSide(Context& ctx, store::Store* store)
      : console_(ctx.console), store_(store), dir_(prepare_data_dir(ctx, DbCommand::Diff)) {}
  const char* kind() const override { return "now"; }
  std::string name() const override { return "now"; }
  bool streams() const override { return true; }
  void for_each(const std::function<void(Entry&&)>& fn) override {
    store::BackupRequest req;
    req.root = dir_.root();
    req.databases = database_paths();
    req.exclude = not_in_snapshots(dir_);
    req.on_entry = fn;
    ConsoleReporter reporter(console_);
    store::scan(store_, req, reporter);
  }
  bool next(Entry& e) override {  // only when both sides are `now`
    if (!listed_) for_each([this](Entry&& x) { entries_.push_back(std::move(x)); });
    listed_ = true;
    return ListedSide::next(e);
  }
  std::optional<DbTables> tables(DbId db, const Entry* entry, const stdfs::path& scratch) override {
    if (!entry) return std::nullopt;
    stdfs::path path = scratch_file(scratch, db);
    store::copy_database(dir_.root() / entry->path, path);  // consistent, even while Mephisto writes
    return sqlite_tables(path.string());
  }

 private:
  Console& console_;
  store::Store* store_;
  DataDir dir_;
  bool listed_ = false;
};

// The content ids of a zip member, cut as backup cuts a file.
// `store`: the store whose ids they are compared with (keyed in an encrypted store), or none.
std::vector<store::BlobId> member_content(const zip::Reader& zip, const zip::Entry& m, const store::Store* store) {
  std::unique_ptr<zip::MemberReader> in = zip.open(m);
  auto read = [&in](char* buf, size_t n) {
    size_t done = 0;
    while (done < n)
      if (size_t got = in->read(buf + done, n - done))
        done += got;
      else
        break;
    return done;
  };
  std::vector<store::BlobId> ids;
  std::string buffer;
  store::for_each_chunk(read, buffer, [&ids, store](std::string_view chunk) {
    ids.push_back(store ? store->id_of(chunk) : store::sha256(chunk));
  });
  return ids;
}

// Zip members as entries: `path` (relative to the data dir) -> member, parents implied.
class ZipSide : public ListedSide {
 public:
  std::vector<store::BlobId> content(const Entry& e) override {
    auto it = members_.find(e.path);
    if (it == members_.end()) return {};
    return member_content(zip(), zip().entry(it->second), ids_of_);
  }
  // Content ids as `store` makes them, so they compare with its snapshots' (null: SHA-256).
  void ids_of(const store::Store* store) { ids_of_ = store; }

 protected:
  const store::Store* ids_of_ = nullptr;
  virtual const zip::Reader& zip() const = 0;
  void add(const std::string& path, const zip::Entry& m) {
    if (path.empty() || !seen_.insert(path).second) return;
    for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1))
      if (seen_.insert(path.substr(0, slash)).second) entries_.push_back(directory(path.substr(0, slash)));
    if (m.is_directory) {
      entries_.push_back(directory(path));
      return;
    }
    Entry e;
    e.path = path;
    e.size = m.size;
    e.mode = m.unix_mode & 07777;
    entries_.push_back(std::move(e));
    members_[path] = m.index;
  }
  std::optional<zip::Entry> member(const std::string& path) const {
    auto it = members_.find(path);
    if (it == members_.end()) return std::nullopt;
    return zip().entry(it->second);
  }

 private:
  static Entry directory(std::string path) {
    Entry e;
    e.path = std::move(path);
    e.kind = EntryKind::Directory;
    return e;
  }
  std::set<std::string> seen_;
  std::map<std::string, uint64_t> members_;  // path -> member index (the reader holds no entries)
};

std::string without_slash(std::string name) {
  while (!name.empty() && name.back() == '/') name.pop_back();
  return name;
}

class BackupZipSide : public ZipSide {
 public:
  explicit BackupZipSide(std::unique_ptr<zip::Reader> zip) : zip_(std::move(zip)) {
    for (const zip::Entry& m : zip_->entries()) {
      std::string path = without_slash(m.name);
      if (path == kMetaDirName || path.rfind(std::string(kMetaDirName) + "/", 0) == 0) continue;
      add(path, m);
    }
    sort_entries();
  }
  const char* kind() const override { return "backup_zip"; }
  std::string name() const override { return zip_->path().string(); }
  std::optional<DbTables> tables(DbId db, const Entry* entry, const stdfs::path& scratch) override {
    std::optional<zip::Entry> m = entry ? member(entry->path) : std::nullopt;
    if (!m) return std::nullopt;
    stdfs::path path = scratch_file(scratch, db);
    fs::extract_member(*zip_, *m, path, 0600, false);
    return sqlite_tables(path.string());
  }

 protected:
  const zip::Reader& zip() const override { return *zip_; }

 private:
  std::unique_ptr<zip::Reader> zip_;
};

// A dump: its run files are data/runs/..., its rows come from its JSON member (or the Cap'n
// Proto half that renders to it), staged as import stages them.
class DumpSide : public ZipSide {
 public:
  DumpSide(Context& ctx, const stdfs::path& path, const stdfs::path& scratch) {
    Problems problems;
    dump_ = std::make_unique<Dump>(path, scratch, ctx.console, problems);
    for (const std::string& p : problems.list()) ctx.console.warn("Warning: " + p);
    for (const zip::Entry& m : dump_->zip().entries())
      if (m.name.rfind("runs/", 0) == 0) add("data/" + without_slash(m.name), m);
    sort_entries();
  }
  const char* kind() const override { return "dump"; }
  std::string name() const override { return dump_->zip().path().string(); }
  bool files_under_runs_only() const override { return true; }
  std::optional<DbTables> tables(DbId db, const Entry*, const stdfs::path&) override {
    const std::vector<DbId>& dbs = dump_->dbs();
    if (std::find(dbs.begin(), dbs.end(), db) == dbs.end()) return std::nullopt;
    DbTables t;
    t.db = &dump_->stage();
    t.only_these_tables = true;
    for (const DumpTable& table : dump_->tables()) {
      if (table.db != db) continue;
      TableRef ref;
      ref.from = table.stage;
      ref.names = table.columns;
      for (size_t i = 0; i < table.columns.size(); ++i) ref.sql_cols.push_back("c" + std::to_string(i));
      t.tables[table.name] = std::move(ref);
    }
    return t;
  }

 protected:
  const zip::Reader& zip() const override { return dump_->zip(); }

 private:
  std::unique_ptr<Dump> dump_;
};

std::unique_ptr<DiffSide> open_zip(Context& ctx, const stdfs::path& path, const store::Store* store) {
  auto reader = std::make_unique<zip::Reader>(path);
  reader->validate(zip::Limits{});
  if (reader->find("database.db")) {
    auto side = std::make_unique<BackupZipSide>(std::move(reader));
    side->ids_of(store);
    return side;
  }
  reader.reset();
  stdfs::path scratch = fs::cache_scratch_dir();
  fs::mkdirs(scratch);
  auto side = std::make_unique<DumpSide>(ctx, path, scratch);
  side->ids_of(store);
  return side;
}

}  // namespace

std::unique_ptr<DiffSide> open_side(Context& ctx, store::Store* store, const std::string& spec) {
  if (spec == "now") return std::make_unique<NowSide>(ctx, store);
  if (store)
    if (auto snap = find_named(*store, spec, live_data_dir(ctx))) return std::make_unique<SnapshotSide>(*store, *snap);
  stdfs::path given(spec);
  const stdfs::path& outputs = ctx.locations().outputs_dir;
  std::error_code ec;
  for (const stdfs::path& p : {given, outputs / "backup" / given, outputs / "export" / given})
    if (stdfs::is_regular_file(p, ec)) return open_zip(ctx, stdfs::absolute(p), store);
  if (store && given.extension() == ".zip")
    if (auto snap = store->find_snapshot(given.stem().string())) return std::make_unique<SnapshotSide>(*store, *snap);
  std::string where = store ? "the store " + store->dir().string() : "no store (there is none at " +
                                                                         ctx.locations().store_dir.string() + ")";
  throw Error("Could not find " + spec + ": it is not `now`, nor a snapshot name, id prefix or `latest` backup in " + where +
                  ", nor a zip file (as given, or in " + (outputs / "backup").string() + " or " +
                  (outputs / "export").string() + ")." + (store ? did_you_mean(*store, spec) : "") +
                  " `mephisto db snapshots` lists the snapshots.",
              ErrorKind::NotFound);
}

}  // namespace mdb
