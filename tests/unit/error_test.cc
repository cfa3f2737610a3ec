// Error kinds and their exit codes (docs/EXIT_CODES.md); the outcome sentence, added once.
#include <gtest/gtest.h>

#include <csignal>

#include "base/error.h"
#include "base/interrupt.h"

namespace mdb {
namespace {

TEST(Error, EachKindMapsToItsExitCode) {
  EXPECT_EQ(exit_code_of(ErrorKind::Usage), 2);
  for (ErrorKind k : {ErrorKind::Failure, ErrorKind::NotFound, ErrorKind::Damaged, ErrorKind::Busy,
                      ErrorKind::Conflict, ErrorKind::Io})
    EXPECT_EQ(exit_code_of(k), 1) << kind_name(k);
  EXPECT_EQ(exit_code_of(ErrorKind::Interrupted, SIGINT), 130);
  EXPECT_EQ(exit_code_of(ErrorKind::Interrupted, SIGTERM), 143);
  EXPECT_EQ(exit_code_of(ErrorKind::Interrupted, SIGHUP), 129);
  EXPECT_EQ(interrupt::Interrupted(SIGTERM).exit_code(), 143);
  EXPECT_EQ(Error("x").exit_code(), 1);
  EXPECT_EQ(Error("x", ErrorKind::Busy).exit_code(), 1);
  EXPECT_EQ(UsageError("x").exit_code(), 2);
  EXPECT_EQ(UsageError("x").kind(), ErrorKind::Usage);
}

TEST(Error, KindNamesAreTheJsonWords) {
  EXPECT_EQ(kind_name(ErrorKind::Failure), "failure");
  EXPECT_EQ(kind_name(ErrorKind::Usage), "usage");
  EXPECT_EQ(kind_name(ErrorKind::NotFound), "not_found");
  EXPECT_EQ(kind_name(ErrorKind::Damaged), "damaged");
  EXPECT_EQ(kind_name(ErrorKind::Busy), "busy");
  EXPECT_EQ(kind_name(ErrorKind::Conflict), "conflict");
  EXPECT_EQ(kind_name(ErrorKind::Io), "io");
  EXPECT_EQ(kind_name(ErrorKind::Interrupted), "interrupted");
}

TEST(Error, WithOutcomeAddsTheSentenceOnceAndKeepsTheKind) {
  EXPECT_STREQ(Error("bad row").with_outcome("Nothing was imported.").what(), "bad row. Nothing was imported.");
  EXPECT_STREQ(Error("bad row.").with_outcome("Nothing was imported.").what(), "bad row. Nothing was imported.");
  EXPECT_STREQ(Error("cannot:\n  - a").with_outcome("Nothing was imported.").what(),
               "cannot:\n  - a\nNothing was imported.");
  Error inner = Error("The dump was written.", ErrorKind::Conflict).with_outcome("Nothing was deleted.");
  Error outer = inner.with_outcome("Nothing was exported.");
  EXPECT_STREQ(outer.what(), "The dump was written. Nothing was deleted.");
  EXPECT_EQ(outer.kind(), ErrorKind::Conflict);
  EXPECT_EQ(outer.message(), "The dump was written.");
  EXPECT_EQ(Error("x", ErrorKind::Io).with_outcome("y.").exit_code(), 1);
}

TEST(Error, WithAdviceKeepsTheOutcomeLastAndSaysTheRemedy) {
  Error e("The index is damaged.", ErrorKind::Damaged, Remedy::RebuildIndex);
  Error done = e.with_advice(" Rebuild it.").with_outcome("Nothing was changed.");
  EXPECT_STREQ(done.what(), "The index is damaged. Rebuild it. Nothing was changed.");
  EXPECT_EQ(done.remedy(), Remedy::None);
  EXPECT_EQ(done.kind(), ErrorKind::Damaged);
}

}  // namespace
}  // namespace mdb
