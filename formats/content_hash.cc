#include "formats/content_hash.h"

#include <xxhash.h>

#include <new>

namespace mdb::core {

ContentHash::ContentHash() : state_(XXH3_createState()) {
  if (!state_) throw std::bad_alloc();
  XXH3_128bits_reset(state_);
}

ContentHash::~ContentHash() { XXH3_freeState(state_); }

void ContentHash::update(std::string_view bytes) { XXH3_128bits_update(state_, bytes.data(), bytes.size()); }

capnp_dump::Hash128 ContentHash::digest() const {
  XXH128_hash_t h = XXH3_128bits_digest(state_);
  return {h.high64, h.low64};
}

capnp_dump::Hash128 content_hash(std::string_view bytes) {
  XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return {h.high64, h.low64};
}

}  // namespace mdb::core
