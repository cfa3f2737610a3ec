// Backup reads the databases before the walk (issue 16, docs/store.md "backup"): their chunks are
// the first blobs of the pack, whatever the thread count, while the manifest keeps path order; and
// a database is read first only where the walk would read it: never through a symlinked directory.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store/backend.h"
#include "store/chunker.h"
#include "store/pack.h"
#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using store::PackEntry;

// The blob ids of a file's bytes cut as a database is (kDatabaseChunk pieces): a plain store's
// ids are the SHA-256 of each piece.
std::vector<store::BlobId> database_chunks(const stdfs::path& db) {
  std::string bytes = read(db);
  std::vector<store::BlobId> out;
  for (size_t at = 0; at < bytes.size(); at += store::kDatabaseChunk)
    out.push_back(store::sha256(std::string_view(bytes).substr(at, store::kDatabaseChunk)));
  return out;
}

// Every pack of `store`: its name and its blobs in the order they were added.
std::map<std::string, std::vector<PackEntry>> packs(const stdfs::path& store) {
  std::map<std::string, std::vector<PackEntry>> out;
  auto backend = store::Backend::open(store);
  for (const auto& e : stdfs::directory_iterator(store / "packs"))
    out[e.path().filename()] = store::read_footer(*backend, e.path().filename());
  return out;
}

std::string pack_holding(const std::map<std::string, std::vector<PackEntry>>& all, const store::BlobId& id) {
  for (const auto& [name, entries] : all)
    for (const PackEntry& e : entries)
      if (e.id == id) return name;
  return "";
}

TEST(DatabasesFirst, TheirChunksLeadThePackWhateverTheThreads) {
  DataAndStore d;
  make_data_dir(d.data);
  write(d.data / "aaa.txt", "sorts before database.db");  // as data/ does: the walk meets it first
  std::vector<store::BlobId> first = database_chunks(d.data / "database.db");
  std::vector<store::BlobId> mock = database_chunks(d.data / "mock" / "mock.db");
  first.insert(first.end(), mock.begin(), mock.end());
  std::string pack_of[2];
  for (int threads : {1, 2}) {
    stdfs::path store = d.tmp / ("store" + std::to_string(threads));
    RunResult r = mdb(d.data, store, {"--json", "backup"}, {{"MDB_THREADS", std::to_string(threads)}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto all = packs(store);
    std::string name = pack_holding(all, first.front());
    ASSERT_FALSE(name.empty());
    const std::vector<PackEntry>& entries = all[name];
    ASSERT_GT(entries.size(), first.size());
    for (size_t i = 0; i < first.size(); ++i)
      EXPECT_EQ(entries[i].id.hex(), first[i].hex()) << "blob " << i << " of pack " << name << ", threads " << threads;
    EXPECT_EQ(pack_holding(all, store::sha256("sorts before database.db")), name);  // after them
    pack_of[threads - 1] = name;  // named by its checksum
  }
  EXPECT_EQ(pack_of[0], pack_of[1]) << "the same pack bytes with one thread or two";
  // The manifest is in path order: the file read last comes first.
  RunResult ls = mdb(d.data, d.tmp / "store2", {"--json", "ls", "latest"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  nlohmann::json entries = nlohmann::json::parse(ls.out)["entries"];
  ASSERT_GT(entries.size(), 3u);
  EXPECT_EQ(entries[0]["path"], "aaa.txt");
}

TEST(DatabasesFirst, NotReadThroughASymlinkedDirectory) {
  DataAndStore d;
  make_data_dir(d.data);
  stdfs::path outside = d.tmp / "outside";
  stdfs::rename(d.data / "mock", outside);
  stdfs::create_directory_symlink(outside, d.data / "mock");
  std::vector<store::BlobId> outside_chunks = database_chunks(outside / "mock.db");
  RunResult r = mdb(d.data, d.store, {"--json", "backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["files_read"], 6) << r.out;  // database.db and the five files
  auto all = packs(d.store);
  EXPECT_FALSE(pack_holding(all, database_chunks(d.data / "database.db").front()).empty());
  for (const store::BlobId& id : outside_chunks) EXPECT_EQ(pack_holding(all, id), "") << id.hex();
}

}  // namespace
}  // namespace mdb::test
