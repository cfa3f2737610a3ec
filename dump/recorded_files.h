#pragma once
// The run files a dump's Cap'n Proto half records (path, size, xxh3-128), kept in a table of a
// private SQLite database (its temporary file) instead of memory, so `import` and `verify -f` of a
// dump of any number of files hold none of them in memory. The zip's run files are matched
// against it one at a time, in zip order; what no zip member matched is listed at the end.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "formats/capnp_dump.h"
#include "platform/sqlite.h"

namespace mdb {

class RecordedFiles {
 public:
  // Creates the table in `db` (which must outlive this); `db` is usually in a transaction while
  // the records are added.
  explicit RecordedFiles(sql::Db& db);

  // A path recorded twice keeps its last record (as the half's readers always did).
  void add(const capnp_dump::FileRecord& f);

  struct Match {
    uint64_t size = 0;
    store::Hash128 hash;
  };
  // The record of the zip member `path`, marked as matched; nullopt when none is recorded.
  std::optional<Match> match(std::string_view path);
  // Calls `fn` with each recorded path that match() never found, in byte order.
  void for_each_unmatched(const std::function<void(const std::string&)>& fn);

 private:
  sql::Db& db_;
  sql::Stmt insert_, match_;
};

}  // namespace mdb
