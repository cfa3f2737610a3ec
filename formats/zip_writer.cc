// zip::Writer: a streaming zip writer on zlib (the reader is libzip's, in zip.cc). Each member is
// written as soon as it is added: local header, deflated data, then the header's CRC and sizes
// patched in place; only the central directory records (a few dozen bytes per member) wait for
// commit(), in memory up to kCentralInMemory and beyond that in an unlinked temporary file.
// libzip's writer keeps about 2.5 KB per member until it closes, which is not flat for dumps of
// hundreds of thousands of files; neither is a central directory held in memory (~150 B each).
#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "base/error.h"
#include "base/interrupt.h"
#include "formats/zip.h"

namespace mdb::zip {

namespace {

constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEnd = 0x06054b50;
constexpr uint32_t kZip64End = 0x06064b50, kZip64Locator = 0x07064b50;
constexpr uint16_t kVersion = 20, kVersionZip64 = 45;
constexpr uint16_t kMadeByUnix = 3 << 8;
constexpr uint16_t kUtf8Name = 0x0800;
constexpr uint16_t kStored = 0, kDeflated = 8;
constexpr uint32_t kMax32 = 0xFFFFFFFF;
// Members declared this large (or of unknown size) get zip64 fields: deflate may grow
// incompressible data a little, so the threshold leaves room below 4 GiB.
constexpr uint64_t kZip64From = 0xFF000000;
constexpr int kDeflateLevel = 6;  // zlib's default, as Python's zipfile uses
constexpr size_t kChunk = size_t{1} << 16;
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

// Whether data looks already compressed (media, archives): then the deflate stream is made of
// stored blocks, which costs no CPU and adds a few bytes per 64 KiB.
bool incompressible(const char* data, size_t n) {
  uLongf bound = compressBound(n);
  std::string out(bound, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &bound, reinterpret_cast<const Bytef*>(data), n, 1) != Z_OK)
    return false;
  return bound > n / 100 * 97;
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
  std::unique_ptr<Output> out;
  uint16_t dos_time = 0, dos_date = 0;
  uint64_t offset = 0;  // where the next byte goes
  uint64_t count = 0;
  std::string central;  // the central directory records not yet spilled
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> spill{nullptr, &std::fclose};  // the older ones
  uint64_t central_size = 0;                                                     // all of them
  bool committed = false;

  [[noreturn]] void spill_failed(const char* what) {
    throw Error("Writing the zip " + out->name() + " failed: cannot " + what +
                " the temporary file that holds its central directory (" + std::strerror(errno) +
                ").", ErrorKind::Io);
  }

  void add_central(const std::string& record) {
    central += record;
    central_size += record.size();
    if (central.size() < kCentralInMemory) return;
    if (!spill) spill.reset(std::tmpfile());
    if (!spill) spill_failed("create");
    if (std::fwrite(central.data(), 1, central.size(), spill.get()) != central.size()) spill_failed("write");
    central.clear();
  }

  // Appends the spilled records, then those in memory, to the zip.
  void write_central() {
    if (spill) {
      if (std::fflush(spill.get()) != 0) spill_failed("write");
      std::rewind(spill.get());
      std::string buf(kChunk, '\0');
      while (size_t n = std::fread(buf.data(), 1, buf.size(), spill.get())) write(std::string_view(buf.data(), n));
      if (std::ferror(spill.get())) spill_failed("read");
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

  struct Data {
    uint32_t crc = 0;
    uint64_t size = 0, compressed = 0;
  };

  // Deflates the input after the local header; returns CRC and sizes.
  Data deflate_input(Input& in, const std::string& name, std::optional<uint64_t> declared) {
    Data d;
    std::string buf(kChunk, '\0'), zbuf(kChunk, '\0');
    size_t n = in.read(buf.data(), buf.size());
    int level = n == kChunk && incompressible(buf.data(), n) ? 0 : kDeflateLevel;
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) fail(name, "zlib failed");
    struct End {
      z_stream* z;
      ~End() { deflateEnd(z); }
    } end{&z};
    for (;;) {
      d.crc = static_cast<uint32_t>(crc32(d.crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(n)));
      d.size += n;
      if (declared && d.size > *declared) changed(name, *declared, d.size);
      z.next_in = reinterpret_cast<Bytef*>(buf.data());
      z.avail_in = static_cast<uInt>(n);
      int flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
      int rc;
      do {
        z.next_out = reinterpret_cast<Bytef*>(zbuf.data());
        z.avail_out = static_cast<uInt>(zbuf.size());
        rc = deflate(&z, flush);
        if (rc == Z_STREAM_ERROR) fail(name, "zlib failed");
        size_t produced = zbuf.size() - z.avail_out;
        write(std::string_view(zbuf.data(), produced));
        d.compressed += produced;
      } while (z.avail_out == 0);
      if (flush == Z_FINISH) {
        if (rc != Z_STREAM_END) fail(name, "zlib did not finish");
        break;
      }
      interrupt::check();
      n = in.read(buf.data(), buf.size());
    }
    if (declared && d.size != *declared) changed(name, *declared, d.size);
    return d;
  }

  [[noreturn]] void changed(const std::string& name, uint64_t declared, uint64_t read) {
    fail(name, "the content changed while it was being written (" + std::to_string(declared) + " bytes expected, " +
                   std::to_string(read) + " read)");
  }

  void add(const std::string& name, Input* in, uint32_t mode) {
    bool directory = in == nullptr;
    uint64_t header_at = offset;
    std::optional<uint64_t> declared;
    if (in) {
      in->open();
      declared = in->size();
    }
    bool zip64 = !directory && (!declared || *declared >= kZip64From);
    uint16_t flags = is_ascii(name) ? 0 : kUtf8Name;
    uint16_t method = directory ? kStored : kDeflated;
    Bytes local;
    local.u32(kLocalHeader).u16(zip64 ? kVersionZip64 : kVersion).u16(flags).u16(method).u16(dos_time).u16(dos_date);
    local.u32(0).u32(zip64 ? kMax32 : 0).u32(zip64 ? kMax32 : 0);  // CRC and sizes, patched below
    local.u16(static_cast<uint32_t>(name.size())).u16(zip64 ? 20 : 0).raw(name);
    if (zip64) local.u16(1).u16(16).u64(0).u64(0);
    write(local.s);

    Data d;
    if (in) {
      d = deflate_input(*in, name, declared);
      in->close();
      Bytes patch;
      patch.u32(d.crc);
      if (zip64) {
        out->write_at(header_at + 14, patch.s);
        Bytes sizes;
        sizes.u64(d.size).u64(d.compressed);
        out->write_at(header_at + 30 + name.size() + 4, sizes.s);
      } else {
        if (d.compressed >= kMax32) fail(name, "the member grew past 4 GiB without zip64 fields");
        patch.u32(static_cast<uint32_t>(d.compressed)).u32(static_cast<uint32_t>(d.size));
        out->write_at(header_at + 14, patch.s);
      }
    }

    // The central directory record: zip64 fields for whatever does not fit in 32 bits.
    Bytes extra;
    if (d.size >= kMax32) extra.u64(d.size);
    if (d.compressed >= kMax32) extra.u64(d.compressed);
    if (header_at >= kMax32) extra.u64(header_at);
    bool big = !extra.s.empty();
    Bytes rec;
    uint16_t version = big || zip64 ? kVersionZip64 : kVersion;
    rec.u32(kCentralHeader).u16(kMadeByUnix | version).u16(version).u16(flags).u16(method).u16(dos_time).u16(dos_date);
    rec.u32(d.crc).u32(d.compressed >= kMax32 ? kMax32 : static_cast<uint32_t>(d.compressed));
    rec.u32(d.size >= kMax32 ? kMax32 : static_cast<uint32_t>(d.size));
    rec.u16(static_cast<uint32_t>(name.size())).u16(big ? static_cast<uint32_t>(extra.s.size() + 4) : 0);
    rec.u16(0).u16(0).u16(0);                        // comment, disk, internal attributes
    rec.u32((mode << 16) | (directory ? 0x10 : 0));  // Unix mode; 0x10: MS-DOS directory
    rec.u32(header_at >= kMax32 ? kMax32 : static_cast<uint32_t>(header_at)).raw(name);
    if (big) rec.u16(1).u16(static_cast<uint32_t>(extra.s.size())).raw(extra.s);
    add_central(rec.s);
    ++count;
  }
};

Writer::Writer(std::unique_ptr<Output> out, time_t mtime) : impl_(std::make_unique<Impl>()) {
  impl_->out = std::move(out);
  std::tie(impl_->dos_time, impl_->dos_date) = dos_time(mtime);
  impl_->out->begin();
}

Writer::~Writer() {
  if (!impl_->committed) impl_->out->rollback();
}

uint64_t Writer::member_count() const { return impl_->count; }

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
