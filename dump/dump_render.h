#pragma once
// A dump's JSON member as rendered from rows (export.md "JSON rendering"): one rule for the export,
// which writes the member, and for the import and `verify -f`, which trust a Cap'n Proto half only
// when its rows render to the JSON member's very bytes (docs/dump-halves.md). The JSON member is
// the Mephisto-compatible truth; the JSON hash the half records lives inside the half, so it
// vouches for nothing by itself.
#include <atomic>
#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <string>
#include <string_view>
#include <vector>

#include "formats/capnp_dump.h"
#include "formats/pyjson.h"
#include "formats/zip.h"

namespace mdb {

// Writes `v`, a value of `column`, as the JSON member holds it (`mephisto_db`: a row of the
// Mephisto DB, whose `*_id` values are strings). False, with nothing written, for a `_date`/`_at`
// value that is no date.
bool write_dump_value(PyJsonWriter& w, bool mephisto_db, std::string_view column, const Value& v);

// Thrown by a HalfCheck made with stop_at_mismatch, at the first byte the half gets wrong.
struct HalfMismatch {};

// Renders the rows a Cap'n Proto half hands over as the JSON member, with the member's own indent,
// and compares them, byte for byte and as they come, with the JSON member read from the zip; every
// call is passed on to `next` (after the rendering: `next` may change the row). Memory: one row's
// rendering and a read buffer.
class HalfCheck : public capnp_dump::StreamVisitor {
 public:
  // `stop_at_mismatch`: throw HalfMismatch at the first difference (the import, which then reads
  // the JSON); else carry on passing calls to `next` (`verify -f`, which reads the whole half).
  HalfCheck(const zip::Reader& zip, const zip::Entry& json, const zip::Entry& capnp, capnp_dump::StreamVisitor& next,
            bool stop_at_mismatch);
  ~HalfCheck() override;

  void header(const capnp_dump::Header& h) override;
  void file(const capnp_dump::FileRecord& f) override;
  void begin_table(std::string_view db, std::string_view table, const std::vector<std::string>& columns) override;
  void row(std::string_view db, std::string_view table, size_t index, const std::vector<std::string>& columns,
           Row& values) override;
  void end_table(std::string_view db, std::string_view table) override;
  void empty_database(std::string_view db) override;

  // Why the half cannot stand for the JSON member, one clause naming the member and where they
  // part ("the Cap'n Proto half x.capnp does not match the JSON member x.json (from table
  // mephisto.units, row 3 on)", or that the JSON member was changed after the export); nullopt
  // when the half renders to the member's very bytes. Call once, after read_stream returned or
  // threw HalfMismatch.
  std::optional<std::string> verdict();

 private:
  class JsonBytes;
  void open_db(std::string_view db);
  // Compares what was rendered since the last call with the member's next bytes.
  bool matches();
  // Records where the rendering first differs ("in table mephisto.units, row 3").
  void mismatch(std::string where);

  std::unique_ptr<JsonBytes> json_;
  std::string json_name_, capnp_name_;
  uint64_t json_size_;
  capnp_dump::StreamVisitor& next_;
  bool stop_at_mismatch_;
  capnp_dump::Header header_;
  std::string out_;
  std::unique_ptr<PyJsonWriter> writer_;
  bool db_open_ = false;
  std::string db_;  // the database whose object is open
  std::optional<std::string> mismatch_;  // where the rendering first differs
};

// A HalfCheck that reads the half a second time on a thread of its own (none with $MDB_THREADS=1:
// then it runs whole in the constructor), while the caller loads the rows: rendering and reading
// the JSON member took as long as loading the rows into SQLite, and the import's checks ran on one
// of two cores. Its verdict is the one a HalfCheck in front of the caller's loading would give.
class HalfCheckBeside {
 public:
  HalfCheckBeside(const zip::Reader& zip, const zip::Entry& json, const zip::Entry& capnp);
  HalfCheckBeside(const HalfCheckBeside&) = delete;
  HalfCheckBeside& operator=(const HalfCheckBeside&) = delete;
  ~HalfCheckBeside();  // stops the check and waits for it

  // Passes the caller's reading on to `next` until the check finds a difference, then throws
  // HalfMismatch: the rows loaded are of no use then. Valid while this lives.
  capnp_dump::StreamVisitor& until_mismatch(capnp_dump::StreamVisitor& next);
  // Waits for the check: HalfCheck::verdict(); rethrows what made the half unreadable to it.
  std::optional<std::string> verdict();

 private:
  class Stoppable;
  void check();

  const zip::Reader& zip_;
  zip::Entry json_, capnp_;
  std::atomic<bool> stop_{false};   // the caller went away: the check stops
  std::atomic<bool> failed_{false}; // the check found a difference or an error: the caller stops
  std::optional<std::string> verdict_;
  std::exception_ptr error_;
  std::unique_ptr<Stoppable> caller_;
  std::thread worker_;
};

}  // namespace mdb
