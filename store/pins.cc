#include "store/pins.h"

#include <algorithm>

#include "platform/env.h"
#include "formats/hash.h"

namespace mdb::store {

namespace {

constexpr const char* kSuffix = ".json";

stdfs::path pin_path(const stdfs::path& store_dir, const std::string& data_dir) {
  return pins_dir(store_dir) / (sha256(data_dir).hex().substr(0, 32) + kSuffix);
}

Pin decode_pin(const stdfs::path& file) {
  std::optional<ChangeRecord> change = ChangeRecord::decode(fs::read_file(file));
  if (!change || change->data_dir.empty())
    throw Error("The pin " + file.string() +
                " is damaged, so it is unknown which snapshot an interrupted change still needs. If no "
                "`mephisto db` command was interrupted on any data directory using this store, delete the file. "
                "Nothing was changed.");
  return Pin{std::move(*change), file};
}

}  // namespace

stdfs::path pins_dir(const stdfs::path& store_dir) { return store_dir / "pins"; }

void write_pin(const stdfs::path& store_dir, const ChangeRecord& change) {
  if (!fs::exists(pins_dir(store_dir))) {  // stores made before pins existed
    fs::mkdirs(pins_dir(store_dir));
    fs::sync_dir(store_dir);
  }
  fs::write_file_atomic(pin_path(store_dir, change.data_dir), change.encode());
}

void remove_pin(const stdfs::path& store_dir, const std::string& data_dir, const std::string& snapshot) noexcept {
  try {
    stdfs::path file = pin_path(store_dir, data_dir);
    if (fs::exists(file) && decode_pin(file).snapshot == snapshot) fs::remove_file(file);
  } catch (const std::exception&) {
    // left for prune, which drops a pin whose marker is gone
  }
}

std::vector<Pin> read_pins(const stdfs::path& store_dir) {
  std::vector<stdfs::path> files;
  std::error_code ec;
  for (const auto& e : stdfs::directory_iterator(pins_dir(store_dir), ec)) {
    std::string name = e.path().filename().string();
    if (name.size() > 5 && name.compare(name.size() - 5, 5, kSuffix) == 0) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Pin> pins;
  for (const stdfs::path& f : files) pins.push_back(decode_pin(f));
  return pins;
}

}  // namespace mdb::store
