// Disk full, I/O errors and short writes while exporting (MDB_FAULT at sampled points of the
// file layer): the export fails with exit 1 naming the problem, leaves no zip, no partial file and
// no temp dir behind, and the data dir is untouched. A kill leaves at most leftovers that the next
// export removes.
#include <gtest/gtest.h>

#include <set>

#include "tests/export/export_support.h"

namespace mdb::test {
namespace {

class ExportFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = unpack(s1_backup(), tmp_.path());
    // A first export creates what every later one finds (our .mephisto-db folder), so the counted
    // run passes the same fault points as the runs with faults.
    ASSERT_EQ(export_dump(data_, tmp_ / "warm", {"-qo"}).exit_code, 0);
    before_ = state_of(data_);
    stdfs::path count = tmp_ / "count";
    RunResult ok = export_dump(data_, tmp_ / "counted", {}, "", {{"MDB_FAULT_COUNT", count.string()}});
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    points_ = std::stoi(read(count));
  }
  std::set<int> sample(int n) const {
    std::set<int> out;
    for (int i = 0; i < n; ++i) out.insert(1 + (points_ - 1) * i / (n - 1));
    return out;
  }
  TempDir tmp_;
  stdfs::path data_;
  std::map<std::string, std::string> before_;
  int points_ = 0;
};

TEST_F(ExportFaults, DiskFullIOErrorAndShortWriteLeaveNothingBehind) {
  ASSERT_GT(points_, 20);
  int i = 0;
  for (const std::string kind : {"enospc", "eio", "short"}) {
    for (int n : sample(kind == "enospc" ? 24 : 8)) {
      SCOPED_TRACE(kind + "@" + std::to_string(n));
      stdfs::path out = tmp_ / ("o" + std::to_string(i++));
      RunResult r = export_dump(data_, out, {}, "", {{"MDB_FAULT", kind + "@" + std::to_string(n)}});
      if (kind == "short" && r.exit_code == 0) {  // the point was no write: nothing to shorten
        EXPECT_NO_THROW(read_dump(dump_zips(out).at(0)));
        continue;
      }
      EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
      EXPECT_NE(r.err.find(kind == "enospc" ? "No space left on device" : "Input/output error"), std::string::npos)
          << r.err;
      std::vector<std::string> left =
          stdfs::exists(out / "export") ? listing(out / "export") : std::vector<std::string>{};
      EXPECT_EQ(left, std::vector<std::string>{});
    }
  }
  EXPECT_EQ(state_of(data_), before_);
}

TEST_F(ExportFaults, AKilledExportsLeftoversAreRemovedByTheNextExport) {
  stdfs::path out = tmp_ / "killed";
  RunResult killed = export_dump(data_, out, {}, "", {{"MDB_FAULT", "kill@" + std::to_string(points_ - 3)}});
  ASSERT_EQ(killed.exit_code, -9);
  EXPECT_TRUE(dump_zips(out).empty());
  EXPECT_FALSE(listing(out / "export").empty());  // a partial zip and our temp dir
  ASSERT_EQ(export_dump(data_, out, {"-qo"}).exit_code, 0);
  std::vector<std::string> left = listing(out / "export");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(stdfs::path(left[0]).extension(), ".zip");
  EXPECT_EQ(state_of(data_), before_);
}

}  // namespace
}  // namespace mdb::test
