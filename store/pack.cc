#include "store/pack.h"

#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_initStaticCCtx: in the Debian library, marked experimental
#include <zstd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <optional>

#include "formats/bytes.h"

namespace mdb::store {

namespace {

constexpr int kZstdLevel = 3;
constexpr size_t kWriteBuffer = 1 << 20;

struct DctxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

// A workspace made once per thread, of the size level 3 (the highest we use) needs for an input
// of any size (1.3 MB): zstd shrinks a context of its own after 128 inputs in a row far smaller
// than it, and grows it again at the next large one, each time on fresh pages. Between the small
// files and the 1 MiB blobs of a backup that was a quarter of a seeded import's page faults at L.
ZSTD_CCtx* cctx() {
  static const size_t size = ZSTD_estimateCCtxSize(kZstdLevel);
  thread_local std::unique_ptr<char[]> workspace(new char[size]);
  thread_local ZSTD_CCtx* c = ZSTD_initStaticCCtx(workspace.get(), size);
  if (!c) throw Error("zstd refused a compression workspace of " + std::to_string(size) + " bytes");
  return c;
}
ZSTD_DCtx* dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DctxDeleter> c(ZSTD_createDCtx());
  return c.get();
}

constexpr size_t kHeaderFields = 48;  // the header before its checksum

// id, stored_len, raw_len, type, compression, reserved: a record header's fields.
std::string encode_header_fields(const PackEntry& e) {
  std::string out(e.id.raw());
  put_u32(out, e.stored_len);
  put_u32(out, e.raw_len);
  out += static_cast<char>(e.type);
  out += static_cast<char>(e.compression);
  put_u16(out, 0);
  return out;
}

std::string encode_record_header(const PackEntry& e, const Crypto* crypto) {
  std::string out(kRecordMagic);
  if (crypto) {
    crypto->seal(encode_header_fields(e), out);
    return out;
  }
  out += encode_header_fields(e);
  Hash128 sum = xxh128(out);
  out += sum.bytes();
  return out;
}

// Whether a blob's stored length fits its raw length and compression.
bool lengths_fit(const PackEntry& e, const Crypto* crypto) {
  size_t extra = seal_overhead(crypto);
  if (e.stored_len < extra || e.raw_len > kMaxBlobSize) return false;
  return e.compression != Compression::None || e.stored_len - extra == e.raw_len;
}

// The record whose header starts at `at`, if the header is intact (its checksum holds, or it
// opens with the store's key) and its blob lies within `bytes`.
std::optional<PackEntry> decode_record_header(std::string_view bytes, size_t at, const Crypto* crypto) {
  size_t size = record_header_size(crypto);
  if (bytes.size() - at < size) return std::nullopt;
  std::string_view h = bytes.substr(at, size);
  if (h.substr(0, kRecordMagic.size()) != kRecordMagic) return std::nullopt;
  std::string opened;
  std::string_view f;
  if (crypto) {
    if (!crypto->open(h.substr(kRecordMagic.size()), opened) || opened.size() != kHeaderFieldsSize)
      return std::nullopt;
    f = opened;
  } else {
    Hash128 sum = xxh128(h.substr(0, kHeaderFields));
    if (sum.bytes() != std::string_view(h).substr(kHeaderFields, 16)) return std::nullopt;
    f = h.substr(kRecordMagic.size(), kHeaderFieldsSize);
  }
  PackEntry e;
  e.id = BlobId::from_raw(f.substr(0, 32), "a pack record");
  e.offset = at + size;
  e.stored_len = get_u32(f, 32);
  e.raw_len = get_u32(f, 36);
  uint8_t type = static_cast<uint8_t>(f[40]), comp = static_cast<uint8_t>(f[41]);
  if (type > static_cast<uint8_t>(BlobType::Snapshot) || comp > static_cast<uint8_t>(Compression::Zstd))
    return std::nullopt;
  e.type = static_cast<BlobType>(type);
  e.compression = static_cast<Compression>(comp);
  if (e.stored_len > bytes.size() - e.offset || !lengths_fit(e, crypto)) return std::nullopt;
  return e;
}

std::string_view pack_magic(const Crypto* crypto) { return crypto ? kPackMagicSealed : kPackMagic; }

}  // namespace

// A footer entry is a record header's fields with the offset after the id.
std::string encode_footer_entry(const PackEntry& e) {
  std::string fields = encode_header_fields(e);
  std::string out = fields.substr(0, 32);
  put_u64(out, e.offset);
  return out + fields.substr(32);
}

bool has_pack_magic(std::string_view bytes) {
  std::string_view m = bytes.substr(0, kPackMagic.size());
  return m == kPackMagic || m == kPackMagicV1 || m == kPackMagicSealed;
}

bool has_record_headers(std::string_view bytes, const Crypto* crypto) {
  return bytes.substr(0, kPackMagic.size()) == pack_magic(crypto);
}

std::vector<PackEntry> scan_records(std::string_view bytes, const Crypto* crypto) {
  std::vector<PackEntry> out;
  if (!has_record_headers(bytes, crypto)) return out;
  size_t at = kPackMagic.size();
  while (at < bytes.size()) {
    if (std::optional<PackEntry> e = decode_record_header(bytes, at, crypto)) {
      out.push_back(*e);
      at = e->offset + e->stored_len;
      continue;
    }
    at = bytes.find(kRecordMagic, at + 1);  // a damaged header: resume at the next record
    if (at == std::string_view::npos) break;
  }
  return out;
}

Salvage salvage_pack(std::string_view bytes, const std::string& what, const Crypto* crypto) {
  Salvage out;
  uint64_t covered = std::min<uint64_t>(bytes.size(), kPackMagic.size());
  for (const PackEntry& e : scan_records(bytes, crypto)) {
    try {
      decode_blob(bytes.substr(e.offset, e.stored_len), e, what, crypto);
    } catch (const CorruptError&) {
      continue;  // its bytes count as lost
    }
    uint64_t start = e.offset - record_header_size(crypto);
    if (start > covered) out.lost.emplace_back(covered, start);
    covered = e.offset + e.stored_len;
    out.blobs.push_back(e);
  }
  if (covered < bytes.size()) out.lost.emplace_back(covered, bytes.size());
  return out;
}

std::string Salvage::summary(uint64_t pack_size) const {
  std::string s = std::to_string(blobs.size()) + " intact blobs found by scanning its records";
  if (lost.empty()) return s;
  s += "; bytes ";
  for (size_t i = 0; i < lost.size(); ++i)
    s += (i ? ", " : "") + std::to_string(lost[i].first) + "-" + std::to_string(lost[i].second);
  return s + " of its " + std::to_string(pack_size) + " hold no intact blob (the footer, and any blob cut or damaged)";
}

namespace {

// Compressed into the sealed message's place and sealed there: one buffer per blob, as in a plain
// store (sealing a copy cost an encrypted backup a buffer, its page faults and a copy per blob).
std::string encode_sealed(std::string_view raw, int level, const Crypto& crypto, Compression& c) {
  std::string framed;
  c = compress(raw, level, framed, kNonceBytes, kTagBytes);
  if (c == Compression::None) {
    framed.clear();
    framed.shrink_to_fit();  // (assigning an empty string would keep compress()'s buffer)
    framed.reserve(raw.size() + kSealOverhead);
    framed.append(kNonceBytes, '\0').append(raw).append(kTagBytes, '\0');
  }
  crypto.seal_in_place(framed);
  return framed;
}

}  // namespace

int zstd_level(BlobType type) { return type == BlobType::Tree ? 1 : kZstdLevel; }

Compression compress(std::string_view raw, int level, std::string& out, size_t room_before, size_t room_after) {
  size_t bound = ZSTD_compressBound(raw.size());
  out.resize(room_before + bound + room_after);
  size_t n = ZSTD_compressCCtx(cctx(), out.data() + room_before, bound, raw.data(), raw.size(), level);
  if (ZSTD_isError(n) || n > raw.size() - raw.size() * 3 / 100 || n >= raw.size()) {
    out.clear();
    return Compression::None;
  }
  out.resize(room_before + n + room_after);
  out.shrink_to_fit();
  return Compression::Zstd;
}

std::string encode_blob(std::string raw, BlobType type, const Crypto* crypto, Compression& c) {
  if (crypto) return encode_sealed(raw, zstd_level(type), *crypto, c);
  std::string compressed;
  c = compress(raw, zstd_level(type), compressed);
  return c == Compression::None ? std::move(raw) : std::move(compressed);
}

std::string decode_blob(std::string_view stored, const PackEntry& e, const std::string& where, const Crypto* crypto) {
  std::string opened;
  if (crypto) {
    if (!crypto->open(stored, opened))
      throw CorruptError("blob " + e.id.hex() + " in " + where +
                         " does not decrypt with the store's key (its bytes were changed)");
    stored = opened;
  }
  std::string raw;
  if (e.compression == Compression::None) {
    raw.assign(stored);
  } else {
    raw.resize(e.raw_len);
    size_t n = ZSTD_decompressDCtx(dctx(), raw.data(), raw.size(), stored.data(), stored.size());
    if (ZSTD_isError(n) || n != e.raw_len)
      throw CorruptError("blob " + e.id.hex() + " in " + where + " does not decompress (" +
                         (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong length") + ")");
  }
  if (raw.size() != e.raw_len || blob_id(crypto, raw) != e.id)
    throw CorruptError("blob " + e.id.hex() + " in " + where + " does not match its id (the pack is damaged)");
  return raw;
}

Hash128 trailer_pack_checksum(std::string_view tail) {
  if (tail.size() < kTrailerSize) return {};
  return Hash128::from_bytes(tail.substr(tail.size() - 24, 16), "a pack trailer");
}

std::vector<PackEntry> decode_footer(std::string_view tail, uint64_t pack_size, const std::string& what,
                                     const Crypto* crypto) {
  auto bad = [&](const std::string& why) { return CorruptError("pack " + what + " is damaged: " + why); };
  if (tail.size() < kTrailerSize || pack_size < kPackMagic.size() + kTrailerSize || tail.size() > pack_size)
    throw bad("too short to be a pack");
  std::string_view trailer = tail.substr(tail.size() - kTrailerSize);
  if (trailer.substr(kTrailerSize - kPackEndMagic.size()) != kPackEndMagic) throw bad("no end marker");
  uint64_t count = get_u32(trailer, 0);
  uint64_t entries_offset = get_u64(trailer, 4);
  uint64_t footer_bytes = count * kEntrySize + seal_overhead(crypto);
  if (footer_bytes > pack_size || entries_offset != pack_size - kTrailerSize - footer_bytes ||
      entries_offset < kPackMagic.size())
    throw bad("the footer layout is inconsistent");
  if (tail.size() < footer_bytes + kTrailerSize) throw bad("the footer is cut short");
  std::string_view footer = tail.substr(tail.size() - kTrailerSize - footer_bytes, footer_bytes + 12);
  Hash128 stored_sum = Hash128::from_bytes(trailer.substr(12, 16), "pack " + what);
  if (xxh128(footer) != stored_sum) throw bad("footer checksum mismatch");
  std::string opened;
  if (crypto) {
    if (!crypto->open(footer.substr(0, footer_bytes), opened))
      throw bad("the footer does not decrypt with the store's key (its bytes were changed)");
    footer = opened;
  }
  std::vector<PackEntry> out;
  out.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view rec = footer.substr(i * kEntrySize, kEntrySize);
    PackEntry e;
    e.id = BlobId::from_raw(rec.substr(0, 32), what);
    e.offset = get_u64(rec, 32);
    e.stored_len = get_u32(rec, 40);
    e.raw_len = get_u32(rec, 44);
    uint8_t type = static_cast<uint8_t>(rec[48]);
    uint8_t comp = static_cast<uint8_t>(rec[49]);
    if (type > static_cast<uint8_t>(BlobType::Snapshot) || comp > static_cast<uint8_t>(Compression::Zstd))
      throw bad("entry " + std::to_string(i) + " has an unknown type or compression");
    e.type = static_cast<BlobType>(type);
    e.compression = static_cast<Compression>(comp);
    if (e.offset < kPackMagic.size() || e.offset > entries_offset || e.stored_len > entries_offset - e.offset ||
        !lengths_fit(e, crypto))
      throw bad("entry " + std::to_string(i) + " is out of bounds");
    out.push_back(e);
  }
  return out;
}

std::vector<PackEntry> read_footer(Backend& backend, const std::string& name) {
  std::optional<uint64_t> found = backend.size(ObjectKind::Pack, name);
  if (!found) throw CorruptError("pack " + name + " is missing from " + backend.where(ObjectKind::Pack));
  uint64_t size = *found;
  if (size < kPackMagic.size() + kTrailerSize)
    throw CorruptError("pack " + name + " is damaged: too short to be a pack");
  std::string trailer = backend.read(ObjectKind::Pack, name, size - kTrailerSize, kTrailerSize);
  if (trailer.size() < kTrailerSize) throw CorruptError("pack " + name + " is damaged: too short to be a pack");
  uint64_t count = get_u32(trailer, 0);
  uint64_t want = std::min<uint64_t>(count * kEntrySize + seal_overhead(backend.crypto()) + kTrailerSize, size);
  std::string tail = backend.read(ObjectKind::Pack, name, size - want, want);
  return decode_footer(tail, size, name, backend.crypto());
}

bool is_pack_name(std::string_view name) {
  if (name.size() != 32) return false;
  for (char c : name)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

PackWriter::PackWriter(Backend& backend)
    : backend_(backend), crypto_(backend.crypto()), out_(backend.create(ObjectKind::Pack)) {
  append(pack_magic(crypto_));
}

void PackWriter::append(std::string_view bytes) {
  checksum_.update(bytes);
  offset_ += bytes.size();
  if (buffer_.size() + bytes.size() > kWriteBuffer) flush_buffer();
  if (bytes.size() >= kWriteBuffer) {
    out_->append(bytes);
    return;
  }
  buffer_.append(bytes);
}

void PackWriter::flush_buffer() {
  if (buffer_.empty()) return;
  out_->append(buffer_);
  buffer_.clear();
}

void PackWriter::add(const BlobId& id, BlobType type, uint32_t raw_len, Compression c, std::string_view stored) {
  PackEntry e;
  e.id = id;
  e.offset = offset_;
  e.stored_len = static_cast<uint32_t>(stored.size());
  e.raw_len = raw_len;
  e.type = type;
  e.compression = c;
  append(encode_record_header(e, crypto_));
  e.offset = offset_;
  append(stored);
  entries_.push_back(e);
}

void PackWriter::add(const BlobId& id, BlobType type, std::string_view raw) {
  Compression c = Compression::None;
  std::string stored = encode_blob(std::string(raw), type, crypto_, c);
  add(id, type, static_cast<uint32_t>(raw.size()), c, stored);
}

std::string PackWriter::finish(bool sync) {
  std::string footer, entries;
  entries.reserve(entries_.size() * kEntrySize);
  for (const PackEntry& e : entries_) entries += encode_footer_entry(e);
  if (crypto_)
    crypto_->seal(entries, footer);
  else
    footer = std::move(entries);
  uint64_t entries_offset = offset_;
  put_u32(footer, static_cast<uint32_t>(entries_.size()));
  put_u64(footer, entries_offset);
  Hash128 footer_sum = xxh128(footer);
  footer += footer_sum.bytes();
  append(footer);
  Hash128 pack_sum = checksum_.digest();
  std::string end = pack_sum.bytes();
  end += kPackEndMagic;
  buffer_ += end;  // not part of the checksum it holds
  offset_ += end.size();
  flush_buffer();
  std::string name = pack_sum.hex();
  out_->finish(name);
  if (sync) backend_.sync(ObjectKind::Pack);
  return name;
}

}  // namespace mdb::store
