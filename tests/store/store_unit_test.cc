// Units of the store: pack footers, manifests, path order, content-defined chunking, the
// index, and the file cache (an unchanged tree is backed up without reading any file).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <random>

#include "store/backup.h"
#include "formats/bytes.h"
#include "formats/store.capnp.h"
#include "platform/env.h"
#include "store/chunker.h"
#include "store/local_backend.h"
#include "store/manifest.h"
#include "store/pack.h"
#include "store/prune.h"
#include "store/store.h"
#include "tests/support/tree_util.h"

namespace mdb::store {
namespace {

namespace t = mdb::test;
using t::random_bytes;

TEST(Hex, UnhexInvertsHexAndRefusesWhatIsNotHex) {
  std::string bytes = random_bytes(16, 7);
  EXPECT_EQ(unhex(hex(bytes)), bytes);
  EXPECT_EQ(unhex("00FFa0"), std::string("\x00\xff\xa0", 3));
  EXPECT_THROW(unhex("abc"), Error);
  EXPECT_THROW(unhex("0g"), Error);
}

TEST(Pack, RoundTripAndDamageDetection) {
  t::TempDir dir;
  LocalBackend backend(dir.path());
  backend.create_layout();
  std::vector<std::string> blobs = {"hello", std::string(100000, 'z'), random_bytes(5000, 1), ""};
  PackWriter w(backend);
  for (const std::string& b : blobs) w.add(sha256(b), BlobType::Data, b);
  std::string name = w.finish();
  EXPECT_TRUE(is_pack_name(name));
  EXPECT_EQ(stdfs::directory_iterator(dir / "packs")->path().filename(), name);  // no temporary left
  std::string bytes = t::read(dir / "packs" / name);
  EXPECT_EQ(read_footer(backend, name).size(), blobs.size());
  EXPECT_EQ(trailer_pack_checksum(bytes).hex(), name);

  auto entries = decode_footer(bytes, bytes.size(), name, nullptr);
  ASSERT_EQ(entries.size(), blobs.size());
  EXPECT_EQ(entries[1].compression, Compression::Zstd);  // compressible
  EXPECT_EQ(entries[2].compression, Compression::None);  // random: stored raw
  for (size_t i = 0; i < blobs.size(); ++i)
    EXPECT_EQ(decode_blob(std::string_view(bytes).substr(entries[i].offset, entries[i].stored_len), entries[i], name, nullptr),
              blobs[i]);

  std::string damaged = bytes;
  damaged[entries[2].offset + 10] ^= 1;
  EXPECT_THROW(
      decode_blob(std::string_view(damaged).substr(entries[2].offset, entries[2].stored_len), entries[2], name, nullptr),
      CorruptError);
  std::string bad_footer = bytes;
  bad_footer[bytes.size() - kTrailerSize - 3] ^= 1;
  EXPECT_THROW(decode_footer(bad_footer, bad_footer.size(), name, nullptr), CorruptError);
  EXPECT_THROW(decode_footer(bytes.substr(bytes.size() - 30), bytes.size(), name, nullptr), CorruptError);
}

RC_GTEST_PROP(Pack, FooterDecoderNeverCrashesOnGarbage, (const std::string& tail)) {
  try {
    auto entries = decode_footer(tail, tail.size(), "fuzz", nullptr);
    for (const PackEntry& e : entries) RC_ASSERT(e.offset + e.stored_len <= tail.size());
  } catch (const CorruptError&) {
  }
}

std::string gen_path_component() {
  return *rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::element('a', 'b', '-', '.', ' ', '\'', 'z')));
}

// A pack as version 1 wrote it (blobs back to back, no record headers), built by hand.
std::string version1_pack(const std::string& blob) {
  std::string bytes(kPackMagicV1);
  bytes += blob;
  std::string footer(sha256(blob).raw());
  put_u64(footer, kPackMagicV1.size());
  put_u32(footer, static_cast<uint32_t>(blob.size()));
  put_u32(footer, static_cast<uint32_t>(blob.size()));
  footer += std::string(4, '\0');  // type Data, compression None, reserved
  put_u32(footer, 1);
  put_u64(footer, bytes.size());
  Hash128 footer_sum = xxh128(footer);
  footer += footer_sum.bytes();
  bytes += footer;
  Hash128 pack_sum = xxh128(bytes);
  bytes += pack_sum.bytes();
  return bytes + std::string(kPackEndMagic);
}

TEST(Pack, Version1PacksStayReadable) {
  std::string blob = random_bytes(3000, 5);
  std::string bytes = version1_pack(blob);
  auto entries = decode_footer(bytes, bytes.size(), "v1", nullptr);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].offset, 8u);
  EXPECT_EQ(decode_blob(std::string_view(bytes).substr(entries[0].offset, entries[0].stored_len), entries[0], "v1", nullptr),
            blob);
  EXPECT_TRUE(has_pack_magic(bytes));
  EXPECT_TRUE(scan_records(bytes, nullptr).empty());  // no record headers to scan
}

TEST(Pack, ScanRecordsFindsTheBlobsWithoutTheFooter) {
  t::TempDir dir;
  LocalBackend backend(dir.path());
  backend.create_layout();
  std::vector<std::string> blobs = {"hello", std::string(100000, 'z'), random_bytes(5000, 1), "", random_bytes(70, 2)};
  PackWriter w(backend);
  for (const std::string& b : blobs) w.add(sha256(b), BlobType::Data, b);
  std::string name = w.finish();
  std::string bytes = t::read(dir / "packs" / name);
  auto footer = decode_footer(bytes, bytes.size(), name, nullptr);
  uint64_t stored = 0;
  for (const PackEntry& e : footer) stored += e.stored_len;
  EXPECT_EQ(bytes.size(), pack_file_size(blobs.size(), stored));
  auto scanned = scan_records(bytes, nullptr);
  ASSERT_EQ(scanned.size(), footer.size());
  for (size_t i = 0; i < footer.size(); ++i) {
    EXPECT_EQ(scanned[i].id, footer[i].id);
    EXPECT_EQ(scanned[i].offset, footer[i].offset);
    EXPECT_EQ(scanned[i].stored_len, footer[i].stored_len);
    EXPECT_EQ(scanned[i].compression, footer[i].compression);
  }
  // A damaged header loses that record only; a damaged blob is found but fails decode_blob.
  std::string damaged = bytes;
  damaged[footer[1].offset - 20] ^= 1;
  damaged[footer[2].offset + 7] ^= 1;
  Salvage s = salvage_pack(damaged, name, nullptr);
  ASSERT_EQ(s.blobs.size(), 3u);
  EXPECT_EQ(s.blobs[0].id, footer[0].id);
  EXPECT_EQ(s.blobs[1].id, footer[3].id);
  EXPECT_EQ(s.blobs[2].id, footer[4].id);
  ASSERT_EQ(s.lost.size(), 2u);
  EXPECT_EQ(s.lost[0], std::make_pair(footer[0].offset + footer[0].stored_len, footer[3].offset - kRecordHeaderSize));
  EXPECT_EQ(s.lost[1].second, bytes.size());
  // A cut in the middle of a blob keeps every record before it.
  Salvage cut = salvage_pack(std::string_view(bytes).substr(0, footer[4].offset + 30), name, nullptr);
  EXPECT_EQ(cut.blobs.size(), 4u);
}

RC_GTEST_PROP(Pack, RecordScannerNeverCrashesOnGarbage, (const std::string& garbage, uint8_t magic_every)) {
  std::string bytes(kPackMagic);
  for (size_t i = 0; i < garbage.size(); ++i) {  // now and then a record magic, to reach the header checks
    if (magic_every && i % magic_every == 0) bytes += kRecordMagic;
    bytes += garbage[i];
  }
  for (const PackEntry& e : scan_records(bytes, nullptr)) {
    RC_ASSERT(e.offset >= kPackMagic.size() + kRecordHeaderSize);
    RC_ASSERT(e.offset + e.stored_len <= bytes.size());
  }
  Salvage s = salvage_pack(bytes, "garbage", nullptr);
  RC_ASSERT(s.blobs.empty());  // nothing in random bytes decodes to its own SHA-256
}

RC_GTEST_PROP(Manifest, PathOrderIsComponentWise, ()) {
  auto a = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(rc::gen::exec(gen_path_component)));
  auto b = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(rc::gen::exec(gen_path_component)));
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& c : v) s += (s.empty() ? "" : "/") + c;
    return s;
  };
  RC_ASSERT(path_less(join(a), join(b)) == (a < b));
}

Entry entry(std::string path, EntryKind kind, uint32_t mode, struct timespec mtime, uint64_t size,
            std::vector<BlobId> chunks, std::string target, bool database) {
  Entry e;
  e.path = std::move(path);
  e.kind = kind;
  e.mode = mode;
  e.mtime = mtime;
  e.size = size;
  e.chunks = std::move(chunks);
  e.target = std::move(target);
  e.database = database;
  return e;
}

TEST(Manifest, EncodeDecodeAndRejectDamage) {
  std::vector<Entry> entries(3);
  entries[0] = entry("a", EntryKind::Directory, 0755, {123, 0}, 0, {}, "", false);
  entries[1] = entry("a/f\xff", EntryKind::File, 0644, {-1, 999'999'995}, 10, {sha256("x"), sha256("y")}, "", true);
  entries[2] = entry("b", EntryKind::Symlink, 0, {7, 0}, 0, {}, "../target", false);
  std::string bytes = encode_manifest_part(entries);
  auto back = decode_manifest_part(bytes, "part");
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[1].path, "a/f\xff");
  EXPECT_EQ(back[1].chunks, entries[1].chunks);
  EXPECT_TRUE(back[1].database);
  EXPECT_EQ(back[2].target, "../target");
  EXPECT_EQ(back[1].mtime.tv_sec, -1);
  EXPECT_EQ(back[1].mtime.tv_nsec, 999'999'995);

  for (const char* bad : {"../x", "/abs", "a//b", "a/./b", ""}) {
    std::vector<Entry> one{entry(bad, EntryKind::File, 0644, {}, 0, {}, "", false)};
    EXPECT_THROW(decode_manifest_part(encode_manifest_part(one), "part"), Error) << bad;
  }
  std::reverse(entries.begin(), entries.end());
  EXPECT_THROW(decode_manifest_part(encode_manifest_part(entries), "part"), Error);
  EXPECT_THROW(decode_manifest_part("not capnp", "part"), Error);
}

// A record as written before kinds were stored (no `kind` field).
std::string old_record(const std::string& name, const std::string& reason) {
  capnp::MallocMessageBuilder msg;
  auto b = msg.initRoot<mdb::capnp_store::Snapshot>();
  b.setName(name);
  b.setReason(reason);
  kj::Array<capnp::word> words = capnp::messageToFlatArray(msg);
  return std::string(reinterpret_cast<const char*>(words.asBytes().begin()), words.asBytes().size());
}

TEST(SnapshotKind, StoredAndOldRecordsClassifiedByReasonThenName) {
  SnapshotRecord rec;
  rec.name = "2026_01_01_00_00_00_mephisto_backup";
  for (SnapshotKind k : {SnapshotKind::Backup, SnapshotKind::BeforeImport, SnapshotKind::BeforeRestore,
                         SnapshotKind::BeforeExportDelete}) {
    rec.kind = k;
    EXPECT_EQ(decode_snapshot(encode_snapshot(rec), "s").kind, k) << kind_name(k);
  }
  auto old_kind = [](const std::string& name, const std::string& reason) {
    return kind_name(decode_snapshot(old_record(name, reason), "old").kind);
  };
  EXPECT_STREQ(old_kind("2026_01_01_00_00_00_mephisto_backup", "backup"), "backup");
  EXPECT_STREQ(old_kind("2026_01_01_00_00_00_before_import", "import"), "before_import");
  EXPECT_STREQ(old_kind("2026_01_01_00_00_00_before_restore_2", "restore"), "before_restore");
  EXPECT_STREQ(old_kind("x_before_export___delete_exported_data", "export --delete-exported-data"),
               "before_export_delete");
  // Without a reason, by name; anything else counts as a user backup (no automatic rule removes it).
  EXPECT_STREQ(old_kind("2026_01_01_00_00_00_before_import_3", ""), "before_import");
  EXPECT_STREQ(old_kind("2026_01_01_00_00_00_before_export___delete_exported_data", ""), "before_export_delete");
  EXPECT_STREQ(old_kind("something", ""), "backup");
}

// backup --tag (docs/PRUNE.md "Tags"): stored in order; a record written before tags existed
// (no tags field, as old_record makes it) reads as untagged.
TEST(SnapshotTags, StoredInOrderAndOldRecordsReadAsUntagged) {
  SnapshotRecord rec;
  rec.name = "2026_01_01_00_00_00_mephisto_backup";
  rec.tags = {"nightly", "before-upgrade"};
  SnapshotRecord back = decode_snapshot(encode_snapshot(rec), "s");
  EXPECT_EQ(back.tags, rec.tags);
  EXPECT_TRUE(back.has_tag("nightly"));
  EXPECT_FALSE(back.has_tag("night"));
  SnapshotRecord old = decode_snapshot(old_record("2026_01_01_00_00_00_mephisto_backup", "backup"), "old");
  EXPECT_TRUE(old.tags.empty());
  EXPECT_EQ(old.kind, SnapshotKind::Backup);
}

TEST(Manifest, PartsAreBoundedAndStableUnderInserts) {
  auto parts_of = [](const std::vector<std::string>& paths) {
    std::vector<BlobId> ids;
    ManifestWriter w([&](std::string part) {
      EXPECT_LE(part.size(), 4u << 20);
      return sha256(part);
    });
    for (const std::string& p : paths) w.add(entry(p, EntryKind::File, 0644, {}, 0, {}, "", false));
    return w.finish();
  };
  std::vector<std::string> paths;
  for (int i = 0; i < 20000; ++i) paths.push_back("f" + std::to_string(100000 + i));
  auto before = parts_of(paths);
  EXPECT_GT(before.size(), 10u);
  paths.insert(paths.begin() + 10001, "f110000a");  // right after f110000
  auto after = parts_of(paths);
  size_t shared = 0;
  for (const BlobId& id : after) shared += std::count(before.begin(), before.end(), id);
  EXPECT_GE(shared + 2, before.size()) << "an insert changes only the part it lands in";
}

TEST(Chunker, BoundsAndResynchronization) {
  std::string data = random_bytes(20u << 20, 7);
  auto cut_all = [](const std::string& d) {
    std::vector<size_t> cuts;
    size_t pos = 0;
    while (pos < d.size()) {
      size_t n = cdc_cut(reinterpret_cast<const uint8_t*>(d.data()) + pos, d.size() - pos);
      EXPECT_LE(n, kCdcMax);
      if (pos + n < d.size()) {
        EXPECT_GE(n, kCdcMin);
      }
      pos += n;
      cuts.push_back(pos);
    }
    return cuts;
  };
  auto a = cut_all(data);
  EXPECT_GT(a.size(), 8u);
  EXPECT_LT(a.size(), 60u);
  std::string shifted = "inserted bytes" + data;
  auto b = cut_all(shifted);
  size_t same = 0;
  for (size_t c : b)
    if (c >= 14 && std::binary_search(a.begin(), a.end(), c - 14)) ++same;
  EXPECT_GE(same + 2, a.size()) << "boundaries after the insert are found again";
}

// A data dir with a 3 MiB file, old enough that the file cache takes every file (kRacyWindowNs in
// store/backup.cc), and a request to back it up.
BackupRequest aged_data_dir(const t::TempDir& dir, uint64_t seed) {
  t::make_data_dir(dir / "data");
  t::write(dir / "data" / "big.bin", random_bytes(3u << 20, seed));
  ::usleep(100'000);
  BackupRequest req;
  req.root = dir / "data";
  return req;
}

// The chunks of aged_data_dir's big.bin in a backup of it.
std::vector<BlobId> big_bin_chunks(Store& store, const BackupResult& backed_up) {
  ManifestReader m(store, backed_up.snapshot.record);
  for (Entry e; m.next(e);)
    if (e.path == "big.bin") return e.chunks;
  return {};
}

TEST(FileCache, UnchangedTreeIsNotRead) {
  t::TempDir dir;
  BackupRequest req = aged_data_dir(dir, 3);
  Reporter quiet;
  req.databases = {"database.db", "mock/mock.db"};
  Store store(dir / "store", Store::Mode::Write, "test");
  req.name = "one";
  BackupResult first = backup(store, req, quiet);
  EXPECT_GT(first.files_read, 5u);
  fs::Stats before = fs::stats();
  req.name = "two";
  BackupResult second = backup(store, req, quiet);
  EXPECT_EQ(fs::stats().files_opened_for_read, before.files_opened_for_read);
  EXPECT_EQ(fs::stats().bytes_read, before.bytes_read);
  EXPECT_EQ(second.files_read, 0u);
  EXPECT_EQ(second.snapshot.record.manifest, first.snapshot.record.manifest);
  // A changed file is read again (and only it).
  t::write(dir / "data" / "tools" / "run.sh", "changed");
  req.name = "three";
  EXPECT_EQ(backup(store, req, quiet).files_read, 1u);
}

// A record of the current epoch is used without looking its chunks up (Store::cached_file), so a
// blob leaving the index (here as a repair that could not heal it drops it) must end that trust.
TEST(FileCache, ARecordIsTrustedOnlyWhileNoBlobHasLeftTheIndex) {
  t::TempDir dir;
  BackupRequest req = aged_data_dir(dir, 5);
  Reporter quiet;
  req.name = "one";
  Store store(dir / "store", Store::Mode::Write, "test");
  std::vector<BlobId> chunks = big_bin_chunks(store, backup(store, req, quiet));
  ASSERT_GT(chunks.size(), 1u);
  {
    Txn t = store.index().write();
    store.index().del_blob(t, chunks[1]);
    t.commit();
  }
  store.reload();
  req.name = "two";
  BackupResult second = backup(store, req, quiet);
  EXPECT_EQ(second.files_read, 1u);  // big.bin, read again
  EXPECT_TRUE(store.has(chunks[1]));
}

// Prune puts the blobs' epoch back only when no file cache record waits under it: a record written
// after the prune would carry that epoch again and name a blob the prune took out.
TEST(FileCache, PruneLeavesTheEpochNewWhileARecordWaitsUnderTheOldOne) {
  t::TempDir dir;
  BackupRequest req = aged_data_dir(dir, 7);
  Reporter quiet;
  req.name = "one";
  Store store(dir / "store", Store::Mode::Write, "test");
  FileCacheRecord waiting;
  waiting.chunks = big_bin_chunks(store, backup(store, req, quiet));
  ASSERT_FALSE(waiting.chunks.empty());
  stdfs::remove(req.root / "big.bin");
  req.name = "two";
  backup(store, req, quiet);
  uint64_t before = store.blobs_epoch();
  store.queue_filecache("waiting", waiting);  // names big.bin's blobs, which the prune takes out
  PrunePolicy policy;
  policy.forget = {"one"};
  PruneReport report = prune(store, policy, quiet);
  ASSERT_EQ(report.forgotten.size(), 1u);
  Txn t = store.index().read();
  EXPECT_FALSE(store.index().has_blob(t, waiting.chunks[0]));
  EXPECT_NE(store.index().blobs_epoch(t), before);
}

// Fails the index's second commit: the first is the full pack's, in the middle of the walk.
class FailSecondCommit : public fs::EnvWrapper {
 public:
  FailSecondCommit() : fs::EnvWrapper(fs::posix_env()) {}
  void fault_point(std::string_view what, const stdfs::path& path) override {
    if (what == "commit" && ++commits_ == 2) throw std::runtime_error("stopped at the second commit");
    fs::EnvWrapper::fault_point(what, path);
  }

 private:
  int commits_ = 0;
};

// When a pack fills, the blobs of the files read last are still being compressed: their file
// cache records wait for the pack that holds them, and none goes in trusted before its chunks.
TEST(FileCache, ARecordGoesInOnlyWithEveryChunkItNames) {
  t::TempDir dir;
  for (int i = 0; i < 640; ++i)  // 40 MiB: the first pack fills in the middle of the walk
    t::write(dir / "data" / ("f" + std::to_string(1000 + i)), random_bytes(64u << 10, static_cast<uint64_t>(i) + 1));
  ::usleep(100'000);  // older than the racy window
  Reporter quiet;
  BackupRequest req;
  req.root = dir / "data";
  req.name = "one";
  {
    FailSecondCommit faulty;
    fs::UseEnv use(faulty);
    Store store(dir / "store", Store::Mode::Write, "test");
    EXPECT_THROW(backup(store, req, quiet), std::runtime_error);
  }
  Index index = Index::open(dir / "store" / "index", false);
  Txn r = index.read();
  uint64_t epoch = index.blobs_epoch(r);
  size_t trusted = 0, chunks_missing = 0;
  index.for_each_filecache(r, [&](std::string_view, const FileCacheRecord& rec) {
    if (rec.epoch != epoch) return true;
    ++trusted;
    for (const BlobId& c : rec.chunks) chunks_missing += index.has_blob(r, c) ? 0 : 1;
    return true;
  });
  EXPECT_GT(trusted, 100u);
  EXPECT_LT(trusted, 640u);
  EXPECT_EQ(chunks_missing, 0u);
}

TEST(Snapshots, AmbiguousIdPrefixIsAnError) {
  t::TempDir dir;
  Store store(dir / "store", Store::Mode::Write, "test");
  BlobId a = sha256("a"), b = sha256("b");
  b.bytes[0] = a.bytes[0];
  b.bytes[1] = a.bytes[1];
  {
    Txn t = store.index().write();
    store.index().put_snapshot(t, "first", a);
    store.index().put_snapshot(t, "second", b);
    t.commit();
  }
  store.reload();
  std::string prefix = a.hex().substr(0, 4);
  try {
    store.find_snapshot(prefix);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("The snapshot id prefix " + prefix + " is ambiguous: it matches first"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(store.find_snapshot("abc"));      // too short to be an id prefix
  EXPECT_FALSE(store.find_snapshot("no_such"));  // neither a name nor hex
}

}  // namespace
}  // namespace mdb::store
