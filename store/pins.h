#pragma once
// Pins (docs/PRUNE.md): the snapshot an interrupted change needs to roll back to, recorded in
// the store itself, so that prune keeps it whichever data dir prune runs for. One file per
// data dir, `<store>/pins/<32 hex of SHA-256(data dir)>.json`, written atomically and fsynced
// while the writer holds the store lock, before the change begins. Pins live outside the
// index, so `verify --repair-index` leaves them alone. A pin is the change's ChangeRecord, the
// same record as its journal marker.
#include <filesystem>
#include <string>
#include <vector>

#include "store/change_record.h"

namespace mdb::store {

namespace stdfs = std::filesystem;

// `data_dir` is the data dir whose journal marker names `snapshot`.
struct Pin : ChangeRecord {
  stdfs::path file;  // where the pin is
};

stdfs::path pins_dir(const stdfs::path& store_dir);
// Durable when this returns (file and directory fsynced). Replaces the data dir's earlier pin.
void write_pin(const stdfs::path& store_dir, const ChangeRecord& change);
// Removes the data dir's pin if it still names `snapshot`. Never throws: a pin left behind is
// dead (its marker is gone) and the next prune drops it.
void remove_pin(const stdfs::path& store_dir, const std::string& data_dir, const std::string& snapshot) noexcept;
// Every pin of the store, in file name order. A pin file that cannot be read or decoded (or names
// no data dir) is an mdb::Error naming it: what it protects is unknown, so nothing may be pruned.
std::vector<Pin> read_pins(const stdfs::path& store_dir);

}  // namespace mdb::store
