#include "dump/dump_render.h"

#include <algorithm>
#include <cstring>

#include "base/malloc_policy.h"
#include "base/ordered_pool.h"
#include "datadir/registry.h"
#include "formats/base64.h"
#include "formats/date.h"
#include "formats/hash.h"

namespace mdb {

bool write_dump_value(PyJsonWriter& w, bool mephisto_db, std::string_view column, const Value& v) {
  if (v.is_null()) {
    w.null();
    return true;
  }
  if (is_date_column(column)) {
    std::optional<DateTime> date = stored_date(v);
    if (!date) return false;
    w.string(format_iso(*date));
    return true;
  }
  if (mephisto_db && is_id_column(column)) {
    w.string(v.kind == StorageClass::Blob ? base64(v.s) : v.to_string());
    return true;
  }
  switch (v.kind) {
    case StorageClass::Integer: w.integer(v.i); break;
    case StorageClass::Real: w.real(v.r); break;
    case StorageClass::Text: w.string(v.s); break;
    case StorageClass::Blob: w.string(base64(v.s)); break;
    case StorageClass::Null: w.null(); break;
  }
  return true;
}

// The JSON member's bytes as they come out of the zip, consumed by comparison, hashed on the way.
class HalfCheck::JsonBytes {
 public:
  JsonBytes(const zip::Reader& zip, const zip::Entry& e) : in_(zip.open(e)), buf_(kBuffer) {}

  // The next bytes, up to n <= kBuffer (fewer only at the end), without consuming them.
  std::string_view peek(size_t n) {
    while (end_ - pos_ < n && fill()) {
    }
    return {buf_.data() + pos_, std::min(n, end_ - pos_)};
  }

  // Whether the next bytes are `s`; they are consumed as far as they match.
  bool match(std::string_view s) {
    while (!s.empty()) {
      if (pos_ == end_ && !fill()) return false;
      size_t k = std::min(s.size(), end_ - pos_);
      if (std::memcmp(buf_.data() + pos_, s.data(), k) != 0) return false;
      pos_ += k;
      s.remove_prefix(k);
    }
    return true;
  }

  bool at_end() { return pos_ == end_ && !fill(); }

  // Reads the rest: the xxh3-128 of the whole member.
  store::Hash128 drain() {
    do pos_ = end_;
    while (fill());
    return hash_.digest();
  }

 private:
  static constexpr size_t kBuffer = size_t{256} << 10;

  // Keeps the unconsumed bytes, reads more after them; false at the end of the member.
  bool fill() {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
    size_t got = in_->read(buf_.data() + end_, buf_.size() - end_);
    hash_.update({buf_.data() + end_, got});
    end_ += got;
    return got > 0;
  }

  std::unique_ptr<zip::MemberReader> in_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  store::Xxh128Stream hash_;
};

HalfCheck::HalfCheck(const zip::Reader& zip, const zip::Entry& json, const zip::Entry& capnp,
                     capnp_dump::StreamVisitor& next, bool stop_at_mismatch)
    : json_(std::make_unique<JsonBytes>(zip, json)),
      json_name_(json.name),
      capnp_name_(capnp.name),
      json_size_(json.size),
      next_(next),
      stop_at_mismatch_(stop_at_mismatch) {}

HalfCheck::~HalfCheck() = default;

namespace {

// The indent the JSON member was written with, from its first bytes: `{"` is indent=None (-1),
// `{` newline and N spaces before the first key is N.
int indent_of(std::string_view head) {
  if (head.size() < 2 || head[0] != '{' || head[1] != '\n') return -1;
  size_t spaces = head.find_first_not_of(' ', 2);
  return spaces == std::string_view::npos ? -1 : static_cast<int>(spaces - 2);
}

}  // namespace

void HalfCheck::header(const capnp_dump::Header& h) {
  header_ = h;
  writer_ = std::make_unique<PyJsonWriter>(out_, indent_of(json_->peek(80)));
  if (h.json_size != json_size_) mismatch("at the start");
  writer_->begin_object();
  next_.header(h);
}

void HalfCheck::file(const capnp_dump::FileRecord& f) { next_.file(f); }

void HalfCheck::open_db(std::string_view db) {
  if (db_open_) writer_->end_object();
  writer_->key(db);
  writer_->begin_object();
  db_open_ = true;
  db_ = db;
}

void HalfCheck::begin_table(std::string_view db, std::string_view table, const std::vector<std::string>& columns) {
  if (!mismatch_) {
    if (!db_open_ || db != db_) open_db(db);
    writer_->key(table);
    writer_->begin_array();
    if (!matches()) mismatch("in table " + std::string(db) + "." + std::string(table));
  }
  next_.begin_table(db, table, columns);
}

void HalfCheck::row(std::string_view db, std::string_view table, size_t index, const std::vector<std::string>& columns,
                    Row& values) {
  if (!mismatch_) {
    bool mephisto_db = db == "mephisto";
    bool ok = true;
    writer_->begin_object();
    for (size_t i = 0; i < columns.size() && ok; ++i) {
      writer_->key(columns[i]);
      ok = write_dump_value(*writer_, mephisto_db, columns[i], values[i]);
    }
    writer_->end_object();
    if (!ok || !matches())
      mismatch("in table " + std::string(db) + "." + std::string(table) + ", row " + std::to_string(index));
  }
  next_.row(db, table, index, columns, values);
}

void HalfCheck::end_table(std::string_view db, std::string_view table) {
  if (!mismatch_) {
    writer_->end_array();
    if (!matches()) mismatch("after table " + std::string(db) + "." + std::string(table));
  }
  next_.end_table(db, table);
}

void HalfCheck::empty_database(std::string_view db) {
  if (!mismatch_) {
    open_db(db);
    writer_->end_object();
    db_open_ = false;
    if (!matches()) mismatch("in database " + std::string(db));
  }
  next_.empty_database(db);
}

bool HalfCheck::matches() {
  bool same = json_->match(out_);
  out_.clear();
  return same;
}

void HalfCheck::mismatch(std::string where) {
  mismatch_ = std::move(where);
  if (stop_at_mismatch_) throw HalfMismatch{};
}

std::optional<std::string> HalfCheck::verdict() {
  if (!writer_) {
    mismatch_ = "at the start";
  } else if (!mismatch_) {
    if (db_open_) writer_->end_object();
    writer_->key("dump_metadata");
    bool ok = writer_->compact(header_.dump_metadata);
    if (ok) writer_->end_object();
    if (!ok || !matches()) mismatch_ = "in dump_metadata";
    else if (!json_->at_end()) mismatch_ = "at the end";
  }
  if (!mismatch_) return std::nullopt;
  if (writer_ && (header_.json_size != json_size_ || !(json_->drain() == header_.json_hash)))
    return "the JSON member " + json_name_ + " was changed after the export (it no longer has the hash recorded in " +
           capnp_name_ + ")";
  return "the Cap'n Proto half " + capnp_name_ + " does not match the JSON member " + json_name_ +
         " (they first differ " + *mismatch_ + ")";
}

// Passes every call on to `next` until `stop` is set, then throws HalfMismatch.
class HalfCheckBeside::Stoppable : public capnp_dump::StreamVisitor {
 public:
  Stoppable(capnp_dump::StreamVisitor& next, const std::atomic<bool>& stop) : next_(next), stop_(stop) {}
  void header(const capnp_dump::Header& h) override { go_on(), next_.header(h); }
  void file(const capnp_dump::FileRecord& f) override { go_on(), next_.file(f); }
  void begin_table(std::string_view db, std::string_view table, const std::vector<std::string>& columns) override {
    go_on(), next_.begin_table(db, table, columns);
  }
  void row(std::string_view db, std::string_view table, size_t index, const std::vector<std::string>& columns,
           Row& values) override {
    go_on(), next_.row(db, table, index, columns, values);
  }
  void end_table(std::string_view db, std::string_view table) override { go_on(), next_.end_table(db, table); }
  void empty_database(std::string_view db) override { go_on(), next_.empty_database(db); }

 private:
  void go_on() const {
    if (stop_.load(std::memory_order_relaxed)) throw HalfMismatch{};
  }
  capnp_dump::StreamVisitor& next_;
  const std::atomic<bool>& stop_;
};

namespace {

// The rows the check rendered go nowhere.
struct Nowhere : capnp_dump::StreamVisitor {
  void header(const capnp_dump::Header&) override {}
  void row(std::string_view, std::string_view, size_t, const std::vector<std::string>&, Row&) override {}
};

}  // namespace

HalfCheckBeside::HalfCheckBeside(const zip::Reader& zip, const zip::Entry& json, const zip::Entry& capnp)
    : zip_(zip), json_(json), capnp_(capnp) {
  if (worker_threads() <= 1) {
    check();
    return;
  }
  share_one_malloc_arena();  // the check's buffers are freed on its thread, the caller's on its own
  worker_ = start_worker([this] { check(); });
}

HalfCheckBeside::~HalfCheckBeside() {
  stop_ = true;
  if (worker_.joinable()) worker_.join();
}

void HalfCheckBeside::check() {
  try {
    Nowhere nowhere;
    Stoppable stoppable(nowhere, stop_);
    HalfCheck check(zip_, json_, capnp_, stoppable, /*stop_at_mismatch=*/true);
    try {
      std::unique_ptr<zip::MemberReader> in = zip_.open(capnp_);
      capnp_dump::read_stream([&](char* buf, size_t n) { return in->read(buf, n); }, check, capnp_.name);
    } catch (const HalfMismatch&) {
      if (stop_) return;  // the caller went away: no verdict is wanted
    }
    verdict_ = check.verdict();
  } catch (...) {
    error_ = std::current_exception();
  }
  if (verdict_ || error_) failed_ = true;
}

capnp_dump::StreamVisitor& HalfCheckBeside::until_mismatch(capnp_dump::StreamVisitor& next) {
  caller_ = std::make_unique<Stoppable>(next, failed_);
  return *caller_;
}

std::optional<std::string> HalfCheckBeside::verdict() {
  if (worker_.joinable()) worker_.join();
  if (error_) std::rethrow_exception(error_);
  return verdict_;
}

}  // namespace mdb
