#include "store/pins.h"

#include <algorithm>

#include "formats/hash.h"
#include "store/crypto.h"

namespace mdb::store {

namespace {

constexpr std::string_view kSuffix = ".json";

// In an encrypted store the name is keyed too, so it does not reveal which data dir it is for.
std::string pin_name(Backend& store, const std::string& data_dir) {
  return blob_id(store.crypto(), data_dir).hex().substr(0, 32) + std::string(kSuffix);
}

Pin decode_pin(Backend& store, const std::string& name) {
  std::optional<ChangeRecord> change;
  std::string why;
  try {
    change = ChangeRecord::decode(store.read_sealed(ObjectKind::Pin, name));
  } catch (const CorruptError&) {
    why = " (it does not decrypt with the store's key)";
  }
  if (!change || change->data_dir.empty())
    throw Error("The pin " + store.where(ObjectKind::Pin, name) + " is damaged" + why +
                    ", so it is unknown which snapshot an interrupted change still needs.",
                ErrorKind::Damaged, Remedy::StalePin);
  return Pin{std::move(*change), name};
}

}  // namespace

void write_pin(Backend& store, const ChangeRecord& change) {
  store.save_sealed(ObjectKind::Pin, pin_name(store, change.data_dir), change.encode());
}

void remove_pin(Backend& store, const std::string& data_dir, const std::string& snapshot) noexcept {
  try {
    std::string name = pin_name(store, data_dir);
    if (store.size(ObjectKind::Pin, name) && decode_pin(store, name).snapshot == snapshot)
      store.remove(ObjectKind::Pin, name);
  } catch (const std::exception&) {
    // left for prune, which drops a pin whose marker is gone
  }
}

void remove_pin(Backend& store, const Pin& pin) { store.remove(ObjectKind::Pin, pin.name); }

std::vector<Pin> read_pins(Backend& store) {
  std::vector<std::string> names;
  for (const ObjectInfo& o : store.list(ObjectKind::Pin))
    if (o.name.size() > kSuffix.size() && o.name.ends_with(kSuffix)) names.push_back(o.name);
  std::sort(names.begin(), names.end());
  std::vector<Pin> pins;
  for (const std::string& name : names) pins.push_back(decode_pin(store, name));
  return pins;
}

}  // namespace mdb::store
