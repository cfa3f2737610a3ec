// zip::Writer: a streaming zip writer on zlib (the reader is libzip's, in zip.cc). Members up to
// 1 MiB are read whole and packed (deflated or stored) on a pool of threads, then written in the
// order they were added; larger ones are streamed: local header, data, then the header's CRC and
// sizes patched in place. Only the central directory records (a few dozen bytes per member) wait for
// commit(), in memory up to kCentralInMemory and beyond that in the Output's scratch (a file no
// name refers to, beside the archive: never in $TMPDIR).
// libzip's writer keeps about 2.5 KB per member until it closes, which is not flat for dumps of
// hundreds of thousands of files; neither is a central directory held in memory (~150 B each).
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>

#include "base/error.h"
#include "base/ordered_pool.h"
#include "base/interrupt.h"
#include "formats/zip.h"
#include "formats/zip_pack.h"

namespace mdb::zip {

namespace {

constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEnd = 0x06054b50;
constexpr uint32_t kZip64End = 0x06064b50, kZip64Locator = 0x07064b50;
constexpr uint16_t kVersion = 20, kVersionZip64 = 45;
constexpr uint16_t kMadeByUnix = 3 << 8;
constexpr uint16_t kUtf8Name = 0x0800;
constexpr uint32_t kMax32 = 0xFFFFFFFF;
// Members declared this large (or of unknown size) get zip64 fields: deflate may grow
// incompressible data a little, so the threshold leaves room below 4 GiB.
constexpr uint64_t kZip64From = 0xFF000000;
constexpr size_t kChunk = size_t{1} << 16;
// Members declared up to this size are read whole and packed as one job on the pool; larger ones (and
// those of unknown size) are streamed in pieces of this size, each deflated as a job (pigz's way). The
// choice depends on the declared size only, so the bytes do not depend on the thread count.
constexpr uint64_t kPooledMax = kPiece;
constexpr size_t kCentralInMemory = size_t{4} << 20;

// Little-endian fields of zip headers.
struct Bytes {
  std::string s;
  Bytes& u16(uint32_t v) {
    s += static_cast<char>(v & 0xFF);
    s += static_cast<char>((v >> 8) & 0xFF);
    return *this;
  }
  Bytes& u32(uint32_t v) { return u16(v & 0xFFFF).u16(v >> 16); }
  Bytes& u64(uint64_t v) { return u32(static_cast<uint32_t>(v)).u32(static_cast<uint32_t>(v >> 32)); }
  Bytes& raw(std::string_view v) {
    s += v;
    return *this;
  }
};

// MS-DOS date and time fields (local time, 2-second resolution, from 1980 on).
std::pair<uint16_t, uint16_t> dos_time(time_t t) {
  struct tm local {};
  localtime_r(&t, &local);
  if (local.tm_year < 80) return {0, (1 << 5) | 1};  // 1980-01-01 00:00
  auto time = static_cast<uint16_t>((local.tm_hour << 11) | (local.tm_min << 5) | (local.tm_sec / 2));
  auto date = static_cast<uint16_t>(((local.tm_year - 80) << 9) | ((local.tm_mon + 1) << 5) | local.tm_mday);
  return {time, date};
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

class MemoryInput : public Input {
 public:
  explicit MemoryInput(std::string data) : data_(std::move(data)) {}
  size_t read(char* buf, size_t n) override {
    size_t k = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  std::optional<uint64_t> size() override { return data_.size(); }

 private:
  std::string data_;
  size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<Input> memory_input(std::string data) { return std::make_unique<MemoryInput>(std::move(data)); }

struct Writer::Impl {
  explicit Impl(unsigned threads) : pool(threads), max_queued(threads <= 1 ? 0 : 4 * size_t{threads}) {}

  std::unique_ptr<Output> out;
  uint16_t dos_time = 0, dos_date = 0;
  uint64_t offset = 0;  // where the next byte goes
  uint64_t count = 0;
  std::string central;  // the central directory records not yet spilled
  std::unique_ptr<Scratch> spill;  // the older ones
  uint64_t spilled = 0;             // bytes in `spill`
  uint64_t central_size = 0;        // all of them
  bool committed = false;

  // Members waiting for their packing on the pool, in the order they were added.
  struct Member {
    std::string name;
    uint32_t mode = 0;
    bool directory = false;
  };
  OrderedPool<Packed> pool;
  std::deque<Member> queued;
  size_t max_queued;  // members in flight: bounds memory to a few MiB per thread

  void add_central(const std::string& record) {
    central += record;
    central_size += record.size();
    if (central.size() < kCentralInMemory) return;
    if (!spill) spill = out->scratch();
    spill->append(central);
    spilled += central.size();
    central.clear();
  }

  // Appends the spilled records, then those in memory, to the zip.
  void write_central() {
    if (spill) {
      std::string buf(kChunk, '\0');
      for (uint64_t at = 0; at < spilled;) {
        size_t n = spill->read_at(at, buf.data(), static_cast<size_t>(std::min<uint64_t>(buf.size(), spilled - at)));
        if (n == 0)
          throw Error("Writing the zip " + out->name() + " failed: its set-aside central directory ended early.",
                      ErrorKind::Io);
        write(std::string_view(buf.data(), n));
        at += n;
      }
      spill.reset();
    }
    write(central);
    std::string().swap(central);
  }

  void write(std::string_view bytes) {
    out->write_at(offset, bytes);
    offset += bytes.size();
  }

  [[noreturn]] void fail(const std::string& name, const std::string& what) {
    throw Error("Writing the zip " + out->name() + " failed: " + what + " ('" + name + "').", ErrorKind::Io);
  }

  [[noreturn]] void changed(const std::string& name, uint64_t declared, uint64_t read) {
    fail(name, "the content changed while it was being written (" + std::to_string(declared) + " bytes expected, " +
                   std::to_string(read) + " read)");
  }

  static uint16_t flags_of(const std::string& name) { return is_ascii(name) ? 0 : kUtf8Name; }

  // The central directory record: zip64 fields for whatever does not fit in 32 bits.
  void add_record(const Member& m, uint16_t method, bool zip64, uint32_t crc, uint64_t size, uint64_t compressed,
                  uint64_t header_at) {
    Bytes extra;
    if (size >= kMax32) extra.u64(size);
    if (compressed >= kMax32) extra.u64(compressed);
    if (header_at >= kMax32) extra.u64(header_at);
    bool big = !extra.s.empty();
    Bytes rec;
    uint16_t version = big || zip64 ? kVersionZip64 : kVersion;
    rec.u32(kCentralHeader).u16(kMadeByUnix | version).u16(version).u16(flags_of(m.name)).u16(method);
    rec.u16(dos_time).u16(dos_date).u32(crc).u32(compressed >= kMax32 ? kMax32 : static_cast<uint32_t>(compressed));
    rec.u32(size >= kMax32 ? kMax32 : static_cast<uint32_t>(size));
    rec.u16(static_cast<uint32_t>(m.name.size())).u16(big ? static_cast<uint32_t>(extra.s.size() + 4) : 0);
    rec.u16(0).u16(0).u16(0);                          // comment, disk, internal attributes
    rec.u32((m.mode << 16) | (m.directory ? 0x10 : 0));  // Unix mode; 0x10: MS-DOS directory
    rec.u32(header_at >= kMax32 ? kMax32 : static_cast<uint32_t>(header_at)).raw(m.name);
    if (big) rec.u16(1).u16(static_cast<uint32_t>(extra.s.size())).raw(extra.s);
    add_central(rec.s);
    ++count;
  }

  Bytes local_header(const Member& m, uint16_t method, bool zip64, uint32_t crc, uint64_t size, uint64_t compressed) {
    Bytes local;
    local.u32(kLocalHeader).u16(zip64 ? kVersionZip64 : kVersion).u16(flags_of(m.name)).u16(method);
    local.u16(dos_time).u16(dos_date).u32(crc);
    local.u32(zip64 ? kMax32 : static_cast<uint32_t>(compressed)).u32(zip64 ? kMax32 : static_cast<uint32_t>(size));
    local.u16(static_cast<uint32_t>(m.name.size())).u16(zip64 ? 20 : 0).raw(m.name);
    if (zip64) local.u16(1).u16(16).u64(size).u64(compressed);
    return local;
  }

  // A packed member: header, data and record, all known up front.
  void write_packed(const Member& m, const Packed& p) {
    uint64_t header_at = offset;
    write(local_header(m, p.method, false, p.crc, p.size, p.data.size()).s);
    write(p.data);
    add_record(m, p.method, false, p.crc, p.size, p.data.size(), header_at);
  }

  // Writes the oldest queued members until at most `limit` are in flight.
  void drain(size_t limit) {
    while (queued.size() > limit) {
      Packed p = pool.next();
      write_packed(queued.front(), p);
      queued.pop_front();
    }
  }

  void enqueue(Member m, std::function<Packed()> job) {
    queued.push_back(std::move(m));
    pool.submit(std::move(job));
    drain(max_queued);
  }

  // The whole of a small member, checked against its declared size (read in chunks, as the
  // streamed ones are, whatever that size says).
  std::string read_all(Input& in, const std::string& name, uint64_t declared) {
    std::string raw;
    raw.reserve(declared);
    for (;;) {
      size_t at = raw.size();
      raw.resize(at + kChunk);
      size_t n = in.read(raw.data() + at, kChunk);
      raw.resize(at + n);
      if (raw.size() > declared) changed(name, declared, raw.size());
      if (n == 0) break;
    }
    if (raw.size() != declared) changed(name, declared, raw.size());
    return raw;
  }

  // Up to kPiece bytes of the input: less only at its end.
  static std::string read_piece(Input& in) {
    std::string piece(kPiece, '\0');
    size_t got = 0;
    while (got < piece.size()) {
      size_t n = in.read(piece.data() + got, std::min(kChunk, piece.size() - got));
      if (n == 0) break;
      got += n;
    }
    piece.resize(got);
    return piece;
  }

  // A large member or one of unknown size, piece by piece: its first piece decides the method
  // (stored when it does not compress); pieces are deflated on the pool, a few in flight at most.
  // The header is written with zip64 sizes, patched once the data are through.
  void stream(const Member& m, Input& in, std::optional<uint64_t> declared) {
    std::string piece = read_piece(in);
    uint16_t method = piece.size() >= kProbeFrom && incompressible(piece.data(), piece.size()) ? kStored : kDeflated;
    bool zip64 = !declared || *declared >= kZip64From;
    uint64_t header_at = offset;
    write(local_header(m, method, zip64, 0, 0, 0).s);
    uint32_t crc = 0;
    uint64_t size = 0, compressed = 0;
    size_t in_flight = 0;
    std::string window;  // the last 32 KiB before the piece: its dictionary
    for (;;) {
      crc = crc32_update(crc, piece);
      size += piece.size();
      if (declared && size > *declared) changed(m.name, *declared, size);
      std::string next = piece.empty() ? std::string() : read_piece(in);
      bool last = next.empty();
      if (method == kStored) {
        write(piece);
        compressed += piece.size();
      } else {
        std::string dict = window;
        window = last_window(window, piece);
        pool.submit([dict = std::move(dict), piece = std::move(piece), last] {
          return Packed{kDeflated, 0, 0, deflate_piece(dict, piece, last)};
        });
        for (++in_flight; in_flight > max_queued / 2 || (last && in_flight > 0); --in_flight) {
          Packed p = pool.next();
          write(p.data);
          compressed += p.data.size();
        }
      }
      interrupt::check();
      if (last) break;
      piece = std::move(next);
    }
    if (declared && size != *declared) changed(m.name, *declared, size);
    Bytes patch;
    patch.u32(crc);
    if (zip64) {
      out->write_at(header_at + 14, patch.s);
      Bytes sizes;
      sizes.u64(size).u64(compressed);
      out->write_at(header_at + 30 + m.name.size() + 4, sizes.s);
    } else {
      if (compressed >= kMax32) fail(m.name, "the member grew past 4 GiB without zip64 fields");
      patch.u32(static_cast<uint32_t>(compressed)).u32(static_cast<uint32_t>(size));
      out->write_at(header_at + 14, patch.s);
    }
    add_record(m, method, zip64, crc, size, compressed, header_at);
  }

  void add(const std::string& name, Input* in, uint32_t mode) {
    Member m{name, mode, in == nullptr};
    if (!in) {
      enqueue(std::move(m), [] { return Packed{}; });
      return;
    }
    in->open();
    std::optional<uint64_t> declared = in->size();
    if (declared && *declared <= kPooledMax) {
      std::string raw = read_all(*in, name, *declared);
      in->close();
      enqueue(std::move(m), [raw = std::move(raw)]() mutable { return pack(std::move(raw)); });
      interrupt::check();
      return;
    }
    drain(0);
    stream(m, *in, declared);
    in->close();
  }
};

Writer::Writer(std::unique_ptr<Output> out, time_t mtime, unsigned threads)
    : impl_(std::make_unique<Impl>(threads)) {
  impl_->out = std::move(out);
  std::tie(impl_->dos_time, impl_->dos_date) = dos_time(mtime);
  impl_->out->begin();
}

Writer::~Writer() {
  if (!impl_->committed) impl_->out->rollback();
}

uint64_t Writer::member_count() const { return impl_->count + impl_->queued.size(); }

void Writer::add_directory(std::string_view name) {
  std::string dir(name);
  if (dir.empty() || dir.back() != '/') dir += '/';
  check_member_name(dir, true, impl_->out->name());
  impl_->add(dir, nullptr, S_IFDIR | 0755);
}

void Writer::add_file(std::string_view name, std::unique_ptr<Input> in, bool executable) {
  check_member_name(name, false, impl_->out->name());
  impl_->add(std::string(name), in.get(), S_IFREG | (executable ? 0755 : 0644));
}

void Writer::commit() {
  Impl& w = *impl_;
  w.drain(0);
  if (w.count == 0)
    throw Error("Writing the zip " + w.out->name() + " failed: it has no members.");
  uint64_t cd_at = w.offset, cd_size = w.central_size;
  w.write_central();
  if (w.offset - cd_at != cd_size)
    throw Error("Writing the zip " + w.out->name() + " failed: its central directory came back short from its "
                "temporary file.", ErrorKind::Io);
  bool zip64 = w.count >= 0xFFFF || cd_at >= kMax32 || cd_size >= kMax32;
  Bytes end;
  if (zip64) {
    uint64_t record_at = w.offset;
    end.u32(kZip64End).u64(44).u16(kMadeByUnix | kVersionZip64).u16(kVersionZip64).u32(0).u32(0);
    end.u64(w.count).u64(w.count).u64(cd_size).u64(cd_at);
    end.u32(kZip64Locator).u32(0).u64(record_at).u32(1);
  }
  auto clamp16 = [&](uint64_t v) { return zip64 ? 0xFFFF : static_cast<uint32_t>(v); };
  auto clamp32 = [&](uint64_t v) { return zip64 ? kMax32 : static_cast<uint32_t>(v); };
  end.u32(kEnd).u16(0).u16(0).u16(clamp16(w.count)).u16(clamp16(w.count)).u32(clamp32(cd_size)).u32(clamp32(cd_at));
  end.u16(0);
  w.write(end.s);
  w.out->commit();
  w.committed = true;
}

}  // namespace mdb::zip
