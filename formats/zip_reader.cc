// The zip reader's archive side (zip.h): the end records, the central directory read in place,
// members read by offset and inflated with zlib. Every number in the archive is untrusted: each
// record is bounded by the central directory, each member's data by the archive, each member's
// output by its declared size (fuzzed: fuzz/fuzz_zip.cc).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/error.h"
#include "base/interrupt.h"
#include "formats/utf8.h"
#include "formats/zip.h"
#include "formats/zip_pack.h"

namespace mdb::zip {

namespace stdfs = std::filesystem;

namespace {

constexpr uint32_t kEndSig = 0x06054b50, kEnd64LocatorSig = 0x07064b50, kEnd64Sig = 0x06064b50;
constexpr uint32_t kCentralSig = 0x02014b50, kLocalSig = 0x04034b50;
constexpr size_t kEndSize = 22, kEnd64LocatorSize = 20, kEnd64Size = 56, kCentralSize = 46, kLocalSize = 30;
constexpr size_t kMaxComment = 0xffff;
constexpr size_t kWindow = 1 << 16;
// A member whose data are at most this size is read with its local header, in one read: a dump's
// run files are mostly a few KB, and three reads a member were most of an import's system calls.
constexpr uint64_t kOneRead = 1 << 20;
constexpr size_t kExtraRoom = 64;  // read after the name for the local header's extra field
constexpr uint16_t kUnixMadeBy = 3, kZip64Extra = 0x0001;

uint64_t le(std::string_view b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{static_cast<unsigned char>(b[at + i])} << (8 * i);
  return v;
}
uint16_t u16(std::string_view b, size_t at) { return static_cast<uint16_t>(le(b, at, 2)); }
uint32_t u32(std::string_view b, size_t at) { return static_cast<uint32_t>(le(b, at, 4)); }
uint64_t u64(std::string_view b, size_t at) { return le(b, at, 8); }

}  // namespace

class Source {
 public:
  explicit Source(std::string_view bytes) : bytes_(bytes), size_(bytes.size()) {}
  Source(const stdfs::path& path, const std::function<void(const std::string&)>& fail) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(std::strerror(errno));
    struct stat st {};
    std::string problem = ::fstat(fd_, &st) != 0 ? std::strerror(errno) : S_ISREG(st.st_mode) ? "" : "not a regular file";
    if (!problem.empty()) {
      ::close(std::exchange(fd_, -1));
      fail(problem);
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  ~Source() {
    if (fd_ >= 0) ::close(fd_);
  }
  uint64_t size() const { return size_; }
  // Up to n bytes at `offset` (fewer only at the end); throws an errno message on failure.
  std::string read(uint64_t offset, size_t n) const {
    if (offset >= size_) return {};
    n = static_cast<size_t>(std::min<uint64_t>(n, size_ - offset));
    if (fd_ < 0) return std::string(bytes_.substr(offset, n));
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, out.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw Error(std::string(std::strerror(errno)), ErrorKind::Io);
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
  }

 private:
  int fd_ = -1;
  std::string_view bytes_;
  uint64_t size_ = 0;
};

struct InflateState {
  z_stream z{};
  InflateState() {
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw Error("zlib cannot start inflating", ErrorKind::Failure);
  }
  ~InflateState() { inflateEnd(&z); }
};

// ---------------------------------------------------------------------------------------
// Opening: the end records, then every central directory record's place.

Reader::Reader(const stdfs::path& path) : path_(path) {
  source_ = std::make_unique<Source>(path, [&](const std::string& why) { damaged(why); });
  index();
}

Reader::Reader(std::string_view bytes, const std::string& name) : path_(name) {
  source_ = std::make_unique<Source>(bytes);
  index();
}

Reader::~Reader() = default;

void Reader::damaged(const std::string& what) const {
  throw Error("Cannot read the zip " + path_.string() + ": " + what + ".", ErrorKind::Damaged);
}

void Reader::fail(const Entry& e, const std::string& what) const {
  throw Error("The zip " + path_.string() + ": member " + shown_name(e.name) + " " + what + ".", ErrorKind::Damaged);
}

void Reader::index() {
  uint64_t size = source_->size();
  if (size < kEndSize) damaged("not a zip archive (too short)");
  uint64_t tail_start = size - std::min<uint64_t>(size, kEndSize + kMaxComment);
  std::string tail = source_->read(tail_start, static_cast<size_t>(size - tail_start));
  // The last end record whose comment reaches exactly to the end of the archive, else the last one.
  size_t at = std::string::npos;
  for (size_t i = tail.size() - kEndSize + 1; i-- > 0;) {
    if (u32(tail, i) != kEndSig) continue;
    if (at == std::string::npos) at = i;
    if (i + kEndSize + u16(tail, i + 20) == tail.size()) {
      at = i;
      break;
    }
  }
  if (at == std::string::npos) damaged("not a zip archive (no end of central directory record)");
  uint64_t end_offset = tail_start + at;
  std::string_view end = std::string_view(tail).substr(at, kEndSize);
  if (u16(end, 4) != 0 || u16(end, 6) != 0) damaged("the archive spans several disks");
  uint64_t count = u16(end, 10), dir_size = u32(end, 12), dir_offset = u32(end, 16);
  uint64_t dir_limit = end_offset;  // the directory lies before the end records
  if (end_offset >= kEnd64LocatorSize) {
    std::string loc = source_->read(end_offset - kEnd64LocatorSize, kEnd64LocatorSize);
    if (loc.size() == kEnd64LocatorSize && u32(loc, 0) == kEnd64LocatorSig) {
      uint64_t end64_offset = u64(loc, 8);
      std::string end64 = source_->read(end64_offset, kEnd64Size);
      if (end64_offset >= end_offset || end64.size() < kEnd64Size || u32(end64, 0) != kEnd64Sig)
        damaged("its zip64 end of central directory record is missing or damaged");
      if (u32(end64, 16) != 0 || u32(end64, 20) != 0) damaged("the archive spans several disks");
      count = u64(end64, 32);
      dir_size = u64(end64, 40);
      dir_offset = u64(end64, 48);
      dir_limit = end64_offset;
    }
  }
  if (dir_offset > dir_limit || dir_size > dir_limit - dir_offset)
    damaged("its central directory lies outside the archive");
  if (count > dir_size / kCentralSize) damaged("it declares more members than its central directory holds");
  directory_end_ = dir_offset + dir_size;
  records_.reserve(static_cast<size_t>(count));
  uint64_t offset = dir_offset;
  for (uint64_t i = 0; i < count; ++i) {
    records_.push_back(offset);
    Entry e = entry(i);  // checks the record
    std::string_view fixed = directory_bytes(offset, kCentralSize);
    offset += kCentralSize + u16(fixed, 28) + u16(fixed, 30) + u16(fixed, 32);
    (void)e;
  }
  window_.clear();
  window_.shrink_to_fit();
}

std::string_view Reader::directory_bytes(uint64_t offset, size_t n) const {
  if (offset < window_start_ || offset + n > window_start_ + window_.size()) {
    window_start_ = offset;
    uint64_t want = std::min<uint64_t>(std::max(n, kWindow), directory_end_ - std::min(directory_end_, offset));
    window_ = source_->read(offset, static_cast<size_t>(want));
  }
  uint64_t at = offset - window_start_;
  if (at + n > window_.size()) return {};
  return std::string_view(window_).substr(static_cast<size_t>(at), n);
}

Entry Reader::entry(uint64_t index) const {
  if (index >= records_.size()) throw Error("The zip " + path_.string() + " has no member #" + std::to_string(index) + ".");
  auto bad = [&](const std::string& why) { damaged("member #" + std::to_string(index) + ": " + why); };
  uint64_t offset = records_[index];
  std::string_view fixed = directory_bytes(offset, kCentralSize);
  if (fixed.size() < kCentralSize || u32(fixed, 0) != kCentralSig) bad("its central directory record is damaged");
  size_t name_len = u16(fixed, 28), extra_len = u16(fixed, 30), comment_len = u16(fixed, 32);
  Entry e;
  e.index = index;
  uint16_t made_by = u16(fixed, 4);
  e.flags = u16(fixed, 8);
  e.method = u16(fixed, 10);
  e.crc = u32(fixed, 16);
  e.compressed_size = u32(fixed, 20);
  e.size = u32(fixed, 24);
  uint16_t disk = u16(fixed, 34);
  uint32_t attributes = u32(fixed, 38);
  e.local_offset = u32(fixed, 42);
  std::string_view rec = directory_bytes(offset, kCentralSize + name_len + extra_len + comment_len);
  if (rec.empty()) bad("its central directory record runs past the directory");
  e.name = std::string(rec.substr(kCentralSize, name_len));
  std::string_view extra = rec.substr(kCentralSize + name_len, extra_len);
  bool need_size = e.size == 0xffffffff, need_csize = e.compressed_size == 0xffffffff;
  bool need_offset = e.local_offset == 0xffffffff, need_disk = disk == 0xffff;
  while (extra.size() >= 4) {
    uint16_t id = u16(extra, 0), len = u16(extra, 2);
    if (len > extra.size() - 4) bad("an extra field runs past its record");
    std::string_view field = extra.substr(4, len);
    if (id == kZip64Extra) {
      size_t at = 0;
      auto take = [&](bool need, uint64_t& out) {
        if (!need) return;
        if (at + 8 > field.size()) bad("its zip64 extra field is too short");
        out = u64(field, at);
        at += 8;
      };
      uint64_t disk64 = disk;
      take(need_size, e.size);
      take(need_csize, e.compressed_size);
      take(need_offset, e.local_offset);
      if (need_disk && at + 4 <= field.size()) disk64 = u32(field, at);
      need_size = need_csize = need_offset = false;
      disk = static_cast<uint16_t>(disk64 != 0);
    }
    extra.remove_prefix(4 + len);
  }
  if (need_size || need_csize || need_offset) bad("it lacks the zip64 extra field its sizes call for");
  if (disk != 0) bad("it lies on another disk");
  e.name_is_utf8 = utf8::valid(e.name);
  e.is_directory = !e.name.empty() && e.name.back() == '/';
  if ((made_by >> 8) == kUnixMadeBy) e.unix_mode = attributes >> 16;
  return e;
}

std::optional<Entry> Reader::find(std::string_view name) const {
  for (const Entry& e : entries())
    if (e.name == name) return e;
  return std::nullopt;
}

Members::iterator::iterator(const Reader* r, uint64_t i) : r_(r), i_(i) { load(); }
Members::iterator& Members::iterator::operator++() {
  ++i_;
  load();
  return *this;
}
void Members::iterator::load() {
  if (r_ && i_ < r_->size()) entry_ = r_->entry(i_);
}
Members::iterator Members::begin() const { return iterator(&r_, 0); }
Members::iterator Members::end() const { return iterator(nullptr, r_.size()); }

// ---------------------------------------------------------------------------------------
// Members' data

std::unique_ptr<MemberReader> Reader::open(const Entry& e) const {
  if (e.flags & 1) fail(e, "is encrypted");
  if (e.method != 0 && e.method != 8) fail(e, "uses an unsupported compression method (" + std::to_string(e.method) + ")");
  bool one_read = e.compressed_size <= kOneRead;
  size_t want = kLocalSize + e.name.size() + (one_read ? kExtraRoom + static_cast<size_t>(e.compressed_size) : 0);
  std::string local = source_->read(e.local_offset, want);
  if (local.size() < kLocalSize || u32(local, 0) != kLocalSig) fail(e, "is damaged: its local header is missing");
  size_t name_len = u16(local, 26), extra_len = u16(local, 28);
  if (name_len != e.name.size() || local.compare(kLocalSize, name_len, e.name) != 0)
    fail(e, "is damaged: its local header names another member");
  uint64_t data = e.local_offset + kLocalSize + name_len + extra_len;
  if (data > source_->size() || e.compressed_size > source_->size() - data)
    fail(e, "is damaged: its data run past the end of the zip");
  size_t skip = kLocalSize + name_len + extra_len;
  if (!one_read || skip + e.compressed_size > local.size()) local.clear();  // read the data on their own
  return std::unique_ptr<MemberReader>(new MemberReader(*this, e, data, std::move(local), skip));
}

MemberReader::MemberReader(const Reader& reader, Entry entry, uint64_t data_offset, std::string read, size_t at)
    : reader_(reader),
      entry_(std::move(entry)),
      next_(data_offset),
      remaining_(entry_.compressed_size),
      in_(std::move(read)),
      in_at_(in_.empty() ? 0 : at),
      read_ahead_(!in_.empty()) {
  if (entry_.method == 8) z_ = std::make_unique<InflateState>();
}

MemberReader::~MemberReader() = default;

std::string_view MemberReader::take(size_t n) {
  n = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
  std::string_view got;
  if (read_ahead_) {
    got = std::string_view(in_).substr(in_at_, n);
    in_at_ += got.size();
  } else {
    in_ = reader_.source_->read(next_, n);
    got = in_;
  }
  if (got.size() < n) reader_.fail(entry_, "is damaged: the zip ends inside it");
  next_ += n;
  remaining_ -= n;
  return got;
}

size_t MemberReader::read_stored(char* buf, size_t n) {
  std::string_view got = take(n);
  std::memcpy(buf, got.data(), got.size());
  return got.size();
}

size_t MemberReader::inflate_into(char* buf, size_t n) {
  z_stream& z = z_->z;
  z.next_out = reinterpret_cast<Bytef*>(buf);
  z.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
  uInt wanted = z.avail_out;
  while (z.avail_out > 0 && !done_) {
    if (z.avail_in == 0) {
      if (remaining_ == 0) reader_.fail(entry_, "is damaged: its compressed data end too early");
      std::string_view in = take(kWindow);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));  // zlib only reads it
      z.avail_in = static_cast<uInt>(in.size());
    }
    int rc = ::inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) done_ = true;
    else if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_in == 0))
      reader_.fail(entry_, std::string("is damaged: ") + (z.msg ? z.msg : "invalid deflate data"));
  }
  return wanted - z.avail_out;
}

size_t MemberReader::read(char* buf, size_t n) {
  if (n == 0) return 0;
  interrupt::check();  // members are read in chunks: imports, restores and checks of large zips
  size_t got = 0;
  if (!z_) got = read_stored(buf, n);
  else if (!done_) got = inflate_into(buf, n);
  total_ += got;
  if (total_ > entry_.size)
    reader_.fail(entry_, "holds more data than the " + std::to_string(entry_.size) + " bytes it declares");
  crc_ = crc32_update(crc_, std::string_view(buf, got));
  if (got > 0) return got;
  if (total_ != entry_.size)
    reader_.fail(entry_, "holds " + std::to_string(total_) + " bytes, not the " + std::to_string(entry_.size) +
                             " bytes it declares");
  if (crc_ != entry_.crc) reader_.fail(entry_, "is damaged: CRC error");
  return 0;
}

void Reader::stream(const Entry& e, const std::function<void(std::string_view)>& sink) const {
  std::unique_ptr<MemberReader> in = open(e);
  // Room for the whole member and the read that proves its end, up to 64 KiB; not zero-filled.
  size_t room = static_cast<size_t>(std::min<uint64_t>(e.size, kWindow - 1)) + 1;
  std::unique_ptr<char[]> buf = std::make_unique_for_overwrite<char[]>(room);
  while (size_t n = in->read(buf.get(), room)) sink(std::string_view(buf.get(), n));
}

std::string Reader::read(const Entry& e, uint64_t max_size) const {
  if (e.size > max_size)
    fail(e, "declares " + std::to_string(e.size) + " bytes, more than the " + std::to_string(max_size) + " allowed");
  std::unique_ptr<MemberReader> in = open(e);
  if (in->read_ahead_ && e.size <= kOneRead) return in->read_whole();
  std::string out;
  out.reserve(static_cast<size_t>(e.size));
  size_t room = static_cast<size_t>(std::min<uint64_t>(e.size, kWindow - 1)) + 1;
  std::unique_ptr<char[]> buf = std::make_unique_for_overwrite<char[]>(room);
  while (size_t n = in->read(buf.get(), room)) out.append(buf.get(), n);
  return out;
}

std::string MemberReader::read_whole() {
  interrupt::check();
  std::string_view data = take(static_cast<size_t>(remaining_));
  std::string out;
  size_t got = data.size();
  if (!z_) {
    out.assign(data.substr(0, static_cast<size_t>(std::min<uint64_t>(got, entry_.size))));
  } else {
    out.resize(static_cast<size_t>(entry_.size));
    got = inflate_whole(data, out);
    if (got == kNotDeflate) reader_.fail(entry_, "is damaged: invalid deflate data");
  }
  if (got == kTooMuch || got > entry_.size)
    reader_.fail(entry_, "holds more data than the " + std::to_string(entry_.size) + " bytes it declares");
  if (got != entry_.size)
    reader_.fail(entry_, "holds " + std::to_string(got) + " bytes, not the " + std::to_string(entry_.size) +
                             " bytes it declares");
  if (crc32_update(0, out) != entry_.crc) reader_.fail(entry_, "is damaged: CRC error");
  done_ = true;
  return out;
}

}  // namespace mdb::zip
