// Backend::open: which backend a location names. (Apart from backend.h, which both backends include.)
#include "store/backend.h"

#include "store/crypto.h"
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

std::string Backend::sealed(std::string_view bytes) const {
  return crypto_ ? crypto_->seal(bytes) : std::string(bytes);
}

std::string Backend::opened(ObjectKind kind, const std::string& name, std::string bytes) const {
  if (!crypto_) return bytes;
  std::string plain;
  if (!crypto_->open(bytes, plain))
    throw CorruptError("The " + object_kind_word(kind) + " " + where(kind, name) +
                       " is damaged: it does not decrypt with the store's key (its bytes were changed).");
  return plain;
}

}  // namespace mdb::store
