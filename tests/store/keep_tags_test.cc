// Keep policies, tags and forget through the real binary (docs/PRUNE.md): --keep-hourly/daily/
// weekly/monthly/yearly go by local time (TZ is set; the clock is set with MDB_FAULT_CLOCK),
// backup --tag is stored and shown, --tag filters snapshots, prune and restore -f latest,
// forget NAME frees what only that snapshot held and refuses a pinned one, and the snapshots
// table fits 100 columns. Every --json object is validated against docs/json-schema.json.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/tree_util.h"

namespace mdb::test {
namespace {

using Json = nlohmann::json;

std::vector<std::string> strings(const Json& a) {
  std::vector<std::string> out;
  for (const Json& s : a) out.push_back(s.get<std::string>());
  return out;
}

std::vector<std::string> names_of(const Json& snapshots) {
  std::vector<std::string> out;
  for (const Json& s : snapshots) out.push_back(s["name"].get<std::string>());
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

struct Store {
  DataAndStore d;
  SchemaCheck schema;
  Store() { make_data_dir(d.data); }

  // `mephisto db ARGS` in Paris, at `clock` (seconds since the epoch) when given.
  RunResult db(std::vector<std::string> args, int64_t clock = 0) {
    std::map<std::string, std::string> env = {{"TZ", "Europe/Paris"}};
    if (clock) env["MDB_FAULT_CLOCK"] = std::to_string(clock);
    return mdb(d.data, d.store, std::move(args), env);
  }
  Json json(std::vector<std::string> args, int64_t clock = 0, int exit_code = 0) {
    args.insert(args.begin(), "--json");
    SCOPED_TRACE(args[1]);
    return schema.parse(db(args, clock), exit_code);
  }
  std::string backup(int64_t clock, std::vector<std::string> tags = {}) {
    std::vector<std::string> args = {"backup"};
    for (const std::string& t : tags) args.insert(args.end(), {"--tag", t});
    return json(args, clock).value("snapshot", "");
  }
};

// Paris local times (CET/CEST) as seconds since the epoch.
constexpr int64_t k2024_06_01_1200 = 1717236000;
constexpr int64_t k2025_03_01_1200 = 1740826800;
constexpr int64_t k2025_03_15_1200 = 1742036400;
constexpr int64_t k2025_04_01_0900 = 1743490800;
constexpr int64_t k2025_04_01_1800 = 1743523200;
constexpr int64_t k2025_04_02_0030 = 1743546600;  // still 1 April in UTC
constexpr int64_t k2025_04_02_0930 = 1743579000;
constexpr int64_t k2025_04_02_0945 = 1743579900;
constexpr int64_t k2025_04_03_1200 = 1743674400;

TEST(KeepPolicies, CalendarRulesKeepTheNewestOfEachLocalHourDayWeekMonthYear) {
  Store s;
  std::vector<std::string> b;
  for (int64_t t : {k2024_06_01_1200, k2025_03_01_1200, k2025_03_15_1200, k2025_04_01_0900, k2025_04_01_1800,
                    k2025_04_02_0030, k2025_04_02_0930, k2025_04_02_0945})
    b.push_back(s.backup(t));
  ASSERT_EQ(b[0], "2024_06_01_12_00_00_mephisto_backup");  // local time names
  auto kept = [&](std::vector<std::string> rule) {
    rule.insert(rule.begin(), "prune");
    rule.push_back("--dry-run");
    return strings(s.json(rule, k2025_04_03_1200)["kept"]);
  };
  using V = std::vector<std::string>;
  // 00:30 on 2 April in Paris is 1 April in UTC: in UTC the newest of 1 April would be b[5].
  EXPECT_EQ(kept({"--keep-daily", "2"}), (V{b[4], b[7]}));
  EXPECT_EQ(kept({"--keep-hourly", "2"}), (V{b[5], b[7]}));
  EXPECT_EQ(kept({"--keep-weekly", "2"}), (V{b[2], b[7]}));  // ISO weeks 14 and 11
  EXPECT_EQ(kept({"--keep-monthly", "2"}), (V{b[2], b[7]}));
  EXPECT_EQ(kept({"--keep-monthly", "3"}), (V{b[0], b[2], b[7]}));
  EXPECT_EQ(kept({"--keep-yearly", "2"}), (V{b[0], b[7]}));
  EXPECT_EQ(kept({"--keep-yearly", "9"}), (V{b[0], b[7]}));  // only years that have one count
  EXPECT_EQ(kept({"--keep-last", "3"}), (V{b[5], b[6], b[7]}));
  EXPECT_EQ(kept({"--keep-within", "2d"}), (V{b[4], b[5], b[6], b[7]}));
  EXPECT_EQ(kept({"--keep-daily", "2", "--keep-yearly", "2"}), (V{b[0], b[4], b[7]}));

  Json dry = s.json({"prune", "--dry-run", "--keep-daily", "1", "--keep-monthly", "2"}, k2025_04_03_1200);
  EXPECT_EQ(dry["kept_why"][b[7]], "newest, daily, monthly") << dry.dump();
  EXPECT_EQ(dry["kept_why"][b[2]], "monthly") << dry.dump();
  Json real = s.json({"prune", "--keep-daily", "1", "--keep-monthly", "2"}, k2025_04_03_1200);
  EXPECT_EQ(real["kept"], dry["kept"]);
  EXPECT_EQ(real["bytes_freed"], dry["bytes_freed"]);
  EXPECT_EQ(strings(real["kept"]), (V{b[2], b[7]}));
  EXPECT_EQ(names_of(s.json({"snapshots"})["snapshots"]), (V{b[2], b[7]}));
  EXPECT_EQ(s.db({"verify", "--read-data"}).exit_code, 0);

  RunResult bad = s.db({"prune", "--keep-daily", "0"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--keep-daily"), std::string::npos) << bad.err;
}

TEST(KeepPolicies, TagsAreStoredShownAndFilterSnapshotsPruneAndRestore) {
  Store s;
  std::string b1 = s.backup(k2025_03_01_1200, {"keep", "m"});
  write(s.d.data / "n.txt", "2");
  std::string b2 = s.backup(k2025_03_15_1200, {"nightly", "nightly"});
  write(s.d.data / "n.txt", "3");
  std::string b3 = s.backup(k2025_04_01_0900, {"nightly"});
  write(s.d.data / "n.txt", "4");
  std::string b4 = s.backup(k2025_04_01_1800);
  std::string before = s.json({"-y", "restore", "-f", b4}, k2025_04_02_0930).value("snapshot_before", "");
  ASSERT_FALSE(before.empty());

  Json list = s.json({"snapshots"});
  ASSERT_EQ(list["snapshots"].size(), 5u);
  EXPECT_EQ(list["snapshots"][0]["tags"], (Json{"keep", "m"}));
  EXPECT_EQ(list["snapshots"][1]["tags"], (Json{"nightly"}));  // a repeated --tag once
  EXPECT_EQ(list["snapshots"][3]["tags"], Json::array());
  EXPECT_EQ(list["snapshots"][4]["tags"], Json::array());
  EXPECT_EQ(names_of(s.json({"snapshots", "--tag", "nightly"})["snapshots"]), (std::vector<std::string>{b2, b3}));

  // The table: a kind column, local time with its zone, tags, a count; 100 columns at most.
  RunResult table = s.db({"snapshots"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::vector<std::string> rows = lines(table.out);
  ASSERT_EQ(rows.size(), 7u) << table.out;
  EXPECT_EQ(rows[0].substr(0, 4), "name");
  EXPECT_NE(rows[0].find("  kind  "), std::string::npos) << table.out;
  EXPECT_NE(rows[1].find(b1 + "  2025-03-01 12:00:00 CET   backup  "), std::string::npos) << table.out;
  EXPECT_NE(rows[1].find("  keep,m"), std::string::npos) << table.out;
  EXPECT_NE(rows[5].find(" CEST  before_restore  "), std::string::npos) << table.out;
  EXPECT_EQ(rows[6], "5 snapshots");
  for (const std::string& row : rows) EXPECT_LE(row.size(), 100u) << row;
  RunResult tagged = s.db({"snapshots", "--tag", "keep"});
  EXPECT_EQ(lines(tagged.out).back(), "1 snapshot with the tag keep") << tagged.out;
  // A line longer than 100 columns (long tags) is cut; --json has them whole.
  std::string long_tag(60, 't');
  std::string latest_tagged = s.backup(k2025_04_02_0945, {long_tag});
  rows = lines(s.db({"snapshots"}).out);
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[6].size(), 100u) << rows[6];
  EXPECT_EQ(rows[6].substr(97), "...") << rows[6];
  EXPECT_EQ(s.json({"snapshots", "--tag", long_tag})["snapshots"][0]["tags"][0], long_tag);
  EXPECT_EQ(s.db({"backup", "--tag", "a,b"}).exit_code, 2);
  EXPECT_EQ(s.db({"backup", "--tag", ""}).exit_code, 2);

  // --keep-tag keeps what has the tag; --tag leaves the other snapshots (and automatic ones) be.
  Json dry = s.json({"prune", "--dry-run", "--keep-last", "1", "--keep-tag", "keep", "--keep-auto", "0"});
  EXPECT_EQ(strings(dry["forgotten"]), (std::vector<std::string>{b2, b3, b4, before}));
  dry = s.json({"prune", "--dry-run", "--tag", "nightly", "--keep-last", "1", "--keep-auto", "0"});
  EXPECT_EQ(strings(dry["forgotten"]), (std::vector<std::string>{b2}));
  EXPECT_EQ(strings(dry["kept"]), (std::vector<std::string>{b1, b3, b4, before, latest_tagged}));

  // restore -f latest: the newest backup, with --tag the newest with that tag.
  Json r = s.json({"-y", "restore", "-f", "latest", "--tag", "nightly", "--dry-run"});
  EXPECT_EQ(r["snapshot"], b3);
  r = s.json({"-y", "restore", "-f", "latest", "--dry-run"});
  EXPECT_EQ(r["snapshot"], latest_tagged);
  r = s.json({"-y", "restore", "-f", b4, "--tag", "nightly"}, 0, 1);
  EXPECT_EQ(r["kind"], "not_found") << r.dump();
  r = s.json({"-y", "restore", "-f", "latest", "--tag", "nosuch"}, 0, 1);
  EXPECT_EQ(r["kind"], "not_found") << r.dump();
}

TEST(Forget, ForgetsTheNamedSnapshotsFreesWhatOnlyTheyHeldAndRefusesPinnedOnes) {
  Store s;
  write(s.d.data / "big.bin", random_bytes(300000, 7));
  std::string b1 = s.backup(k2025_03_01_1200);
  stdfs::remove(s.d.data / "big.bin");
  std::string b2 = s.backup(k2025_03_15_1200);
  std::string b3 = s.backup(k2025_04_01_0900);
  auto before = tree(s.d.store);

  Json dry = s.json({"forget", b1, "--dry-run"});
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(strings(dry["forgotten"]), (std::vector<std::string>{b1}));
  EXPECT_GT(dry["bytes_freed"].get<uint64_t>(), 250000u) << dry.dump();
  auto after_dry = tree(s.d.store);
  after_dry.erase("index/lock.mdb");
  before.erase("index/lock.mdb");
  EXPECT_EQ(after_dry, before) << "a dry run changed the store";

  // Unknown names: nothing forgotten, the closest named.
  Json unknown = s.json({"forget", b1, b2 + "x"}, 0, 1);
  EXPECT_EQ(unknown["kind"], "not_found");
  EXPECT_NE(unknown["error"].get<std::string>().find("Did you mean " + b2), std::string::npos) << unknown.dump();

  // A pinned snapshot (an interrupted change of a data dir that cannot be seen needs it).
  Json pin = {{"store", s.d.store.string()}, {"data_dir", (s.d.tmp / "gone").string()}, {"snapshot", b2},
              {"command", "import"}, {"pid", 1}, {"host", "elsewhere"}, {"started", "2025-03-15 12:00:00"}};
  write(s.d.store / "pins" / "0123456789abcdef0123456789abcdef.json", pin.dump(2));
  Json refused = s.json({"forget", b1, b2}, 0, 1);
  EXPECT_EQ(refused["kind"], "conflict") << refused.dump();
  EXPECT_NE(refused["error"].get<std::string>().find(b2 + " cannot be forgotten"), std::string::npos)
      << refused.dump();
  EXPECT_EQ(s.json({"snapshots"})["snapshots"].size(), 3u);

  Json real = s.json({"forget", b1});
  EXPECT_EQ(strings(real["forgotten"]), (std::vector<std::string>{b1}));
  EXPECT_EQ(strings(real["kept"]), (std::vector<std::string>{b2, b3}));
  EXPECT_EQ(real["bytes_freed"], dry["bytes_freed"]);
  EXPECT_EQ(s.db({"verify", "--read-data"}).exit_code, 0);
  RunResult text = s.db({"forget", b3});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Forgot 1 of 2 snapshots:"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace mdb::test

namespace mdb::test {
namespace {

// `latest` names the newest user backup of the data dir in every command that takes a snapshot
// name, as `restore -f latest` does: an automatic snapshot taken later is not it.
TEST(Latest, EveryCommandThatNamesASnapshotTakesLatestAsTheNewestBackup) {
  Store s;
  std::string b1 = s.backup(k2025_03_01_1200);
  write(s.d.data / "new.txt", "one more file");
  std::string b2 = s.backup(k2025_03_15_1200);
  EXPECT_EQ(s.json({"-y", "restore", "-f", b1}, k2025_04_01_0900)["snapshot"], b1);  // takes an automatic one
  EXPECT_EQ(s.json({"ls", "latest"})["snapshot"], b2);
  EXPECT_EQ(s.json({"stats", "latest"})["snapshot"], b2);
  EXPECT_EQ(strings(s.json({"forget", "latest", "--dry-run"})["forgotten"]), (std::vector<std::string>{b2}));
  Json d = s.json({"diff", b1, "latest"});
  EXPECT_EQ(d["b"]["name"], b2) << d.dump();
  EXPECT_EQ(d["files_added"], 1) << d.dump();
  ASSERT_EQ(d["changes"].size(), 1u) << d.dump();
  EXPECT_EQ(d["changes"][0]["path"], "new.txt");
  Json c = s.json({"copy", "--to", (s.d.tmp / "other").string(), "latest"});
  EXPECT_EQ(names_of(c["snapshots"]), (std::vector<std::string>{b2}));
}

TEST(Latest, WithoutABackupLatestNamesNoneAndSaysSo) {
  Store s;
  Json r = s.json({"ls", "latest"}, 0, 1);
  EXPECT_EQ(r["kind"], "not_found") << r.dump();
  RunResult p = s.db({"ls", "latest"});
  EXPECT_NE(p.err.find("latest"), std::string::npos) << p.err;
}

}  // namespace
}  // namespace mdb::test
