#include "formats/zip_pack.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <memory>

#include "base/error.h"

namespace mdb::zip {

namespace {

constexpr int kDeflateLevel = 6;  // zlib's default, as Python's zipfile uses
constexpr size_t kProbe = size_t{1} << 16;
constexpr size_t kWindow = size_t{1} << 15;

// libdeflate's compressors, one per thread and level, kept for the thread's life: allocating one
// costs more than deflating a small member.
libdeflate_compressor* compressor(int level) {
  struct Free {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  thread_local std::unique_ptr<libdeflate_compressor, Free> fast, normal;
  auto& c = level == 1 ? fast : normal;
  if (!c) c.reset(libdeflate_alloc_compressor(level));
  if (!c) throw Error("Out of memory for a deflate compressor.", ErrorKind::Io);
  return c.get();
}

libdeflate_decompressor* decompressor() {
  struct Free {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
  };
  thread_local std::unique_ptr<libdeflate_decompressor, Free> d;
  if (!d) d.reset(libdeflate_alloc_decompressor());
  if (!d) throw Error("Out of memory for a deflate decompressor.", ErrorKind::Io);
  return d.get();
}

}  // namespace

size_t inflate_whole(std::string_view in, std::string& out) {
  size_t got = 0;
  libdeflate_result r =
      libdeflate_deflate_decompress_ex(decompressor(), in.data(), in.size(), out.data(), out.size(), nullptr, &got);
  if (r == LIBDEFLATE_INSUFFICIENT_SPACE) return kTooMuch;
  if (r != LIBDEFLATE_SUCCESS) return kNotDeflate;
  return got;
}

bool incompressible(const char* data, size_t n) {
  n = std::min(n, kProbe);
  std::string out(n / 100 * 97, '\0');  // 0 back: it did not fit, so it saves less than 3%
  return libdeflate_deflate_compress(compressor(1), data, n, out.data(), out.size()) == 0;
}

uint32_t crc32_update(uint32_t crc, std::string_view data) { return libdeflate_crc32(crc, data.data(), data.size()); }

std::string deflate_piece(std::string_view dict, std::string_view piece, bool last) {
  z_stream z{};
  if (deflateInit2(&z, kDeflateLevel, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw Error("zlib failed to start.", ErrorKind::Io);
  struct End {
    z_stream* z;
    ~End() { deflateEnd(z); }
  } end{&z};
  if (!dict.empty() &&
      deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dict.data()), static_cast<uInt>(dict.size())) != Z_OK)
    throw Error("zlib refused a dictionary.", ErrorKind::Io);
  // The bound, plus room for the flush marker of a piece that does not end the stream.
  std::string out(deflateBound(&z, static_cast<uLong>(piece.size())) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
  z.avail_in = static_cast<uInt>(piece.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, last ? Z_FINISH : Z_SYNC_FLUSH);
  if (last ? rc != Z_STREAM_END : (rc != Z_OK || z.avail_in != 0 || z.avail_out == 0))
    throw Error("zlib did not finish a piece of a member.", ErrorKind::Io);
  out.erase(out.size() - z.avail_out);
  return out;
}

std::string last_window(const std::string& window, const std::string& piece) {
  if (piece.size() >= kWindow) return piece.substr(piece.size() - kWindow);
  std::string joined = window + piece;
  return joined.size() > kWindow ? joined.substr(joined.size() - kWindow) : joined;
}

Packed pack(std::string raw) {
  Packed p;
  p.size = raw.size();
  p.crc = crc32_update(0, raw);
  if (raw.size() > 0 && (raw.size() < kProbeFrom || !incompressible(raw.data(), raw.size()))) {
    std::string out(raw.size() - 1, '\0');  // only a smaller result is kept: 0 back when it does not fit
    if (size_t n = libdeflate_deflate_compress(compressor(kDeflateLevel), raw.data(), raw.size(), out.data(),
                                               out.size())) {
      out.resize(n);
      p.method = kDeflated;
      p.data = std::move(out);
      return p;
    }
  }
  p.data = std::move(raw);
  return p;
}

}  // namespace mdb::zip
