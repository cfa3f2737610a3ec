#include "formats/capnp_dump.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <optional>
#include <set>
#include <utility>

#include "formats/dump.capnp.h"
#include "base/error.h"

namespace mdb::capnp_dump {

namespace {

// Batch sizes: every message stays below a few times these, far under the 64 MiB limit.
constexpr size_t kBatchBytes = size_t{4} << 20;       // rows or files per message, by estimated size
constexpr size_t kMaxInlineValue = size_t{1} << 20;   // larger values go to chunk messages
constexpr size_t kRowInlineBudget = size_t{4} << 20;  // inline bytes of one row
constexpr size_t kChunkBytes = size_t{4} << 20;
constexpr size_t kValueOverhead = 24;  // a Value struct plus pointer, roughly
constexpr uint32_t kMaxSegments = 512;
constexpr uint64_t kTraversalLimitWords = 8 * 1024 * 1024;  // capnp's default: 64 MiB

capnp::Data::Reader as_data(std::string_view s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

std::string str(capnp::Data::Reader d) { return std::string(reinterpret_cast<const char*>(d.begin()), d.size()); }

void set_hash(wire::Hash128::Builder b, const store::Hash128& h) {
  b.setHigh(h.high);
  b.setLow(h.low);
}

store::Hash128 get_hash(wire::Hash128::Reader r) { return {r.getHigh(), r.getLow()}; }

// Which values of a row travel in chunk messages: those over kMaxInlineValue, and any that
// would push the row's inline bytes over kRowInlineBudget.
std::vector<bool> large_values(const Row& row) {
  std::vector<bool> large(row.size(), false);
  size_t inline_bytes = 0;
  for (size_t i = 0; i < row.size(); ++i) {
    const Value& v = row[i];
    if (v.kind != StorageClass::Text && v.kind != StorageClass::Blob) continue;
    if (v.s.size() > kMaxInlineValue || inline_bytes + v.s.size() > kRowInlineBudget)
      large[i] = true;
    else
      inline_bytes += v.s.size();
  }
  return large;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Writer

struct StreamWriter::Impl {
  Sink sink;
  std::vector<FileRecord> files;
  size_t files_bytes = 0;
  bool table_open = false;
  bool table_written = false;  // at least one batch of the open table was written
  std::string db, table;
  std::vector<std::string> columns;
  std::vector<Row> rows;
  std::vector<std::vector<bool>> large;
  size_t rows_bytes = 0;

  void emit(capnp::MallocMessageBuilder& builder) {
    kj::Array<capnp::word> words = capnp::messageToFlatArray(builder);
    kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
    sink(std::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
  }

  void flush_files() {
    if (files.empty()) return;
    capnp::MallocMessageBuilder builder;
    auto list = builder.initRoot<wire::Message>().initFiles(static_cast<unsigned>(files.size()));
    for (size_t i = 0; i < files.size(); ++i) {
      auto f = list[static_cast<unsigned>(i)];
      f.setPath(as_data(files[i].path));
      f.setSize(files[i].size);
      set_hash(f.initHash(), files[i].hash);
    }
    emit(builder);
    files.clear();
    files_bytes = 0;
  }

  void flush_rows() {
    capnp::MallocMessageBuilder builder;
    auto batch = builder.initRoot<wire::Message>().initRows();
    batch.setDb(as_data(db));
    batch.setTable(as_data(table));
    auto cols = batch.initColumns(static_cast<unsigned>(columns.size()));
    for (size_t i = 0; i < columns.size(); ++i) cols.set(static_cast<unsigned>(i), as_data(columns[i]));
    auto out = batch.initRows(static_cast<unsigned>(rows.size()));
    for (size_t r = 0; r < rows.size(); ++r) {
      auto values = out[static_cast<unsigned>(r)].initValues(static_cast<unsigned>(rows[r].size()));
      for (size_t c = 0; c < rows[r].size(); ++c) {
        const Value& v = rows[r][c];
        auto dst = values[static_cast<unsigned>(c)];
        bool is_large = large[r][c];
        switch (v.kind) {
          case StorageClass::Null:
            dst.setNull();
            break;
          case StorageClass::Integer:
            dst.setInteger(v.i);
            break;
          case StorageClass::Real:
            dst.setReal(v.r);
            break;
          case StorageClass::Text:
            is_large ? dst.setLargeText(v.s.size()) : dst.setText(as_data(v.s));
            break;
          case StorageClass::Blob:
            is_large ? dst.setLargeBlob(v.s.size()) : dst.setBlob(as_data(v.s));
            break;
        }
      }
    }
    emit(builder);
    for (size_t r = 0; r < rows.size(); ++r)
      for (size_t c = 0; c < rows[r].size(); ++c)
        if (large[r][c]) emit_chunks(rows[r][c].s);
    rows.clear();
    large.clear();
    rows_bytes = 0;
    table_written = true;
  }

  void emit_chunks(std::string_view bytes) {
    for (size_t at = 0; at < bytes.size(); at += kChunkBytes) {
      capnp::MallocMessageBuilder builder;
      builder.initRoot<wire::Message>().setChunk(as_data(bytes.substr(at, kChunkBytes)));
      emit(builder);
    }
  }
};

StreamWriter::StreamWriter(Sink sink) : impl_(std::make_unique<Impl>()) { impl_->sink = std::move(sink); }

StreamWriter::~StreamWriter() = default;

void StreamWriter::header(const Header& h) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<wire::Message>().initHeader();
  out.setFormatVersion(h.format_version);
  out.setDumpMetadata(as_data(h.dump_metadata));
  out.setJsonMember(as_data(h.json_member));
  out.setJsonSize(h.json_size);
  set_hash(out.initJsonHash(), h.json_hash);
  out.setFileCount(h.file_count);
  impl_->emit(builder);
}

void StreamWriter::file(const FileRecord& f) {
  impl_->files_bytes += f.path.size() + 48;
  impl_->files.push_back(f);
  if (impl_->files_bytes >= kBatchBytes) impl_->flush_files();
}

void StreamWriter::begin_table(std::string_view db, std::string_view table, std::vector<std::string> columns) {
  if (impl_->table_open) throw Error("capnp dump writer: begin_table(" + std::string(table) + ") inside a table");
  impl_->flush_files();
  impl_->table_open = true;
  impl_->table_written = false;
  impl_->db = db;
  impl_->table = table;
  impl_->columns = std::move(columns);
}

void StreamWriter::row(const Row& values) {
  if (!impl_->table_open || values.size() != impl_->columns.size())
    throw Error("capnp dump writer: a row of " + impl_->table + " with " + std::to_string(values.size()) +
                " values for " + std::to_string(impl_->columns.size()) + " columns");
  std::vector<bool> large = large_values(values);
  size_t bytes = 0;
  for (size_t i = 0; i < values.size(); ++i) bytes += kValueOverhead + (large[i] ? 0 : values[i].s.size());
  if (!impl_->rows.empty() && impl_->rows_bytes + bytes > kBatchBytes) impl_->flush_rows();
  impl_->rows.push_back(values);
  impl_->large.push_back(std::move(large));
  impl_->rows_bytes += bytes;
}

void StreamWriter::end_table() {
  if (!impl_->rows.empty() || !impl_->table_written) impl_->flush_rows();
  impl_->table_open = false;
}

void StreamWriter::empty_database(std::string_view db) {
  if (impl_->table_open) throw Error("capnp dump writer: empty_database(" + std::string(db) + ") inside a table");
  impl_->flush_files();
  capnp::MallocMessageBuilder builder;
  builder.initRoot<wire::Message>().setEmptyDb(as_data(db));
  impl_->emit(builder);
}

void StreamWriter::finish() { impl_->flush_files(); }

// ---------------------------------------------------------------------------------------
// Reader

namespace {

class StreamReader {
 public:
  StreamReader(const ReadFn& read, StreamVisitor& visitor, std::string_view source, const ReadLimits& limits)
      : read_(read), visitor_(visitor), source_(source), limits_(limits) {}

  void run() {
    while (auto words = next_message()) {
      try {
        capnp::FlatArrayMessageReader reader(*words);
        handle(reader.getRoot<wire::Message>());
      } catch (const kj::Exception& e) {
        fail(std::string("it is not a valid message (") + e.getDescription().cStr() + ")");
      }
    }
    if (!have_header_) fail("the stream holds no header");
    if (!pending_.empty()) fail("a large value is missing " + std::to_string(pending_.front().remaining) + " bytes");
    check_files_complete();
    close_table();
  }

 private:
  struct Pending {  // a large value still receiving chunks
    size_t row, column;
    uint64_t remaining;
  };

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("The Cap'n Proto dump " + std::string(source_) + " is damaged: message " + std::to_string(message_) +
                ": " + what + ".", ErrorKind::Damaged);
  }

  size_t fill(char* buf, size_t n) {
    size_t done = 0;
    while (done < n) {
      size_t got = read_(buf + done, n - done);
      if (got == 0) break;
      done += got;
    }
    return done;
  }

  // The next message as aligned words (framing included), or nullopt at the end.
  std::optional<kj::Array<capnp::word>> next_message() {
    uint32_t first = 0;
    size_t got = fill(reinterpret_cast<char*>(&first), 4);
    if (got == 0) return std::nullopt;
    ++message_;
    if (got < 4) fail("the stream ends inside a message");
    uint64_t segments = uint64_t{first} + 1;
    if (segments > kMaxSegments) fail("it declares " + std::to_string(segments) + " segments");
    size_t table_words = static_cast<size_t>((segments + 2) / 2);  // 4-byte count + sizes, padded to 8
    std::vector<uint32_t> table(table_words * 2, 0);
    table[0] = first;
    size_t rest = (table_words * 2 - 1) * 4;
    if (fill(reinterpret_cast<char*>(table.data() + 1), rest) < rest) fail("the stream ends inside a message");
    uint64_t total = 0;
    for (uint64_t i = 0; i < segments; ++i) total += table[1 + i];
    if (total > kTraversalLimitWords) fail("it is larger than 64 MiB");
    auto words = kj::heapArray<capnp::word>(table_words + total);
    std::memcpy(words.asBytes().begin(), table.data(), table_words * 8);
    size_t body = static_cast<size_t>(total) * 8;
    if (fill(reinterpret_cast<char*>(words.begin() + table_words), body) < body)
      fail("the stream ends inside a message");
    return words;
  }

  void handle(wire::Message::Reader msg) {
    switch (msg.which()) {
      case wire::Message::HEADER:
        return on_header(msg.getHeader());
      case wire::Message::FILES:
        return on_files(msg.getFiles());
      case wire::Message::ROWS:
        return on_rows(msg.getRows());
      case wire::Message::CHUNK:
        return on_chunk(msg.getChunk());
      case wire::Message::EMPTY_DB:
        return on_empty_db(msg.getEmptyDb());
    }
    fail("it is of an unknown kind");
  }

  void on_header(wire::Header::Reader h) {
    if (have_header_) fail("a second header");
    if (message_ != 1) fail("the header is not the first message");
    have_header_ = true;
    Header out;
    out.format_version = h.getFormatVersion();
    if (out.format_version == 0 || out.format_version > kFormatVersion)
      fail("format version " + std::to_string(out.format_version) + " is not supported (this build reads up to " +
           std::to_string(kFormatVersion) + ")");
    out.dump_metadata = str(h.getDumpMetadata());
    out.json_member = str(h.getJsonMember());
    out.json_size = h.getJsonSize();
    out.json_hash = get_hash(h.getJsonHash());
    out.file_count = h.getFileCount();
    file_count_ = out.file_count;
    visitor_.header(out);
  }

  void on_files(capnp::List<wire::File>::Reader files) {
    if (!have_header_) fail("files before the header");
    if (in_rows_) fail("files after the rows");
    for (wire::File::Reader f : files) {
      if (++files_seen_ > file_count_) fail("more files than the " + std::to_string(file_count_) + " the header lists");
      visitor_.file({str(f.getPath()), f.getSize(), get_hash(f.getHash())});
    }
  }

  void check_files_complete() {
    if (files_seen_ != file_count_)
      fail("the header lists " + std::to_string(file_count_) + " files but the stream holds " +
           std::to_string(files_seen_));
  }

  void close_table() {
    if (in_table_) visitor_.end_table(db_, table_);
    in_table_ = false;
  }

  // Rows or an empty database follow: the files are complete, and no large value is pending.
  void enter_rows(const char* what) {
    if (!have_header_) fail(std::string(what) + " before the header");
    if (!pending_.empty()) fail("a large value is missing " + std::to_string(pending_.front().remaining) + " bytes");
    if (!in_rows_) check_files_complete();
    in_rows_ = true;
  }

  void on_empty_db(capnp::Data::Reader key) {
    enter_rows("a database");
    close_table();
    std::string db = str(key);
    if (!seen_tables_.insert(db + '\n').second) fail("database " + db + " appears twice");
    visitor_.empty_database(db);
  }

  void on_rows(wire::RowBatch::Reader batch) {
    enter_rows("rows");
    std::string db = str(batch.getDb()), table = str(batch.getTable());
    std::vector<std::string> columns;
    for (auto c : batch.getColumns()) columns.push_back(str(c));
    if (!in_table_ || db != db_ || table != table_) {
      close_table();
      if (!seen_tables_.insert(db + '\n' + table).second) fail("table " + db + "." + table + " appears twice");
      db_ = db, table_ = table, columns_ = std::move(columns), index_ = 0, in_table_ = true;
      visitor_.begin_table(db_, table_, columns_);
    } else if (columns != columns_) {
      fail("a batch of " + db + "." + table + " has other columns than the first");
    }
    // Each row goes to the visitor as soon as it is decoded, so a batch (up to 4 MiB of rows) is
    // never held decoded as a whole. A row with a large value, and every row after it, waits in
    // rows_ for the value's chunks: rows are delivered in order.
    for (auto r : batch.getRows()) {
      auto values = r.getValues();
      if (values.size() != columns_.size())
        fail("row " + std::to_string(index_ + rows_.size()) + " of " + db_ + "." + table_ + " has " +
             std::to_string(values.size()) + " values for " + std::to_string(columns_.size()) + " columns");
      Row row;
      row.reserve(values.size());
      for (auto v : values) row.push_back(value(v, rows_.size(), row.size()));
      rows_.push_back(std::move(row));
      if (pending_.empty()) deliver();
    }
  }

  Value value(wire::Value::Reader v, size_t row, size_t column) {
    auto large = [&](StorageClass kind, uint64_t size) {
      if (size > limits_.max_value_bytes)
        fail("a value of " + std::to_string(size) + " bytes is larger than the " +
             std::to_string(limits_.max_value_bytes) + " allowed");
      if (size > 0) pending_.push_back({row, column, size});
      Value out = kind == StorageClass::Text ? Value::text({}) : Value::blob({});
      out.s.reserve(static_cast<size_t>(size));
      return out;
    };
    switch (v.which()) {
      case wire::Value::NULL_:
        return Value::null();
      case wire::Value::INTEGER:
        return Value::integer(v.getInteger());
      case wire::Value::REAL:
        return Value::real(v.getReal());
      case wire::Value::TEXT:
        return Value::text(str(v.getText()));
      case wire::Value::BLOB:
        return Value::blob(str(v.getBlob()));
      case wire::Value::LARGE_TEXT:
        return large(StorageClass::Text, v.getLargeText());
      case wire::Value::LARGE_BLOB:
        return large(StorageClass::Blob, v.getLargeBlob());
    }
    fail("a value of an unknown kind");
  }

  void on_chunk(capnp::Data::Reader chunk) {
    if (pending_.empty()) fail("a chunk that belongs to no value");
    Pending& p = pending_.front();
    if (chunk.size() > p.remaining) fail("a chunk runs past the end of its value");
    rows_[p.row][p.column].s.append(reinterpret_cast<const char*>(chunk.begin()), chunk.size());
    p.remaining -= chunk.size();
    if (p.remaining == 0) pending_.erase(pending_.begin());
    if (pending_.empty()) deliver();
  }

  void deliver() {
    for (Row& row : rows_) visitor_.row(db_, table_, index_++, columns_, row);
    rows_.clear();
  }

  const ReadFn& read_;
  StreamVisitor& visitor_;
  std::string_view source_;
  ReadLimits limits_;
  uint64_t message_ = 0;
  bool have_header_ = false, in_rows_ = false, in_table_ = false;
  uint64_t file_count_ = 0, files_seen_ = 0;
  std::string db_, table_;
  std::vector<std::string> columns_;
  std::set<std::string> seen_tables_;
  size_t index_ = 0;
  std::vector<Row> rows_;
  std::vector<Pending> pending_;
};

}  // namespace

void read_stream(const ReadFn& read, StreamVisitor& visitor, std::string_view source, const ReadLimits& limits) {
  StreamReader(read, visitor, source, limits).run();
}

}  // namespace mdb::capnp_dump
