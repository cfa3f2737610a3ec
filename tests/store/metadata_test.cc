// What restore gives back besides content (docs/store.md, "What a snapshot records"), through
// the real binary: owners and groups (as root, the data dir itself included), hard links as
// links, sparse files sparse, mtimes of any year, FIFOs and device nodes; and a manifest
// written before these were recorded still restores. CI runs as root: the tests that need it
// fail with that reason when not root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <nlohmann/json.hpp>

#include "formats/store.capnp.h"
#include "store/store.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

constexpr uint32_t kNobody = 65534;

struct stat lstat_of(const stdfs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p << ": " << std::strerror(errno);
  return st;
}

void chown_to(const stdfs::path& p, uid_t uid, gid_t gid) {
  ASSERT_EQ(::lchown(p.c_str(), uid, gid), 0) << p << ": " << std::strerror(errno);
}

void set_times(const stdfs::path& p, int64_t sec, long nsec) {
  struct timespec times[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << p << ": " << std::strerror(errno);
}

// `restore -f NAME` into `data` (created when missing); the --json output.
nlohmann::json restore(const stdfs::path& data, const stdfs::path& store, const std::string& name, int exit_code = 0,
                       std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--json", "restore", "-f", name};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = mdb(data, store, args);
  EXPECT_EQ(r.exit_code, exit_code) << r.out << r.err;
  return r.out.empty() ? nlohmann::json() : nlohmann::json::parse(r.out);
}

#define REQUIRE_ROOT() \
  ASSERT_EQ(::geteuid(), 0u) << "this test restores owners and device nodes, which needs root (CI runs as root)"

TEST(RestoreMetadata, OwnersAndGroupsComeBackAsRootTheDataDirIncluded) {
  REQUIRE_ROOT();
  DataAndStore d;
  make_data_dir(d.data);
  chown_to(d.data, 1007, 1008);
  chown_to(d.data / "database.db", 1001, 1002);
  chown_to(d.data / "data", 1003, 1004);
  chown_to(d.data / "dangling", 1005, 1006);  // a symlink: lchown
  write(d.data / "setuid", "x");
  chown_to(d.data / "setuid", 1001, 1001);
  ASSERT_EQ(::chmod((d.data / "setuid").c_str(), 04755), 0);
  std::string name = backup_snapshot(d.data, d.store);

  // Everything root's now, as the restore of an old version left it.
  for (const auto& e : stdfs::recursive_directory_iterator(d.data)) chown_to(e.path(), 0, 0);
  chown_to(d.data, 0, 0);
  restore(d.data, d.store, name);
  stdfs::path fresh = d.tmp / "fresh";
  restore(fresh, d.store, name);
  for (const stdfs::path& root : {d.data, fresh}) {
    SCOPED_TRACE(root);
    auto owner = [&](const std::string& rel) {
      struct stat st = lstat_of(rel.empty() ? root : root / rel);
      return std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid);
    };
    EXPECT_EQ(owner(""), "1007:1008");
    EXPECT_EQ(owner("database.db"), "1001:1002");
    EXPECT_EQ(owner("data"), "1003:1004");
    EXPECT_EQ(owner("dangling"), "1005:1006");
    EXPECT_EQ(owner("setuid"), "1001:1001");
    EXPECT_EQ(lstat_of(root / "setuid").st_mode & 07777, 04755u);  // chown first, so the set-uid bit stays
    EXPECT_EQ(owner("mock/mock.db"), "0:0");
  }
}

TEST(RestoreMetadata, HardLinkedFilesComeBackAsLinksAndOnlyOneOfThemAsAFile) {
  DataAndStore d;
  make_data_dir(d.data);
  write(d.data / "data" / "a.bin", random_bytes(3 << 20, 7));
  stdfs::create_directories(d.data / "other");
  stdfs::create_hard_link(d.data / "data" / "a.bin", d.data / "other" / "b.bin");
  stdfs::create_hard_link(d.data / "data" / "a.bin", d.data / "data" / "c.bin");
  write(d.data / "inside.txt", "linked from outside");
  stdfs::create_hard_link(d.data / "inside.txt", d.tmp / "outside.txt");
  std::string name = backup_snapshot(d.data, d.store);

  stdfs::path fresh = d.tmp / "fresh";
  nlohmann::json j = restore(fresh, d.store, name);
  EXPECT_EQ(j["hard_links"], 2);
  struct stat a = lstat_of(fresh / "data" / "a.bin");
  EXPECT_EQ(a.st_nlink, 3u);
  EXPECT_EQ(lstat_of(fresh / "other" / "b.bin").st_ino, a.st_ino);
  EXPECT_EQ(lstat_of(fresh / "data" / "c.bin").st_ino, a.st_ino);
  EXPECT_EQ(read(fresh / "other" / "b.bin"), random_bytes(3 << 20, 7));
  EXPECT_EQ(lstat_of(fresh / "inside.txt").st_nlink, 1u);  // its other name is outside the data dir
  EXPECT_EQ(read(fresh / "inside.txt"), "linked from outside");

  // --only of one name: a full file of its own.
  stdfs::remove_all(d.data / "other");
  restore(d.data, d.store, name, 0, {"--only", "other"});
  EXPECT_EQ(lstat_of(d.data / "other" / "b.bin").st_nlink, 1u);
  EXPECT_EQ(read(d.data / "other" / "b.bin"), random_bytes(3 << 20, 7));
}

TEST(RestoreMetadata, ASparseFileComesBackSparse) {
  DataAndStore d;
  make_data_dir(d.data);
  stdfs::path sparse = d.data / "data" / "sparse.img";
  {
    int fd = ::open(sparse.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, off_t{256} << 20), 0);
    ASSERT_EQ(::pwrite(fd, "middle", 6, off_t{100} << 20), 6);
    ASSERT_EQ(::close(fd), 0);
  }
  blkcnt_t before = lstat_of(sparse).st_blocks;
  ASSERT_LT(before * 512, 1 << 20) << "this filesystem does not make sparse files";
  std::string name = backup_snapshot(d.data, d.store);
  stdfs::path fresh = d.tmp / "fresh";
  restore(fresh, d.store, name);

  struct stat st = lstat_of(fresh / "data" / "sparse.img");
  EXPECT_EQ(st.st_size, off_t{256} << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "allocated " << st.st_blocks * 512 << " bytes, before " << before * 512;
  std::string bytes = read(fresh / "data" / "sparse.img");
  EXPECT_EQ(bytes.substr(size_t{100} << 20, 6), "middle");
  bytes.replace(size_t{100} << 20, 6, std::string(6, '\0'));
  EXPECT_EQ(bytes.find_first_not_of('\0'), std::string::npos);
}

// On tmpfs: ext4 keeps no time before 1901-12-13 (it stores 1800 as that), tmpfs keeps any.
TEST(RestoreMetadata, MtimesOfTheYears2300And1800RoundTripExactly) {
  REQUIRE_ROOT();  // to mount the tmpfs
  TempDir tmp;
  std::unique_ptr<Mount> mnt = Mount::tmpfs(tmp / "mnt");
  stdfs::path data = mnt->path() / "data", store = tmp / "store", fresh = mnt->path() / "fresh";
  make_data_dir(data);
  constexpr int64_t k2300 = 10'413'792'000, k1800 = -5'364'662'400;  // 1 January, UTC
  write(data / "future.txt", "2300");
  write(data / "past.txt", "1800");
  stdfs::create_directories(data / "old_dir");
  set_times(data / "future.txt", k2300, 123'456'789);
  set_times(data / "past.txt", k1800, 987'654'321);
  set_times(data / "dangling", k2300 + 1, 5);
  set_times(data / "old_dir", k1800 + 1, 7);
  auto mtime = [&](const stdfs::path& p) {
    struct stat st = lstat_of(p);
    return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  };
  ASSERT_EQ(mtime(data / "past.txt"), std::to_string(k1800) + ".987654321") << "this filesystem clamps times";
  std::string name = backup_snapshot(data, store);
  restore(fresh, store, name);
  EXPECT_EQ(mtime(fresh / "future.txt"), std::to_string(k2300) + ".123456789");
  EXPECT_EQ(mtime(fresh / "past.txt"), std::to_string(k1800) + ".987654321");
  EXPECT_EQ(mtime(fresh / "dangling"), std::to_string(k2300 + 1) + ".5");
  EXPECT_EQ(mtime(fresh / "old_dir"), std::to_string(k1800 + 1) + ".7");

  // The file cache still sees a change: same size, the same far mtime put back, new content.
  write(data / "future.txt", "2301");
  set_times(data / "future.txt", k2300, 123'456'789);
  std::string second = backup_snapshot(data, store);
  stdfs::path again = mnt->path() / "again";
  restore(again, store, second);
  EXPECT_EQ(read(again / "future.txt"), "2301");
  EXPECT_EQ(mtime(again / "future.txt"), std::to_string(k2300) + ".123456789");
}

TEST(RestoreMetadata, AFifoAndACharacterDeviceAreRecreated) {
  REQUIRE_ROOT();
  DataAndStore d;
  make_data_dir(d.data);
  ASSERT_EQ(::mkfifo((d.data / "data" / "pipe").c_str(), 0640), 0);
  ASSERT_EQ(::mknod((d.data / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::chmod((d.data / "null").c_str(), 0666), 0);
  RunResult b = mdb(d.data, d.store, {"--json", "backup"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(b.err.find("Skipped"), std::string::npos) << b.err;
  std::string name = nlohmann::json::parse(b.out)["snapshot"];

  stdfs::path fresh = d.tmp / "fresh";
  nlohmann::json j = restore(fresh, d.store, name);
  EXPECT_EQ(j["special_files"], 2);
  struct stat pipe = lstat_of(fresh / "data" / "pipe");
  EXPECT_TRUE(S_ISFIFO(pipe.st_mode));
  EXPECT_EQ(pipe.st_mode & 07777, 0640u);
  struct stat null = lstat_of(fresh / "null");
  EXPECT_TRUE(S_ISCHR(null.st_mode));
  EXPECT_EQ(major(null.st_rdev), 1u);
  EXPECT_EQ(minor(null.st_rdev), 3u);
  EXPECT_EQ(null.st_mode & 07777, 0666u);
}

// Not root: the files belong to the user who restores, a FIFO is made, a device node is a
// warning naming it and the restore exits 3.
TEST(RestoreMetadata, NotAsRootDevicesAreAWarningAndExit3OwnersAreTheUsers) {
  REQUIRE_ROOT();  // to make the device node and to become another user
  DataAndStore d;
  make_data_dir(d.data);
  chown_to(d.data / "database.db", 1001, 1002);
  ASSERT_EQ(::mkfifo((d.data / "pipe").c_str(), 0600), 0);
  ASSERT_EQ(::mknod((d.data / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  std::string name = backup_snapshot(d.data, d.store);
  for (const auto& e : stdfs::recursive_directory_iterator(d.tmp.path())) chown_to(e.path(), kNobody, kNobody);
  chown_to(d.tmp.path(), kNobody, kNobody);

  stdfs::path fresh = d.tmp / "fresh";
  RunResult r = run("/usr/bin/setpriv",
                    {"--reuid=65534", "--regid=65534", "--clear-groups", mephisto_binary().string(), "--data-dir",
                     fresh.string(), "--store", d.store.string(), "db", "restore", "-f", name},
                    "yes\n");
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("Warning: did not restore null, a character device (1:3): only root can create device nodes."),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("Finished with warnings (1 entry not restored, see the warnings above)"), std::string::npos)
      << r.out;
  EXPECT_FALSE(stdfs::exists(stdfs::symlink_status(fresh / "null")));
  EXPECT_TRUE(S_ISFIFO(lstat_of(fresh / "pipe").st_mode));
  EXPECT_EQ(lstat_of(fresh / "database.db").st_uid, kNobody);
  EXPECT_EQ(sqlite_dump(fresh / "database.db"), sqlite_dump(d.data / "database.db"));
}

// A snapshot whose manifest has only the fields of the first format (mtimeNs, no owners, no
// mtimeSec): written here with Cap'n Proto directly, then restored by the binary.
TEST(RestoreMetadata, AManifestWithoutTheNewFieldsStillRestores) {
  DataAndStore d;
  make_data_dir(d.data);
  backup_snapshot(d.data, d.store);  // makes the store
  {
    store::Store s(d.store, store::Store::Mode::Write, "test");
    capnp::MallocMessageBuilder msg;
    auto list = msg.initRoot<capnp_store::ManifestPart>().initEntries(3);
    auto set = [&](unsigned i, const std::string& path, capnp_store::Entry::Kind kind, uint32_t mode, int64_t ns) {
      list[i].setPath(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(path.data()), path.size()));
      list[i].setKind(kind);
      list[i].setMode(mode);
      list[i].setMtimeNs(ns);
    };
    set(0, "database.db", capnp_store::Entry::Kind::FILE, 0640, 1'600'000'000'123'456'789);
    set(1, "dir", capnp_store::Entry::Kind::DIRECTORY, 0750, -1'000'000'000'000'000'001);
    set(2, "dir/note.txt", capnp_store::Entry::Kind::FILE, 0600, 1'000'000'000);
    auto put = [&](unsigned i, const std::string& content) {
      store::BlobId id = s.add(store::BlobType::Data, content);
      list[i].initChunks(1).set(0, capnp::Data::Reader(reinterpret_cast<const kj::byte*>(id.raw().data()), 32));
      list[i].setSize(content.size());
    };
    put(0, read(d.data / "database.db"));
    put(2, "old format");
    auto words = capnp::messageToFlatArray(msg);
    auto bytes = words.asBytes();
    store::SnapshotRecord rec;
    rec.name = "old_format";
    rec.time_ns = 1'600'000'000'000'000'000;
    rec.reason = "backup";
    rec.manifest = {s.add(store::BlobType::Tree,
                          std::string_view(reinterpret_cast<const char*>(bytes.begin()), bytes.size()))};
    rec.entries = 3;
    s.commit_snapshot(rec);
  }
  stdfs::path fresh = d.tmp / "fresh";
  restore(fresh, d.store, "old_format");
  EXPECT_EQ(read(fresh / "dir" / "note.txt"), "old format");
  EXPECT_EQ(sqlite_dump(fresh / "database.db"), sqlite_dump(d.data / "database.db"));
  struct stat db = lstat_of(fresh / "database.db"), dir = lstat_of(fresh / "dir");
  EXPECT_EQ(db.st_mode & 07777, 0640u);
  EXPECT_EQ(db.st_mtim.tv_sec, 1'600'000'000);
  EXPECT_EQ(db.st_mtim.tv_nsec, 123'456'789);
  EXPECT_EQ(dir.st_mtim.tv_sec, -1'000'000'001);  // -1e18 - 1 ns: 1938, 1 ns before a second
  EXPECT_EQ(dir.st_mtim.tv_nsec, 999'999'999);
  EXPECT_EQ(db.st_uid, ::geteuid());  // no recorded owner: the user's
}

}  // namespace
}  // namespace mdb::test
