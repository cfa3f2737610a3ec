// Backend::open: which backend a location names. (Apart from backend.h, which both backends include.)
#include "store/backend.h"

#include "store/local_backend.h"
#include "store/s3_backend.h"

namespace mdb::store {

std::string object_kind_word(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::Pack: return "pack";
    case ObjectKind::Pin: return "pin";
    case ObjectKind::Index: return "index object";
    case ObjectKind::Lock: return "lock";
    case ObjectKind::Config: break;
  }
  return "store config";
}

std::unique_ptr<Backend> Backend::open(const std::filesystem::path& location) {
  if (is_s3_location(location.string()))
    return std::make_unique<S3Backend>(location.string(), fs::s3_settings_from_environment());
  return std::make_unique<LocalBackend>(location);
}

}  // namespace mdb::store
