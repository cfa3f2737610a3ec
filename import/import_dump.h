#pragma once
// Reading a dump zip for import (import.md "Reading the dump"): the zip's members are checked, the
// rows come from the Cap'n Proto half when it renders to the JSON member's very bytes (exact
// storage classes, no parsing of text; dump/dump_render.h), else from the JSON member, and land in a private
// staging database (SQLite's own temporary file, never in the data dir) so the import can walk
// them table by table in parent-first order with memory staying flat.
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/console.h"
#include "datadir/registry.h"
#include "dump/recorded_files.h"
#include "formats/capnp_dump.h"
#include "formats/zip.h"
#include "platform/sqlite.h"

namespace mdb {

namespace stdfs = std::filesystem;

// What is wrong with a dump, one sentence per problem naming DB, table, row key and column.
class Problems {
 public:
  void add(std::string problem) { list_.push_back(std::move(problem)); }
  bool empty() const { return list_.empty(); }
  const std::vector<std::string>& list() const { return list_; }
  // Throws mdb::Error (Conflict) listing every problem, one a line; the command adds what
  // became of the data on a line of its own.
  void throw_if_any(const std::string& dump_name) const;

 private:
  std::vector<std::string> list_;
};

// The rows of one dump table, as the local table they go to.
struct DumpTable {
  DbId db;
  std::string name;                  // the local table (an older dump's unit_review goes to worker_review)
  std::vector<std::string> columns;  // local column names; staging column i holds columns[i]
  std::string stage;                 // the staging table
  int64_t rows = 0;                  // rows staged
  int64_t items = 0;                 // rows in the dump, staged or with problems

  int column(std::string_view column) const;  // -1 when the dump has no such column
};

// A run file of the dump: a member under runs/, one row of the staging table `run_files` (read
// back by a cursor: Dump::for_each_file). Its name is read from the zip when needed (Dump::member).
struct DumpFile {
  uint64_t index = 0;  // the zip member
  uint64_t size = 0;   // declared
  std::optional<store::Hash128> hash;  // recorded in the Cap'n Proto header
};

class Dump {
 public:
  // Opens and checks the zip (members to be extracted into `data_dir`), reads the rows into the
  // staging database. Problems of single rows or values go to `problems`; a zip or JSON member
  // that cannot be read at all throws mdb::Error.
  Dump(const stdfs::path& zip_path, const stdfs::path& data_dir, Console& console, Problems& problems);
  ~Dump();

  const std::string& file_name() const { return file_name_; }
  // The dump_metadata object, or null when the dump has none.
  const nlohmann::ordered_json& metadata() const { return metadata_; }
  // DB keys of the dump that are databases (mephisto or a provider type), in dump order.
  const std::vector<DbId>& dbs() const { return dbs_; }
  std::deque<DumpTable>& tables() { return tables_; }
  DumpTable* table(DbId db, std::string_view name);
  // Calls `fn` with each run file, in zip order.
  void for_each_file(const std::function<void(const DumpFile&)>& fn);
  // The run file of a staging row whose columns from `first` on are run_files' (kFileColumns).
  static DumpFile file_at(const sql::Stmt& row, int first);
  static constexpr const char* kFileColumns = "member, size, hash_high, hash_low";
  // A fresh name for a staging table ("<prefix><n>").
  std::string new_stage_table(const std::string& prefix) { return prefix + std::to_string(++tables_made_); }
  zip::Entry member(const DumpFile& f) const { return zip_->entry(f.index); }
  // The file's path under runs/ ("<project>/<task run>/...").
  std::string path(const DumpFile& f) const { return member(f).name.substr(5); }
  const zip::Reader& zip() const { return *zip_; }
  sql::Db& stage() { return stage_; }
  bool from_capnp() const { return from_capnp_; }
  // Why a Cap'n Proto half present was not used (one clause), if it was not.
  const std::optional<std::string>& capnp_rejected() const { return capnp_rejected_; }

  // Frees what can be read again later: the staging database's page cache (its rows stay in its
  // temporary file). Called before the snapshot, which needs buffers of its own, so the import's
  // peak memory stays low.
  void release_memory();

  // Whether the dump's `table` has a row whose `column` holds `v` (an index is made on first use).
  bool has_value(const DumpTable& table, int column, const Value& v);
  // Indexes a staged column for lookups of its values (has_value, the checks' joins). Idempotent.
  void index_column(const DumpTable& table, int column);

 private:
  class Loader;
  void read_rows(Console& console, Problems& problems);
  // Stages the rows of the Cap'n Proto half; nullopt when it stood for the JSON member, else why not.
  std::optional<std::string> read_capnp(Problems& problems);
  void reset_stage();
  // Fills the staging table run_files from the zip, matched against the half's `recorded` files
  // when there is one.
  void stage_files(RecordedFiles* recorded, Problems& problems);

  std::string file_name_;
  std::unique_ptr<zip::Reader> zip_;
  zip::Entry json_;
  std::optional<zip::Entry> capnp_;
  nlohmann::ordered_json metadata_;
  std::vector<DbId> dbs_;
  std::deque<DumpTable> tables_;  // a deque: the loader keeps pointers to its elements
  sql::Db stage_;
  int tables_made_ = 0;
  std::map<std::string, sql::Stmt> lookups_;  // "stage.column" -> indexed lookup
  bool from_capnp_ = false;
  std::optional<std::string> capnp_rejected_;
};

// The `-l` default and the imported_data label: the dump file name up to its first dot.
std::string default_label(const std::string& file_name);

}  // namespace mdb
