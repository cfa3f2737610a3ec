#include "tests/store/damage_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "store/keys.h"
#include "store/store.h"

namespace mdb::test {

const char* name_of(FileKind k) {
  switch (k) {
    case FileKind::PackData: return "pack data";
    case FileKind::PackFooter: return "pack footer";
    case FileKind::Manifest: return "manifest";
    case FileKind::SnapshotRecord: return "snapshot record";
    case FileKind::Index: return "LMDB index";
    case FileKind::Lock: return "lock";
    case FileKind::Config: return "config";
  }
  return "?";
}

const char* name_of(Damage d) {
  switch (d) {
    case Damage::Flip: return "flip";
    case Damage::Truncate: return "truncate";
    case Damage::Zero: return "zero";
    case Damage::Delete: return "delete";
  }
  return "?";
}

stdfs::path damage_cache_home(const stdfs::path& store) { return store.parent_path() / "cache"; }

namespace {

Region blob_region(const store::BlobLocation& loc) {
  return {"packs/" + loc.pack, loc.entry.offset, loc.entry.offset + loc.entry.stored_len, loc.pack};
}

Region whole_file(const stdfs::path& store, const std::string& rel, const std::string& token) {
  return {rel, 0, stdfs::file_size(store / rel), token};
}

// Every region of the store, read through the store library (the index knows where each
// manifest part and snapshot record lies; each pack's footer says where its blobs end).
std::map<FileKind, std::vector<Region>> find_regions(const stdfs::path& dir) {
  std::map<FileKind, std::vector<Region>> out;
  store::set_key_access({[](store::PasswordFor, const std::string&) { return std::string(kDamagePassword); }, {}});
  // The store's cache (an encrypted store's index) is the fixture's, not this process's user's.
  ::setenv("XDG_CACHE_HOME", damage_cache_home(dir).c_str(), 1);
  store::Store s(dir, store::Store::Mode::Read);
  for (const store::SnapshotInfo& snap : s.snapshots()) {
    out[FileKind::SnapshotRecord].push_back(blob_region(*s.locate(snap.id)));
    for (const store::BlobId& part : snap.record.manifest) out[FileKind::Manifest].push_back(blob_region(*s.locate(part)));
  }
  s.index().for_each_blob(s.state(), [&](const store::BlobLocation& loc) {
    if (loc.entry.type == store::BlobType::Data) out[FileKind::PackData].push_back(blob_region(loc));
  });
  // Packs in the order they were written (their names hash content that holds the backups'
  // times), so a case number picks the same pack in every run.
  std::vector<stdfs::path> packs(stdfs::directory_iterator(dir / "packs"), stdfs::directory_iterator{});
  std::sort(packs.begin(), packs.end(), [](const stdfs::path& a, const stdfs::path& b) {
    return std::pair(stdfs::last_write_time(a), a) < std::pair(stdfs::last_write_time(b), b);
  });
  for (const stdfs::path& p : packs) {
    std::string name = p.filename().string();
    uint64_t end = 0;
    for (const store::PackEntry& p : store::read_footer(s.backend(), name)) end = std::max(end, p.offset + p.stored_len);
    out[FileKind::PackFooter].push_back({"packs/" + name, end, stdfs::file_size(p), name});
  }
  // An encrypted store's index is in the cache dir (docs/SECURITY.md): named from the store.
  stdfs::path index = stdfs::relative(s.index().path() / "data.mdb", dir);
  out[FileKind::Index].push_back(whole_file(dir, index.string(), "data.mdb"));
  out[FileKind::Lock].push_back(whole_file(dir, "lock", "lock"));
  out[FileKind::Config].push_back(whole_file(dir, "config", "config"));
  return out;
}

uint64_t pick(std::mt19937_64& rng, uint64_t lo, uint64_t hi) {
  return std::uniform_int_distribution<uint64_t>(lo, hi - 1)(rng);
}

void writable(const stdfs::path& p) { stdfs::permissions(p, stdfs::perms(0644)); }

}  // namespace

DamageFixture::DamageFixture(bool encrypt) : encrypted(encrypt) {
  make_data_dir(dirs.data);
  write(dirs.data / "data" / "media" / "clip.bin", random_bytes(300000, 1));
  auto save = [&] {
    std::vector<std::string> args = {"--json", "backup"};
    if (encrypt) args.insert(args.begin(), "--encrypt");
    RunResult r = mdb(dirs.data, dirs.store, args,
                      {{"MEPHISTO_PASSWORD", kDamagePassword}, {"XDG_CACHE_HOME", damage_cache_home(dirs.store).string()}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    snapshots.push_back(r.exit_code == 0 ? nlohmann::json::parse(r.out).value("snapshot", "") : "");
    trees[snapshots.back()] = describe(dirs.data);
  };
  save();
  write(dirs.data / "data" / "media" / "second.bin", random_bytes(40000, 2));
  sqlite_exec(dirs.data / "database.db", "INSERT INTO projects(project_id, project_name) VALUES (1000010, 'two');");
  save();
  stdfs::remove_all(dirs.data / "data" / "runs");
  write(dirs.data / "data" / "media" / "clip.bin", random_bytes(300000, 3));
  save();
  regions = find_regions(dirs.store);
  for (const auto& [kind, list] : regions)
    if (list.empty()) throw std::runtime_error(std::string("the fixture store has no ") + name_of(kind));
}

Applied apply_damage(const DamageFixture& f, const stdfs::path& store, FileKind k, Damage d, std::mt19937_64& rng) {
  const std::vector<Region>& list = f.regions.at(k);
  Applied a{list[pick(rng, 0, list.size())], ""};
  const Region& r = a.region;
  stdfs::path file = store / r.rel;
  if (d == Damage::Delete) {
    stdfs::remove(file);
    a.what = "delete " + r.rel;
    return a;
  }
  std::string bytes = read(file);
  uint64_t at = pick(rng, r.lo, r.hi);
  if (d == Damage::Flip) {
    int bit = static_cast<int>(pick(rng, 0, 8));
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << bit));
    a.what = "flip bit " + std::to_string(bit) + " of byte " + std::to_string(at) + " of " + r.rel;
  } else if (d == Damage::Truncate) {
    bytes.resize(at);
    a.what = "truncate " + r.rel + " to " + std::to_string(at) + " bytes";
  } else {
    uint64_t len = pick(rng, 1, std::min<uint64_t>(4096, r.hi - at) + 1);
    for (int tries = 0; bytes.find_first_not_of('\0', at) >= at + len && tries < 100; ++tries) {
      at = pick(rng, r.lo, r.hi);  // all zero already: zeroing would change nothing
      len = pick(rng, 1, std::min<uint64_t>(4096, r.hi - at) + 1);
    }
    std::fill(bytes.begin() + static_cast<long>(at), bytes.begin() + static_cast<long>(at + len), '\0');
    a.what = "zero bytes " + std::to_string(at) + "-" + std::to_string(at + len) + " of " + r.rel;
  }
  writable(file);
  write(file, bytes);
  return a;
}

}  // namespace mdb::test
