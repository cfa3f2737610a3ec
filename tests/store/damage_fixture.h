#pragma once
// The damage suite's material (docs/DAMAGE.md): one store with three snapshots, built once per
// test, where each kind of store file lies (found through the store library: the index says
// where the manifest and snapshot-record blobs are), and the four damages applied at a seeded
// point of one of them.
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/support/tree_util.h"

namespace mdb::test {

enum class FileKind { PackData, PackFooter, Manifest, SnapshotRecord, Index, Lock, Config };
enum class Damage { Flip, Truncate, Zero, Delete };
inline constexpr Damage kDamages[] = {Damage::Flip, Damage::Truncate, Damage::Zero, Damage::Delete};
const char* name_of(FileKind k);
const char* name_of(Damage d);

// Bytes [lo, hi) of the store file `rel` (relative to the store) that belong to one file kind.
// `token` is what a message about it must name: the pack name, `data.mdb`, `lock`, `config`.
struct Region {
  std::string rel;
  uint64_t lo = 0, hi = 0;
  std::string token;
};

// The password of the suite's encrypted stores (every run gets it; a plain store never asks).
inline constexpr const char* kDamagePassword = "damage suite password";

struct DamageFixture {
  DataAndStore dirs;
  bool encrypted = false;  // made with --encrypt (docs/SECURITY.md): sealed packs, keyed ids
  std::vector<std::string> snapshots;                   // oldest first
  std::map<std::string, std::map<std::string, Node>> trees;  // snapshot -> describe() at backup
  std::map<FileKind, std::vector<Region>> regions;

  // Makes the data dir, three backups (into an encrypted store when `encrypt`), and finds the regions.
  explicit DamageFixture(bool encrypt = false);
};

// The XDG_CACHE_HOME of every command on `store` (a fixture's or a case's copy): beside it, so the
// cache an encrypted store keeps its index in (docs/SECURITY.md) is copied with the store.
stdfs::path damage_cache_home(const stdfs::path& store);

// What was done to the store, for the failure message and for reproducing the case.
struct Applied {
  Region region;
  std::string what;  // "flip bit 3 of byte 1234 of packs/…"
};
// Applies `d` at a point of a region of kind `k` (chosen with `rng`) to the store `store`,
// a copy of the fixture's. A zeroing always changes at least one byte.
Applied apply_damage(const DamageFixture& f, const stdfs::path& store, FileKind k, Damage d, std::mt19937_64& rng);

}  // namespace mdb::test
