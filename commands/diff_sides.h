#pragma once
// The two things `diff` compares (docs/INSPECT.md, "diff"): a snapshot, the live data dir
// (`now`), a backup zip or a dump zip. Each gives its entries in manifest path order with
// their content ids where it knows them, and each database's tables.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands/diff_rows.h"
#include "datadir/context.h"
#include "store/store.h"

namespace mdb {

class DiffSide {
 public:
  virtual ~DiffSide() = default;
  // "snapshot", "now", "backup_zip" or "dump".
  virtual const char* kind() const = 0;
  // What the user named (the snapshot's full name, "now", the zip's path).
  virtual std::string name() const = 0;
  // The next entry in path order; false at the end. A file's chunks may be empty when only
  // its content() tells them.
  virtual bool next(store::Entry& e) = 0;
  // Every entry in path order, to `fn` (a side that walks a tree streams them this way, with
  // nothing kept in memory; the others pull next()).
  virtual void for_each(const std::function<void(store::Entry&&)>& fn) {
    for (store::Entry e; next(e);) fn(std::move(e));
  }
  // Whether for_each() is what it does best (next() would hold every entry in memory).
  virtual bool streams() const { return false; }
  // The content ids of the file entry `e` (what backup would cut it into).
  virtual std::vector<store::BlobId> content(const store::Entry& e) { return e.chunks; }
  // Whether the files are only a part of the data dir (a dump holds data/runs/ only).
  virtual bool files_under_runs_only() const { return false; }
  // The tables of the database `db` (whose file entry is `entry`, if any), materialized in
  // `scratch` when need be; nullopt when this side has no such database.
  virtual std::optional<DbTables> tables(DbId db, const store::Entry* entry, const stdfs::path& scratch) = 0;
};

// The side `spec` names: "now", a snapshot name or unique id prefix of `store` (may be
// null: there is none), else a zip (as given, or in <outputs>/backup/ or <outputs>/export/).
// Unknown: a NotFound error with the closest snapshot names.
std::unique_ptr<DiffSide> open_side(Context& ctx, store::Store* store, const std::string& spec);

}  // namespace mdb
