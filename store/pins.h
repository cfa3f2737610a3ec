#pragma once
// Pins (docs/PRUNE.md): the snapshot an interrupted change needs to roll back to, recorded in
// the store itself, so that prune keeps it whichever data dir prune runs for. One file per
// data dir, the object `<32 hex of SHA-256(data dir)>.json` of kind Pin in the store's backend
// (`<store>/pins/` in a local store), saved durably while the writer holds the store lock,
// before the change begins. Pins live outside the
// index, so `verify --repair-index` leaves them alone. A pin is the change's ChangeRecord, the
// same record as its journal marker.
#include <filesystem>
#include <string>
#include <vector>

#include "store/backend.h"
#include "store/change_record.h"

namespace mdb::store {

namespace stdfs = std::filesystem;

// `data_dir` is the data dir whose journal marker names `snapshot`.
struct Pin : ChangeRecord {
  std::string name;  // the pin object's name
};

// Durable when this returns. Replaces the data dir's earlier pin.
void write_pin(Backend& store, const ChangeRecord& change);
// Removes the data dir's pin if it still names `snapshot`. Never throws: a pin left behind is
// dead (its marker is gone) and the next prune drops it.
void remove_pin(Backend& store, const std::string& data_dir, const std::string& snapshot) noexcept;
void remove_pin(Backend& store, const Pin& pin);
// Every pin of the store, in name order. A pin that cannot be read or decoded (or names no data
// dir) is an mdb::Error naming it: what it protects is unknown, so nothing may be pruned.
std::vector<Pin> read_pins(Backend& store);

}  // namespace mdb::store
