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

void Backend::set_crypto_later(std::shared_future<std::shared_ptr<const Crypto>> keys) {
  std::lock_guard lock(unlock_mu_);
  later_ = std::move(keys);
  unlocking_.store(true, std::memory_order_release);
}

bool Backend::crypto_ready() const {
  std::lock_guard lock(unlock_mu_);
  return !unlocking_.load(std::memory_order_acquire) ||
         later_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

void Backend::await_crypto() const {
  std::lock_guard lock(unlock_mu_);
  if (!unlocking_.load(std::memory_order_acquire)) return;
  crypto_ = later_.get();  // a wrong password throws here, and again for the next caller
  later_ = {};
  unlocking_.store(false, std::memory_order_release);
}

std::string Backend::sealed(std::string_view bytes) const {
  const Crypto* crypto = this->crypto();
  return crypto ? crypto->seal(bytes) : std::string(bytes);
}

std::string Backend::opened(ObjectKind kind, const std::string& name, std::string bytes) const {
  const Crypto* crypto = this->crypto();
  if (!crypto) return bytes;
  std::string plain;
  if (!crypto->open(bytes, plain))
    throw CorruptError("The " + object_kind_word(kind) + " " + where(kind, name) +
                       " is damaged: it does not decrypt with the store's key (its bytes were changed).");
  return plain;
}

}  // namespace mdb::store
