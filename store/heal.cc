#include "store/heal.h"

#include <map>
#include <optional>
#include <set>

#include "base/interrupt.h"
#include "platform/temp_dir.h"
#include "store/backup.h"
#include "store/chunker.h"

namespace mdb::store {

namespace {

namespace stdfs = std::filesystem;

class Healer {
 public:
  Healer(Store& store, const std::vector<DamagedBlob>& damaged, const stdfs::path& root, Reporter& rep)
      : store_(store), damaged_(damaged), root_(root), rep_(rep) {
    for (const DamagedBlob& d : damaged) wanted_.insert(d.id);
  }

  HealReport run() {
    // The paths the snapshots had the blobs at, each once, in path order.
    std::map<std::string, bool> paths;  // path -> a database
    for (const DamagedBlob& d : damaged_)
      for (const BlobUse& u : d.uses) paths[u.path] |= u.database;
    std::error_code ec;
    if (!root_.empty() && stdfs::is_directory(root_, ec)) {
      if (rep_.wants_progress()) rep_.phase("Healing damaged blobs", paths.size(), false);
      for (const auto& [path, database] : paths) {
        if (found_.size() == wanted_.size()) break;
        interrupt::check();  // nothing is indexed before commit_repair: stopping changes nothing
        look_in(path, database);
        rep_.advance(1);
      }
      rep_.end_phase();
    }
    HealReport report;
    std::vector<BlobId> drop;
    std::set<std::string> incomplete;
    for (const DamagedBlob& d : damaged_) {
      if (auto it = found_.find(d.id); it != found_.end()) {
        report.healed.push_back(HealedBlob{d.id, it->second});
        continue;
      }
      report.left.push_back(d);
      drop.push_back(d.id);
      for (const BlobUse& u : d.uses) incomplete.insert(u.snapshot);
    }
    store_.commit_repair(drop);
    report.incomplete.assign(incomplete.begin(), incomplete.end());
    return report;
  }

 private:
  // Cuts the live file at `path` as backup does (a database also as its copy) and stores
  // anew every chunk whose hash is a wanted id.
  void look_in(const std::string& path, bool database) {
    std::optional<fs::File> f = fs::File::open_read_inside(root_, path);
    if (!f) return;
    auto take = [&](std::string_view chunk) {
      BlobId id = store_.id_of(chunk);
      if (!wanted_.count(id) || found_.count(id)) return;
      store_.add(BlobType::Data, chunk, nullptr, true);
      found_.emplace(id, path);
    };
    if (!database) {
      for_each_chunk(*f, buffer_, take);
      return;
    }
    for_each_fixed_chunk(*f, buffer_, take);  // as restore's snapshot reads a locked database
    fs::OwnedTempDir tmp(store_.tmp_dir(), "db-");
    try {
      copy_database(root_ / path, tmp.path() / "copy");
    } catch (const NotADatabase&) {
      return;  // it was read as it is above
    }
    fs::File copy = fs::File::open_read(tmp.path() / "copy");
    for_each_fixed_chunk(copy, buffer_, take);
  }

  Store& store_;
  const std::vector<DamagedBlob>& damaged_;
  stdfs::path root_;
  Reporter& rep_;
  std::set<BlobId> wanted_;
  std::map<BlobId, std::string> found_;  // id -> the path its content came from
  std::string buffer_;
};

}  // namespace

HealReport heal_blobs(Store& store, const std::vector<DamagedBlob>& damaged, const stdfs::path& data_dir,
                      Reporter& reporter) {
  return Healer(store, damaged, data_dir, reporter).run();
}

}  // namespace mdb::store
