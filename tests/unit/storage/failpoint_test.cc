// BRFED_CRASH_AFTER_RECORDS: the process dies by SIGKILL right after the batch holding the Nth
// record is durable, before anyone is told.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>

#include "storage/journal.h"
#include "tests/unit/storage/test_util.h"

namespace brfed::storage {
namespace {

using testing::AttemptStarted;
using testing::ScratchDir;
using testing::Started;

TEST(FailpointDeathTest, KillsTheProcessRightAfterTheNthRecordIsDurable) {
  ScratchDir scratch;
  JournalOptions o;
  o.dir = scratch.Sub("j");
  // The child (a fork: it shares `scratch`) appends one record at a time and must die inside
  // the third Append, whose record is durable but not acknowledged.
  EXPECT_EXIT(
      {
        ::setenv("BRFED_CRASH_AFTER_RECORDS", "3", 1);
        Result<std::unique_ptr<Journal>> j = OpenJournal(o);
        if (!j.ok()) std::_Exit(10);
        for (uint64_t seq = 1; seq <= 5; ++seq) {
          Event e = seq == 1 ? Started() : AttemptStarted(seq);
          if (!(*j)->Append({{"r", e}}).ok()) std::_Exit(11);
          if (seq >= 3) std::_Exit(12);  // acknowledged: the failpoint did not fire
        }
        std::_Exit(13);
      },
      ::testing::KilledBySignal(SIGKILL), "");

  Result<std::unique_ptr<Journal>> j = OpenJournal(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  Result<std::vector<Event>> got = (*j)->ReadRun("r");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), 3u);
}

TEST(FailpointTest, ABadValueIsRefusedAtOpen) {
  ScratchDir scratch;
  JournalOptions o;
  o.dir = scratch.Sub("j");
  for (const char* bad : {"", "0", "x", "-1", "3x"}) {
    SCOPED_TRACE(bad);
    ::setenv("BRFED_CRASH_AFTER_RECORDS", bad, 1);
    Result<std::unique_ptr<Journal>> j = OpenJournal(o);
    ::unsetenv("BRFED_CRASH_AFTER_RECORDS");
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(j.status().message().find("BRFED_CRASH_AFTER_RECORDS"), std::string::npos);
  }
}

}  // namespace
}  // namespace brfed::storage
