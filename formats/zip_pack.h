#pragma once
// What the zip writer does to a member's bytes (zip_writer.cc), as pure functions that any worker
// thread may run: deflate a whole member or one piece of a large one (pigz's way: each piece is
// deflated on its own, primed with the 32 KiB before it, and ends on a byte boundary, so the
// pieces concatenate into one deflate stream), or store what does not compress.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mdb::zip {

constexpr uint16_t kStored = 0, kDeflated = 8;
constexpr size_t kPiece = size_t{1} << 20;
// From this size on, a member whose first 64 KiB do not compress is stored without trying the rest;
// a smaller one is deflated and stored when that does not make it smaller.
constexpr size_t kProbeFrom = size_t{1} << 16;

// A member's data as it goes into the zip.
struct Packed {
  uint16_t method = kStored;
  uint32_t crc = 0;
  uint64_t size = 0;
  std::string data;
};

// Whether data looks already compressed (media, archives): a fast deflate of its first 64 KiB saves
// less than 3%. Such members are stored (method 0), as `zip` stores them: no CPU, no growth.
bool incompressible(const char* data, size_t n);

uint32_t crc32_update(uint32_t crc, std::string_view data);

// Inflates a whole deflate stream into `out` (sized by the caller to the bytes it should give; libdeflate
// on a decompressor kept per thread, about twice zlib's speed). Returns the bytes it gave, or
// kTooMuch when they do not fit in `out`, or kNotDeflate when `in` is not valid deflate data. Bytes
// after the end of the stream are ignored, as zlib's streaming reader ignores them.
constexpr size_t kTooMuch = ~size_t{0}, kNotDeflate = ~size_t{0} - 1;
size_t inflate_whole(std::string_view in, std::string& out);

// A whole member: deflated, unless that would not make it smaller or its start shows it is
// already compressed.
Packed pack(std::string raw);

// One piece of a deflate stream; `dict`: the (up to) 32 KiB of input before it; `last`: it ends
// the stream.
std::string deflate_piece(std::string_view dict, std::string_view piece, bool last);

// The dictionary for the piece after `piece`, given the one for `piece`.
std::string last_window(const std::string& window, const std::string& piece);

}  // namespace mdb::zip
