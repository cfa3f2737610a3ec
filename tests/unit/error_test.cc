// with_outcome: one "Nothing was ..." sentence per message, whichever layer adds it.
#include <gtest/gtest.h>

#include "base/error.h"

namespace mdb {
namespace {

TEST(Error, WithOutcomeAddsTheSentenceOnceAndKeepsTheExitCode) {
  EXPECT_STREQ(with_outcome(Error("bad row"), "Nothing was imported.").what(), "bad row. Nothing was imported.");
  EXPECT_STREQ(with_outcome(Error("bad row."), "Nothing was imported.").what(), "bad row. Nothing was imported.");
  Error already("Cannot read the zip x.zip. Nothing was changed.");
  EXPECT_STREQ(with_outcome(already, "Nothing was imported.").what(), already.what());
  EXPECT_EQ(with_outcome(UsageError("no such resolver"), "Nothing was imported.").exit_code(), 2);
}

}  // namespace
}  // namespace mdb
