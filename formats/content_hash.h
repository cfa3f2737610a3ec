#pragma once
// xxh3-128 of a byte stream, as the dump's Cap'n Proto half records it for the JSON member and
// for every file (export.md); the import checks extracted files against it.
#include <string_view>

#include "formats/capnp_dump.h"

struct XXH3_state_s;

namespace mdb::core {

class ContentHash {
 public:
  ContentHash();
  ~ContentHash();
  ContentHash(const ContentHash&) = delete;
  ContentHash& operator=(const ContentHash&) = delete;
  void update(std::string_view bytes);
  capnp_dump::Hash128 digest() const;

 private:
  XXH3_state_s* state_;
};

capnp_dump::Hash128 content_hash(std::string_view bytes);

}  // namespace mdb::core
