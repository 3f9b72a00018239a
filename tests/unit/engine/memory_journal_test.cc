// MemoryJournal keeps the Journal contract (include/brfed/journal.h) the way the LevelDB
// journal does: seq order, the active index, caps, retention, definitions, verification.

#include "engine/memory_journal.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace brfed {
namespace {

using std::chrono::hours;

const TimePoint kT0 = FromUnixMillis(1'700'000'000'000);

Event Rec(EventType type, uint64_t seq) {
  Event e;
  e.type = type;
  e.seq = seq;
  e.time = kT0;
  if (type == EventType::kRunStarted) {
    e.start.mut() =
        RunStart{.workflow_name = "wf", .definition_hash = "h1", .params = Value::Map{}};
  } else if (type != EventType::kRunFinished && type != EventType::kCancelRequested) {
    e.step_id = "s";
    e.attempt = 1;
  }
  return e;
}

Journal::Entry E(const std::string& run, EventType type, uint64_t seq) {
  return Journal::Entry{run, Rec(type, seq)};
}

TEST(MemoryJournalTest, RejectsWhatTheJournalContractForbids) {
  struct Case {
    const char* name;
    std::vector<Journal::Entry> entries;
    StatusCode want;
    const char* in_message;
  };
  const Case cases[] = {
      {"first record not RunStarted", {E("r", EventType::kAttemptStarted, 1)},
       StatusCode::kFailedPrecondition, "run r seq 1"},
      {"gap", {E("r", EventType::kRunStarted, 1), E("r", EventType::kAttemptStarted, 3)},
       StatusCode::kFailedPrecondition, "expected seq 2"},
      {"second RunStarted", {E("r", EventType::kRunStarted, 1), E("r", EventType::kRunStarted, 2)},
       StatusCode::kFailedPrecondition, "first record"},
      {"after the end",
       {E("r", EventType::kRunStarted, 1), E("r", EventType::kRunFinished, 2),
        E("r", EventType::kCancelRequested, 3)},
       StatusCode::kFailedPrecondition, "finished"},
      {"bad run id", {E("a/b", EventType::kRunStarted, 1)}, StatusCode::kInvalidArgument,
       "run id"},
      {"empty run id", {E("", EventType::kRunStarted, 1)}, StatusCode::kInvalidArgument,
       "run id"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    MemoryJournal j;
    Status s = j.Append(c.entries);
    EXPECT_EQ(s.code(), c.want) << s.ToString();
    EXPECT_NE(s.message().find(c.in_message), std::string::npos) << s.ToString();
    // All or nothing: a rejected append leaves no trace.
    EXPECT_TRUE(j.ListRuns()->empty());
    EXPECT_TRUE(j.AllEntriesForTest().empty());
  }
}

TEST(MemoryJournalTest, ActiveIndexFollowsStartAndFinish) {
  MemoryJournal j;
  ASSERT_TRUE(j.PutDefinition("h1", "text").ok());
  ASSERT_TRUE(j.Append({E("b", EventType::kRunStarted, 1), E("a", EventType::kRunStarted, 1)})
                  .ok());
  EXPECT_EQ(*j.ActiveRuns(), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(j.Append({E("a", EventType::kRunFinished, 2)}).ok());
  EXPECT_EQ(*j.ActiveRuns(), (std::vector<std::string>{"b"}));
  EXPECT_EQ(*j.ListRuns(), (std::vector<std::string>{"a", "b"}));
  Result<std::vector<Journal::RunRecords>> active = j.ReadActiveRuns();
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].run_id, "b");
  EXPECT_EQ(j.ReadRun("a")->size(), 2u);
  EXPECT_EQ(j.ReadRun("a", 1)->size(), 1u);
  EXPECT_EQ(j.ReadRun("zz").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(j.Verify()->empty());
  JournalStats st = j.stats();
  EXPECT_EQ(st.records, 3u);
  EXPECT_EQ(st.batches, 2u);
}

// The Journal's own ReadActiveRunParts (MemoryJournal keeps it): parts by place in id order,
// every active run once, no part handed out after one failed.
TEST(MemoryJournalTest, ActiveRunsReadInPartsByTheDefault) {
  MemoryJournal j;
  ASSERT_TRUE(j.PutDefinition("h1", "text").ok());
  for (const char* run : {"e", "d", "c", "b", "a"}) {
    ASSERT_TRUE(j.Append({E(run, EventType::kRunStarted, 1)}).ok());
  }
  std::unique_ptr<ActiveRunParts> parts = j.ReadActiveRunParts(2);  // a, b | c, d | e
  std::vector<std::pair<size_t, std::string>> seen;
  parts->Read([&](size_t part, Journal::RunRecords& r) {
    seen.emplace_back(part, r.run_id);
    return Status::OK();
  });
  EXPECT_TRUE(parts->FirstError().ok());
  EXPECT_EQ(seen, (std::vector<std::pair<size_t, std::string>>{
                      {0, "a"}, {0, "b"}, {1, "c"}, {1, "d"}, {2, "e"}}));
  parts = j.ReadActiveRunParts(2);
  seen.clear();
  parts->Read([&](size_t part, Journal::RunRecords& r) {
    seen.emplace_back(part, r.run_id);
    return r.run_id == "c" ? DataLossError("c is damaged") : Status::OK();
  });
  EXPECT_EQ(parts->FirstError(), DataLossError("c is damaged"));
  EXPECT_EQ(seen.size(), 3u);  // not d (its part ended at c), nor e (its part comes after)
}

TEST(MemoryJournalTest, CapsRefuseButTheFinishIsAlwaysAccepted) {
  MemoryJournal j(MemoryJournalOptions{.max_records_per_run = 2, .max_record_bytes = 300});
  ASSERT_TRUE(j.Append({E("r", EventType::kRunStarted, 1), E("r", EventType::kObserved, 2)})
                  .ok());
  EXPECT_EQ(j.Append({E("r", EventType::kObserved, 3)}).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(j.Append({E("r", EventType::kRunFinished, 3)}).ok());
  Journal::Entry big = E("s", EventType::kRunStarted, 1);
  big.event.start.mut().params = Value::Map{{"blob", std::string(1000, 'x')}};
  Status s = j.Append({big});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("exceeds"), std::string::npos);
}

TEST(MemoryJournalTest, DefinitionsAreWriteOnce) {
  MemoryJournal j;
  ASSERT_TRUE(j.PutDefinition("h", "one").ok());
  EXPECT_TRUE(j.PutDefinition("h", "one").ok());
  EXPECT_EQ(j.PutDefinition("h", "two").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*j.GetDefinition("h"), "one");
  EXPECT_EQ(j.GetDefinition("x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(j.PutDefinition("", "t").code(), StatusCode::kInvalidArgument);
}

TEST(MemoryJournalTest, GarbageCollectionWaitsForTheRetention) {
  MemoryJournal j(MemoryJournalOptions{.retention = hours(24)});
  ASSERT_TRUE(j.Append({E("done", EventType::kRunStarted, 1), E("done", EventType::kRunFinished, 2),
                        E("live", EventType::kRunStarted, 1)})
                  .ok());
  EXPECT_EQ(*j.CollectGarbage(kT0 + hours(23)), 0);
  EXPECT_EQ(*j.CollectGarbage(kT0 + hours(24)), 1);
  EXPECT_EQ(*j.ListRuns(), (std::vector<std::string>{"live"}));
}

TEST(MemoryJournalTest, SimulatedCrashKeepsTheBatchHoldingRecordNAndNothingAfter) {
  MemoryJournal j;
  j.CrashAfterRecordsForTest(2);
  EXPECT_TRUE(j.Append({E("r", EventType::kRunStarted, 1)}).ok());
  // The batch holding record 2 is kept, but its caller hears of the crash.
  EXPECT_EQ(j.Append({E("r", EventType::kAttemptStarted, 2), E("r", EventType::kObserved, 3)})
                .code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(j.Append({E("r", EventType::kObserved, 4)}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(j.ReadRun("r")->size(), 3u);
  j.ReviveForTest();
  EXPECT_TRUE(j.Append({E("r", EventType::kObserved, 4)}).ok());
}

TEST(MemoryJournalTest, VerifyAndReadReportDamageByRunAndSeq) {
  MemoryJournal j;
  ASSERT_TRUE(j.PutDefinition("h1", "text").ok());
  j.PutRunForTest("gap", {Rec(EventType::kRunStarted, 1), Rec(EventType::kObserved, 3)}, true);
  j.PutRunForTest("stale", {Rec(EventType::kRunStarted, 1), Rec(EventType::kRunFinished, 2)},
                  true);
  Event orphan = Rec(EventType::kRunStarted, 1);
  orphan.start.mut().definition_hash = "nope";
  j.PutRunForTest("orphan", {orphan}, true);
  Result<std::vector<Event>> read = j.ReadRun("gap");
  EXPECT_EQ(read.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(read.status().message().find("run gap seq 2"), std::string::npos);
  EXPECT_EQ(j.ReadActiveRuns().status().code(), StatusCode::kDataLoss);
  Result<std::vector<Journal::Problem>> problems = j.Verify();
  ASSERT_TRUE(problems.ok());
  ASSERT_EQ(problems->size(), 3u);
  EXPECT_EQ((*problems)[0].run_id, "gap");
  EXPECT_EQ((*problems)[0].seq, 2u);
  EXPECT_EQ((*problems)[1].run_id, "orphan");
  EXPECT_NE((*problems)[1].what.find("nope"), std::string::npos);
  EXPECT_EQ((*problems)[2].run_id, "stale");
}

}  // namespace
}  // namespace brfed
