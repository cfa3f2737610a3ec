// The Cap'n Proto half of a dump: exact round trips of every storage class and byte, batching
// that keeps every message small whatever the value sizes, and clean errors on damaged streams.
#include "formats/capnp_dump.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "formats/dump.capnp.h"
#include "base/error.h"

namespace mdb::capnp_dump {
namespace {

struct Table {
  std::string db, name;
  std::vector<std::string> columns;
  std::vector<Row> rows;
  bool operator==(const Table&) const = default;
};

struct Dump {
  Header header;
  std::vector<FileRecord> files;
  std::vector<Table> tables;
};

bool same_header(const Header& a, const Header& b) {
  return a.format_version == b.format_version && a.dump_metadata == b.dump_metadata && a.json_member == b.json_member &&
         a.json_size == b.json_size && a.json_hash == b.json_hash && a.file_count == b.file_count;
}

std::string write(const Dump& d) {
  std::string out;
  StreamWriter w([&](std::string_view bytes) { out.append(bytes); });
  w.header(d.header);
  for (const FileRecord& f : d.files) w.file(f);
  for (const Table& t : d.tables) {
    w.begin_table(t.db, t.name, t.columns);
    for (const Row& r : t.rows) w.row(r);
    w.end_table();
  }
  w.finish();
  return out;
}

class Collect : public StreamVisitor {
 public:
  Dump dump;
  void header(const Header& h) override { dump.header = h; }
  void file(const FileRecord& f) override { dump.files.push_back(f); }
  void begin_table(std::string_view db, std::string_view table, const std::vector<std::string>& columns) override {
    dump.tables.push_back({std::string(db), std::string(table), columns, {}});
  }
  void row(std::string_view db, std::string_view table, size_t index, const std::vector<std::string>& columns,
           Row& values) override {
    Table& t = dump.tables.back();
    EXPECT_EQ(t.db, db);
    EXPECT_EQ(t.name, table);
    EXPECT_EQ(t.columns, columns);
    EXPECT_EQ(index, t.rows.size());
    t.rows.push_back(std::move(values));
  }
};

ReadFn reader_of(const std::string& bytes, size_t step = 1 << 20) {
  auto pos = std::make_shared<size_t>(0);
  return [&bytes, pos, step](char* buf, size_t n) {
    size_t k = std::min({n, bytes.size() - *pos, step});
    std::memcpy(buf, bytes.data() + *pos, k);
    *pos += k;
    return k;
  };
}

Dump read(const std::string& bytes, size_t step = 1 << 20) {
  Collect c;
  read_stream(reader_of(bytes, step), c, "test.capnp");
  return c.dump;
}

// The sizes (framing included) of the messages of a stream.
std::vector<size_t> message_sizes(const std::string& bytes) {
  std::vector<size_t> out;
  for (size_t at = 0; at < bytes.size();) {
    uint32_t count;
    std::memcpy(&count, bytes.data() + at, 4);
    size_t segments = count + 1, table = (segments + 2) / 2 * 8, body = 0;
    for (size_t i = 0; i < segments; ++i) {
      uint32_t words;
      std::memcpy(&words, bytes.data() + at + 4 + 4 * i, 4);
      body += size_t{words} * 8;
    }
    out.push_back(table + body);
    at += table + body;
  }
  return out;
}

Dump sample() {
  Dump d;
  d.header.dump_metadata = R"({"migrations": {}, "timestamp": "2026_11_25_15_36_49"})";
  d.header.json_member = "2026_11_25_15_36_49_mephisto_dump.json";
  d.header.json_size = 55336;
  d.header.json_hash = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  d.files = {{"runs/p/1/a.json", 12, {1, 2}}, {"runs/Проект_β/2/b", 0, {3, 4}}};
  d.header.file_count = d.files.size();
  Table t{"mephisto", "tasks", {"task_id", "task_name", "score", "blob", "missing"}, {}};
  t.rows.push_back({Value::integer(std::numeric_limits<int64_t>::max()), Value::text("it's \"ünï\""), Value::real(0.1),
                    Value::blob(std::string("\0\xff\x01", 3)), Value::null()});
  t.rows.push_back({Value::integer(std::numeric_limits<int64_t>::min()),
                    Value::text(std::string("nul\0in\xfftext", 11)), Value::real(-0.0), Value::blob(""),
                    Value::text("")});
  t.rows.push_back({Value::integer(0), Value::text("007"), Value::real(std::nan("")),
                    Value::real(std::numeric_limits<double>::infinity()), Value::integer(1)});
  d.tables.push_back(t);
  d.tables.push_back({"mephisto", "unit_review", {"id", "value"}, {}});  // empty tables survive
  d.tables.push_back({"prolific", "tasks", {"id"}, {{Value::integer(5)}}});
  return d;
}

void expect_equal(const Dump& a, const Dump& b) {
  EXPECT_TRUE(same_header(a.header, b.header));
  ASSERT_EQ(a.files.size(), b.files.size());
  for (size_t i = 0; i < a.files.size(); ++i) {
    EXPECT_EQ(a.files[i].path, b.files[i].path);
    EXPECT_EQ(a.files[i].size, b.files[i].size);
    EXPECT_EQ(a.files[i].hash, b.files[i].hash);
  }
  ASSERT_EQ(a.tables.size(), b.tables.size());
  for (size_t i = 0; i < a.tables.size(); ++i) EXPECT_TRUE(a.tables[i] == b.tables[i]) << a.tables[i].name;
}

TEST(CapnpDump, RoundTripsEveryStorageClassAndByte) {
  Dump d = sample();
  std::string bytes = write(d);
  expect_equal(read(bytes), d);
  expect_equal(read(bytes, 3), d);  // a reader that returns a few bytes at a time
}

TEST(CapnpDump, SameInputSameBytes) { EXPECT_EQ(write(sample()), write(sample())); }

TEST(CapnpDump, PiecesWrittenSeparatelyConcatenate) {
  Dump d = sample();
  std::string head, files, rows;
  StreamWriter([&](std::string_view b) { head.append(b); }).header(d.header);
  {
    StreamWriter w([&](std::string_view b) { files.append(b); });
    for (const FileRecord& f : d.files) w.file(f);
    w.finish();
  }
  {
    StreamWriter w([&](std::string_view b) { rows.append(b); });
    for (const Table& t : d.tables) {
      w.begin_table(t.db, t.name, t.columns);
      for (const Row& r : t.rows) w.row(r);
      w.end_table();
    }
    w.finish();
  }
  EXPECT_EQ(head + files + rows, write(d));
}

TEST(CapnpDump, LargeValuesAndManyRowsKeepMessagesSmall) {
  Dump d;
  Table t{"mephisto", "big", {"a", "b", "c", "d"}, {}};
  std::string huge(9 << 20, 'h');  // over one chunk
  for (size_t i = 0; i < huge.size(); ++i) huge[i] = static_cast<char>(i * 31 + (i >> 12));
  std::string medium(900 << 10, 'm');  // under the inline limit, but four of them exceed a row's budget
  t.rows.push_back({Value::text(huge), Value::blob(medium), Value::text(medium), Value::blob(huge)});
  t.rows.push_back({Value::text(medium), Value::text(medium), Value::text(medium), Value::text(medium)});
  t.rows.push_back({Value::text(medium), Value::text(medium), Value::text(medium), Value::text(medium)});
  t.rows.push_back({Value::text(""), Value::blob(""), Value::null(), Value::text(std::string(1 << 20, 'x'))});
  for (int i = 0; i < 50000; ++i)
    t.rows.push_back({Value::integer(i), Value::text("row " + std::to_string(i)), Value::real(i / 7.0), Value::null()});
  d.tables.push_back(t);
  std::string bytes = write(d);
  std::vector<size_t> sizes = message_sizes(bytes);
  EXPECT_GT(sizes.size(), 10u);
  for (size_t s : sizes) EXPECT_LT(s, size_t{16} << 20);
  expect_equal(read(bytes), d);
}

// Rows reach the visitor one by one as they are decoded; a row whose large value comes in later
// chunks holds back itself and the rows after it, which still arrive in order.
TEST(CapnpDump, RowsAroundALargeValueInOneBatchArriveInOrder) {
  Dump d;
  Table t{"mephisto", "t", {"id", "v"}, {}};
  for (int i = 0; i < 300; ++i) {
    std::string v = "row " + std::to_string(i);
    if (i == 100 || i == 101 || i == 250) v = std::string((3 << 20) + i, static_cast<char>('a' + i % 26));
    t.rows.push_back({Value::integer(i), Value::text(v)});
  }
  d.tables.push_back(t);
  d.tables.push_back({"prolific", "after", {"id"}, {{Value::integer(1)}, {Value::integer(2)}}});
  std::string bytes = write(d);
  expect_equal(read(bytes), d);
  expect_equal(read(bytes, 4093), d);
}

TEST(CapnpDump, EveryTruncationIsAnErrorOrAMessageBoundary) {
  std::string bytes = write(sample());
  std::vector<size_t> boundaries;
  size_t at = 0;
  for (size_t s : message_sizes(bytes)) boundaries.push_back(at += s);
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string prefix = bytes.substr(0, n);
    bool boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
    try {
      read(prefix);
      EXPECT_TRUE(boundary) << n;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("test.capnp"), std::string::npos);
    }
  }
}

// Streams made with the schema directly, in orders our writer never produces.
std::string message_bytes(const std::function<void(wire::Message::Builder)>& fill) {
  capnp::MallocMessageBuilder b;
  fill(b.initRoot<wire::Message>());
  auto words = capnp::messageToFlatArray(b);
  return std::string(reinterpret_cast<const char*>(words.asBytes().begin()), words.asBytes().size());
}

std::string header_bytes(uint64_t files, uint32_t version = kFormatVersion) {
  return message_bytes([&](wire::Message::Builder m) {
    auto h = m.initHeader();
    h.setFormatVersion(version);
    h.setFileCount(files);
  });
}

std::string rows_bytes(const std::string& table, unsigned columns, unsigned values) {
  return message_bytes([&](wire::Message::Builder m) {
    auto r = m.initRows();
    r.setDb(capnp::Data::Reader(reinterpret_cast<const kj::byte*>("mephisto"), 8));
    r.setTable(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(table.data()), table.size()));
    r.initColumns(columns);
    auto row = r.initRows(1)[0].initValues(values);
    for (unsigned i = 0; i < values; ++i) row[i].setInteger(i);
  });
}

std::string error_of(const std::string& bytes) {
  try {
    read(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(CapnpDump, RejectsStreamsOutOfShape) {
  std::string files1 = message_bytes([](wire::Message::Builder m) { m.initFiles(1); });
  std::string chunk = message_bytes([](wire::Message::Builder m) { m.setChunk(capnp::Data::Reader()); });
  std::string large = message_bytes([](wire::Message::Builder m) {
    auto r = m.initRows();
    r.initColumns(1);
    r.initRows(1)[0].initValues(1)[0].setLargeText(10);
  });
  struct Case {
    std::string bytes, expected;
  };
  std::vector<Case> cases = {
      {"", "no header"},
      {rows_bytes("t", 1, 1), "rows before the header"},
      {header_bytes(0) + header_bytes(0), "second header"},
      {header_bytes(0, 99), "format version 99"},
      {header_bytes(2) + files1, "lists 2 files"},
      {header_bytes(0) + files1, "more files"},
      {header_bytes(0) + rows_bytes("t", 2, 1), "1 values for 2 columns"},
      {header_bytes(0) + rows_bytes("t", 1, 1) + rows_bytes("u", 1, 1) + rows_bytes("t", 1, 1), "appears twice"},
      {header_bytes(0) + rows_bytes("t", 1, 1) + rows_bytes("t", 2, 2), "other columns"},
      {header_bytes(0) + chunk, "belongs to no value"},
      {header_bytes(0) + large, "missing 10 bytes"},
      {header_bytes(0) + std::string("\xff\xff\xff\x0f", 4), "segments"},
      {header_bytes(0) + std::string("\x00\x00\x00\x00\xff\xff\xff\x7f", 8), "larger than 64 MiB"},
      {header_bytes(0) + std::string("\x00\x00\x00\x00\x02\x00\x00\x00", 8) + std::string(8, 'x'),
       "stream ends inside a message"},
  };
  for (const Case& c : cases) {
    std::string err = error_of(c.bytes);
    EXPECT_NE(err.find(c.expected), std::string::npos) << c.expected << " -> " << err;
  }
}

TEST(CapnpDump, GarbageInsideAMessageIsAnError) {
  std::string bytes = write(sample());
  // Keep the framing, scramble the body of the rows message (pointers out of bounds).
  std::vector<size_t> sizes = message_sizes(bytes);
  size_t start = sizes[0] + sizes[1];
  for (size_t i = start + 16; i < start + sizes[2]; i += 3) bytes[i] = static_cast<char>(bytes[i] ^ 0x5A);
  try {
    read(bytes);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test.capnp"), std::string::npos);
  }
}

rc::Gen<Value> arbitrary_value() {
  return rc::gen::oneOf(rc::gen::just(Value::null()), rc::gen::map(rc::gen::arbitrary<int64_t>(), &Value::integer),
                        rc::gen::map(rc::gen::arbitrary<double>(), &Value::real),
                        rc::gen::map(rc::gen::container<std::string>(rc::gen::arbitrary<char>()), &Value::text),
                        rc::gen::map(rc::gen::container<std::string>(rc::gen::arbitrary<char>()), &Value::blob));
}

RC_GTEST_PROP(CapnpDumpProperty, RowsRoundTripExactly, ()) {
  auto width = *rc::gen::inRange<size_t>(1, 6);
  auto rows = *rc::gen::container<std::vector<Row>>(rc::gen::container<Row>(width, arbitrary_value()));
  Dump d;
  Table t{"mephisto", "t", {}, rows};
  for (size_t i = 0; i < width; ++i) t.columns.push_back("c" + std::to_string(i));
  d.tables.push_back(t);
  Dump back = read(write(d));
  RC_ASSERT(back.tables.size() == 1u);
  RC_ASSERT(back.tables[0] == t);
}

}  // namespace
}  // namespace mdb::capnp_dump
