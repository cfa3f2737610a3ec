// Encrypted stores (docs/SECURITY.md) through the real binary: what reaches the store is sealed,
// blob ids are keyed, a wrong password changes nothing, and a changed byte of any store file is
// damage named by its file, never wrong bytes.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <tuple>
#include <nlohmann/json.hpp>

#include "datadir/journal.h"
#include "store/index.h"
#include "store/keys.h"
#include "store/pack.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

const std::string kPassword = "correct horse battery staple";
const std::string kSecretText = "participant-7731 answered: my secret answer";

struct Encrypted : DataAndStore {
  // The cache (an encrypted store's index, docs/SECURITY.md) is the test's own.
  std::map<std::string, std::string> env = {{"MEPHISTO_PASSWORD", kPassword},
                                            {"XDG_CACHE_HOME", (tmp / "cache").string()}};
  Encrypted() {
    make_data_dir(data);
    write(data / "data" / "runs" / "secret-answer-file.txt", kSecretText);
  }
  RunResult run(std::vector<std::string> args) const { return mdb(data, store, std::move(args), env); }
  std::string backup() const {
    RunResult r = run({"--json", "--encrypt", "backup"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out).value("snapshot", "") : "";
  }
};

std::string file_bytes(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every file under the store's sealed parts (config, packs, pins), concatenated.
std::string sealed_parts(const stdfs::path& store) {
  std::string out = file_bytes(store / "config");
  for (const char* sub : {"packs", "pins"})
    if (stdfs::exists(store / sub))
      for (const auto& e : stdfs::recursive_directory_iterator(store / sub))
        if (e.is_regular_file()) out += file_bytes(e.path());
  return out;
}

std::vector<stdfs::path> packs(const stdfs::path& store) {
  std::vector<stdfs::path> out;
  for (const auto& e : stdfs::recursive_directory_iterator(store / "packs"))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

void flip(const stdfs::path& p, uint64_t offset) {
  std::string b = file_bytes(p);
  ASSERT_LT(offset, b.size()) << p;
  b[offset] ^= 0x20;
  std::ofstream(p, std::ios::binary | std::ios::trunc) << b;
}

TEST(Encryption, AnEncryptedLocalStoreHoldsNoPlaintextAndRestoresExactly) {
  Encrypted e;
  auto before = describe(e.data);
  std::string name = e.backup();
  nlohmann::json cfg = nlohmann::json::parse(file_bytes(e.store / "config"));
  EXPECT_EQ(cfg["version"], 2);
  EXPECT_EQ(cfg["encryption"]["cipher"], "xchacha20poly1305-ietf");
  ASSERT_EQ(cfg["encryption"]["keys"].size(), 1u);
  EXPECT_EQ(cfg["encryption"]["keys"][0]["kdf"]["algorithm"], "argon2id13");
  std::string sealed = sealed_parts(e.store);
  // Neither file content, nor file names (manifests), nor snapshot names, nor the password.
  for (const std::string& plain : {kSecretText, std::string("secret-answer-file"), std::string("assign_data"),
                                   name, kPassword, std::string("MDBPACK2"), std::string("mephisto_backup")})
    EXPECT_EQ(sealed.find(plain), std::string::npos) << plain;
  for (const stdfs::path& p : packs(e.store)) EXPECT_EQ(file_bytes(p).substr(0, 8), "MDBPACKE") << p;

  write(e.data / "data" / "runs" / "secret-answer-file.txt", "changed");
  write(e.data / "later.txt", "later");
  RunResult r = e.run({"restore", "-f", name});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(diff(before, describe(e.data)), "");
  for (std::vector<std::string> args : {std::vector<std::string>{"verify"}, {"verify", "--read-data"}}) {
    r = e.run(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  // A second backup deduplicates: nothing new but the snapshot's own blobs.
  r = e.run({"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find(kPassword), std::string::npos);
  // The outputs never show the password.
  EXPECT_EQ((r.out + r.err).find(kPassword), std::string::npos);
}

// The blobs are compressed and sealed on a worker beside the walking thread (store/compressor.h),
// in batches, or in line with $MDB_THREADS=1: the packs hold the same data blobs in the same order
// either way (compared by their sizes and compression: the keys and nonces are random), and each
// store verifies and restores.
TEST(Encryption, PacksAreLaidOutTheSameSealedOnAWorkerOrInLine) {
  Encrypted e;
  for (size_t i = 0; i < 40; ++i)  // compressible and incompressible blobs, some of them chunked
    write(e.data / "data" / ("blob-" + std::to_string(i)),
          i % 2 ? random_bytes(1000 + i * 40000, i) : std::string(1000 + i * 40000, static_cast<char>('a' + i)));
  ::usleep(100'000);  // past the file cache's racy window (store/backup.cc)
  auto before = describe(e.data);
  // Each data blob's (raw size, compression, stored size), in the order of its pack's footer.
  // (Manifests and the snapshot hold times: they may differ by a byte between two backups.)
  auto data_blobs = [&](const stdfs::path& store) {
    nlohmann::json cfg = nlohmann::json::parse(file_bytes(store / "config"));
    const nlohmann::json& k = cfg["encryption"]["keys"][0];
    store::KdfParams kdf;
    kdf.salt = store::unhex(k["kdf"]["salt"].get<std::string>());
    kdf.opslimit = k["kdf"]["opslimit"].get<uint64_t>();
    kdf.memlimit = k["kdf"]["memlimit"].get<uint64_t>();
    std::optional<store::MasterKey> master = store::unwrap_master(
        kPassword, kdf, store::unhex(k["wrapped"].get<std::string>()),
        store::key_aad(cfg["id"].get<std::string>(), k["id"].get<std::string>()));
    EXPECT_TRUE(master.has_value());
    store::Crypto crypto(master.value_or(store::MasterKey()));
    std::vector<std::tuple<uint32_t, store::Compression, uint32_t>> out;
    for (const stdfs::path& p : packs(store)) {
      std::string bytes = file_bytes(p);
      for (const store::PackEntry& x : store::decode_footer(bytes, bytes.size(), p.string(), &crypto))
        if (x.type == store::BlobType::Data) out.emplace_back(x.raw_len, x.compression, x.stored_len);
    }
    return out;
  };
  std::vector<std::vector<std::tuple<uint32_t, store::Compression, uint32_t>>> sizes;
  std::vector<std::string> names;
  auto env = [&](const char* threads) {
    auto env = e.env;
    env["MDB_THREADS"] = threads;
    return env;
  };
  for (const char* threads : {"1", "2"}) {  // the same data dir backed up twice, nothing changed between
    stdfs::path store = e.tmp / (std::string("store-") + threads);
    RunResult r = mdb(e.data, store, {"--json", "--encrypt", "backup"}, env(threads));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    names.push_back(nlohmann::json::parse(r.out).value("snapshot", ""));
    sizes.push_back(data_blobs(store));
  }
  EXPECT_GE(sizes[0].size(), 40u);
  EXPECT_TRUE(sizes[0] == sizes[1]);
  for (const char* threads : {"1", "2"}) {
    stdfs::path store = e.tmp / (std::string("store-") + threads);
    RunResult r = mdb(e.data, store, {"verify", "--read-data"}, env(threads));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    write(e.data / "data" / "blob-3", "changed");
    r = mdb(e.data, store, {"restore", "-f", names[threads[0] - '1']}, env(threads));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(diff(before, describe(e.data)), "") << threads;
  }
}

TEST(Encryption, BlobIdsAreKeyedHashesNotSha256) {
  Encrypted e;
  DataAndStore plain;
  copy_tree(e.data, plain.data);
  e.backup();
  backup_snapshot(plain.data, plain.store);
  store::BlobId content = store::sha256(kSecretText);
  stdfs::path cached = e.tmp / "cache" / "mephisto-db" /
                       nlohmann::json::parse(file_bytes(e.store / "config"))["id"].get<std::string>();
  auto has = [&](const stdfs::path& store) {
    store::Index index = store::Index::open((store == e.store ? cached : store) / "index", false);
    return index.has_blob(index.read(), content);
  };
  EXPECT_TRUE(has(plain.store));
  EXPECT_FALSE(has(e.store));
}

// Content compared from outside the store (a data dir now, a backup zip) is cut and keyed as the
// store keys it, so `diff` sees no change where there is none.
TEST(Encryption, DiffComparesNowAndZipsWithTheKeyedIds) {
  Encrypted e;
  std::string name = e.backup();
  RunResult r = e.run({"--json", "backup", "--zip"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string zip = nlohmann::json::parse(r.out).value("zip", "");
  for (const std::string& other : {std::string("now"), zip}) {
    r = e.run({"diff", name, other});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // (a zip leaves out symlinks: removed, never changed)
    EXPECT_NE(r.out.find(", 0 changed;"), std::string::npos) << other << "\n" << r.out;
  }
}

TEST(Encryption, NoPasswordIsAUsageErrorNamingTheSources) {
  Encrypted e;
  e.backup();
  for (std::vector<std::string> args : {std::vector<std::string>{"snapshots"}, {"backup"}, {"verify"}}) {
    RunResult r = mdb(e.data, e.store, args, {{"MEPHISTO_PASSWORD", ""}});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    for (const char* source : {"MEPHISTO_PASSWORD", "--password-file", "--password-command", "terminal"})
      EXPECT_NE(r.err.find(source), std::string::npos) << source << "\n" << r.err;
  }
  // A new encrypted store without a password is not made at all.
  DataAndStore fresh;
  make_data_dir(fresh.data);
  RunResult r = mdb(fresh.data, fresh.store, {"--encrypt", "backup"}, {{"MEPHISTO_PASSWORD", ""}});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(stdfs::exists(fresh.store / "config"));
}

TEST(Encryption, AWrongPasswordIsOneLineAndChangesNothing) {
  Encrypted e;
  e.backup();
  write(e.data / "new.txt", "new");
  auto data_tree = [&] {  // the data-dir lock file names the last command's pid
    std::map<std::string, std::string> t = tree(e.data);
    t.erase(".mephisto-db/lock");
    return t;
  };
  auto store_tree = [&] {  // the store lock file names the last writer
    std::map<std::string, std::string> t = tree(e.store);
    t.erase("lock");
    return t;
  };
  std::map<std::string, std::string> store_before = store_tree(), data_before = data_tree();
  for (std::vector<std::string> args : {std::vector<std::string>{"snapshots"}, {"backup"}, {"prune", "--keep-last", "1"},
                                        {"key", "add"}, {"ls", "x"}}) {
    RunResult r = mdb(e.data, e.store, args, {{"MEPHISTO_PASSWORD", "wrong"}});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err.rfind("Error: Wrong password", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.find("wrong\n"), std::string::npos);
  }
  EXPECT_EQ(changed_paths(store_before, store_tree()), "");
  EXPECT_EQ(changed_paths(data_before, data_tree()), "");
}

// Each kind of store file, one byte changed: the command that reads it fails naming the file
// (or verify reports it), and nothing is decrypted into wrong bytes.
TEST(Encryption, AChangedByteOfEveryStoreFileIsDamageNamedByItsFile) {
  // The config: a value covered by its mac.
  {
    Encrypted c;
    c.backup();
    std::string text = file_bytes(c.store / "config");
    size_t at = text.find("\"cdc_min\": ");
    ASSERT_NE(at, std::string::npos);
    flip(c.store / "config", at + 12);
    RunResult r = c.run({"snapshots"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("config"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("is damaged"), std::string::npos) << r.err;
  }
  // A blob's ciphertext is damage verify --read-data names by pack and blob; a restore never
  // writes wrong bytes. A record header or the footer loses no blob (the other of the two still
  // locates it): a note naming the pack, as in a plain store (docs/DAMAGE.md).
  Encrypted big;
  std::string payload = random_bytes(200000, 7);
  write(big.data / "data" / "runs" / "upload.bin", payload);
  std::string snap = big.backup();
  std::vector<stdfs::path> all = packs(big.store);
  ASSERT_FALSE(all.empty());
  stdfs::path biggest = *std::max_element(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return stdfs::file_size(a) < stdfs::file_size(b);
  });
  std::string pack_name = biggest.filename().string();
  uint64_t size = stdfs::file_size(biggest);
  struct Case {
    uint64_t offset;
    int verify_exit;
    const char* says;
  };
  for (Case c : {Case{size / 2, 1, "does not decrypt"}, Case{8 + 30, 0, "checksum mismatch"},
                 Case{size - 52 - 20, 0, "footer"}}) {
    Encrypted d;
    copy_tree(big.store, d.store);
    copy_tree(big.data, d.data);
    flip(d.store / stdfs::relative(biggest, big.store), c.offset);
    RunResult r = d.run({"verify", "--read-data"});
    EXPECT_EQ(r.exit_code, c.verify_exit) << c.offset << r.out << r.err;
    EXPECT_NE((r.out + r.err).find(pack_name), std::string::npos) << c.offset << r.out << r.err;
    EXPECT_NE((r.out + r.err).find(c.says), std::string::npos) << c.offset << r.out << r.err;
    write(d.data / "data" / "runs" / "upload.bin", "changed");
    r = d.run({"restore", "-f", snap});
    std::string now = file_bytes(d.data / "data" / "runs" / "upload.bin");
    EXPECT_TRUE(now == payload || now == "changed") << c.offset << ": " << now.size();
    if (c.verify_exit == 0) {
      EXPECT_EQ(now, payload) << c.offset;
    }
  }
}

// A pin (an interrupted change's record, docs/PRUNE.md) is sealed and named by a keyed hash; a
// changed byte of it is damage naming it, and an intact one still rolls the change back.
TEST(Encryption, APinIsSealedAndAChangedOneIsDamageNamingIt) {
  Encrypted e;
  e.backup();
  store::set_key_access({[](store::PasswordFor, const std::string&) { return kPassword; }, {}});
  pid_t pid = ::fork();
  if (pid == 0) {  // an import that dies after marking its change
    ::setenv("XDG_CACHE_HOME", (e.tmp / "cache").c_str(), 1);  // the store's cache, as the binary's
    mdb::Console console{false, true};
    mdb::Context ctx{mdb::GlobalOptions{e.data.string(), (e.tmp / "outputs").string(), e.store.string(), false, true},
                     console};
    auto* change = new mdb::AtomicChange(ctx, mdb::DataDir(e.data), "import");
    write(e.data / "new" / "file.txt", "x");
    change->record_created("new");
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(std::distance(stdfs::directory_iterator(e.store / "pins"), stdfs::directory_iterator()), 1);
  stdfs::path pin = stdfs::directory_iterator(e.store / "pins")->path();
  std::string sealed = file_bytes(pin);
  for (const std::string& plain : {e.data.string(), std::string("import"), std::string("_before_")})
    EXPECT_EQ(sealed.find(plain), std::string::npos) << plain;
  EXPECT_EQ(pin.filename().string().find(store::sha256(e.data.string()).hex().substr(0, 32)), std::string::npos);

  DataAndStore copy;
  copy_tree(e.store, copy.store);
  flip(copy.store / "pins" / pin.filename(), sealed.size() / 2);
  RunResult r = mdb(copy.tmp / "other", copy.store, {"prune", "--dry-run", "--keep-last", "1"}, e.env);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(pin.filename().string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not decrypt"), std::string::npos) << r.err;

  r = e.run({"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Rolled back an interrupted `mephisto db import`"), std::string::npos) << r.err;
  EXPECT_FALSE(stdfs::exists(e.data / "new"));
  EXPECT_FALSE(stdfs::exists(pin));
}

}  // namespace
}  // namespace mdb::test
