// A restore decodes blobs ahead on worker threads (store/decode_ahead.h, docs/store.md "Decoding ahead"): through
// the real binary, an encrypted snapshot of several hundred files restores to the same tree with
// MDB_THREADS=2 (blobs decoded before their file was written: `restore --json` counts them) and
// with MDB_THREADS=1 (none); and restore --only gives a hard link whose file is outside the
// subtree its content, decoded ahead as well.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using Json = nlohmann::json;

struct Site : DataAndStore {
  SchemaCheck schema;
  std::map<std::string, std::string> env = {{"MEPHISTO_PASSWORD", "decode ahead test"},
                                            {"XDG_CACHE_HOME", (tmp / "cache").string()}};
  std::string snapshot;
  // A sample data dir with 150 small files, one of several chunks and a hard link to it, backed
  // up into an encrypted store.
  Site() {
    RunResult r = run(sample_binary(), {"--out", data.string(), "--seed", "5", "--task-runs", "3", "--units-per-run",
                                        "10", "--media-fraction", "0.3"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (int i = 0; i < 150; ++i) write(data / "extra" / "wide" / ("f" + std::to_string(i)), std::to_string(i * i));
    write(data / "extra" / "big", random_bytes(3u << 20, 7));
    stdfs::create_directories(data / "extra" / "links");
    stdfs::create_hard_link(data / "extra" / "big", data / "extra" / "links" / "big");
    Json j = json({"--encrypt", "backup"}, env);
    snapshot = j.value("snapshot", "");
  }
  Json json(std::vector<std::string> args, std::map<std::string, std::string> with) {
    args.insert(args.begin(), "--json");
    return schema.parse(mdb(data, store, args, with));
  }
  Json restore(const stdfs::path& target, const std::string& threads, std::vector<std::string> more = {}) {
    std::map<std::string, std::string> with = env;
    with["MDB_THREADS"] = threads;
    std::vector<std::string> args = {"restore", "-f", snapshot, "--target", target.string()};
    args.insert(args.end(), more.begin(), more.end());
    return json(args, with);
  }
};

TEST(DecodeAhead, WorkersDecodeAheadAndTheTreeIsTheSameAsSerially) {
  Site s;
  auto backed_up = describe(s.data);
  ASSERT_GT(backed_up.size(), 300u);
  Json many = s.restore(s.tmp / "many", "2");
  Json one = s.restore(s.tmp / "one", "1");
  EXPECT_GT(many["blobs_decoded_ahead"].get<uint64_t>(), 0u) << many.dump();
  EXPECT_EQ(one["blobs_decoded_ahead"].get<uint64_t>(), 0u) << one.dump();
  EXPECT_EQ(many["files"], one["files"]);
  EXPECT_EQ(many["hard_links"].get<int>(), 1);
  EXPECT_EQ(diff(describe(s.tmp / "many"), backed_up), "");
  EXPECT_EQ(diff(describe(s.tmp / "one"), backed_up), "");
}

TEST(DecodeAhead, OnlyGivesAHardLinkWhoseFileIsOutsideItsContent) {
  Site s;
  Json j = s.restore(s.tmp / "only", "2", {"--only", "extra/links"});
  EXPECT_EQ(j["files"].get<int>(), 1) << j.dump();
  EXPECT_EQ(read(s.tmp / "only" / "extra" / "links" / "big"), read(s.data / "extra" / "big"));
  EXPECT_FALSE(stdfs::exists(s.tmp / "only" / "extra" / "big"));
}

}  // namespace
}  // namespace mdb::test
