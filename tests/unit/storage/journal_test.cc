// The LevelDB journal through its interface: opening, appending, reading, caps, group commit,
// definitions, the epoch, retention.
#include "storage/journal.h"

#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/write_batch.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "storage/keys.h"
#include "storage/record_codec.h"
#include "tests/unit/storage/test_util.h"

namespace brfed::storage {
namespace {

using testing::AttemptStarted;
using testing::Finished;
using testing::ScratchDir;
using testing::Started;
using testing::T;

class JournalTest : public ::testing::Test {
 protected:
  JournalOptions Options() {
    JournalOptions o;
    o.dir = dir_.Sub("journal");
    return o;
  }
  std::unique_ptr<LevelDbJournal> Open(const JournalOptions& o) {
    Result<std::unique_ptr<LevelDbJournal>> j = OpenLevelDbJournal(o);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(j).value() : nullptr;
  }
  std::unique_ptr<LevelDbJournal> Open() { return Open(Options()); }

  // Appends `events` of `run` one call each, expecting success.
  void AppendAll(Journal* j, const std::string& run, const std::vector<Event>& events) {
    for (const Event& e : events) {
      Status s = j->Append({{run, e}});
      ASSERT_TRUE(s.ok()) << run << " seq " << e.seq << ": " << s.ToString();
    }
  }

  ScratchDir dir_;
};

TEST_F(JournalTest, OpenCreatesDirectoryWithMode0700) {
  JournalOptions o = Options();
  o.dir = dir_.Sub("a/b/journal");
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  for (std::string d : {dir_.Sub("a"), dir_.Sub("a/b"), o.dir}) {
    struct stat st {};
    ASSERT_EQ(::stat(d.c_str(), &st), 0) << d;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << d;
  }
}

TEST_F(JournalTest, OpenTightensAWideDirectory) {
  JournalOptions o = Options();
  ASSERT_EQ(::mkdir(o.dir.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(o.dir.c_str(), 0755), 0);
  auto j = Open(o);
  ASSERT_NE(j, nullptr);
  struct stat st {};
  ASSERT_EQ(::stat(o.dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(JournalTest, OpenRefusesBadPlaces) {
  std::ofstream(dir_.Sub("file")) << "x";
  struct Case {
    const char* name;
    std::string dir;
    bool create;
    StatusCode code;
    const char* message;
  } cases[] = {
      {"empty", "", true, StatusCode::kInvalidArgument, "no directory"},
      {"a file", dir_.Sub("file"), true, StatusCode::kFailedPrecondition, "not a directory"},
      {"absent, no create", dir_.Sub("absent"), false, StatusCode::kNotFound, "does not exist"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    JournalOptions o;
    o.dir = c.dir;
    o.create_if_missing = c.create;
    Result<std::unique_ptr<Journal>> j = OpenJournal(o);
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.status().code(), c.code) << j.status().ToString();
    EXPECT_NE(j.status().message().find(c.message), std::string::npos) << j.status().ToString();
  }

  // An existing empty directory holds no journal.
  JournalOptions o = Options();
  ASSERT_EQ(::mkdir(o.dir.c_str(), 0700), 0);
  o.create_if_missing = false;
  Result<std::unique_ptr<Journal>> j = OpenJournal(o);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kNotFound);
  EXPECT_NE(j.status().message().find("holds no journal"), std::string::npos);
}

TEST_F(JournalTest, SecondOpenIsRefusedClearly) {
  auto j = Open();
  ASSERT_NE(j, nullptr);
  Result<std::unique_ptr<Journal>> second = OpenJournal(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(),
            "journal " + Options().dir + " is in use by another process");
}

TEST_F(JournalTest, OpenRefusesOtherDatabasesAndNewerFormats) {
  struct Case {
    const char* name;
    const char* key;
    const char* value;
    StatusCode code;
    const char* message;
  } cases[] = {
      {"not a journal", "hello", "world", StatusCode::kFailedPrecondition, "not a brfed journal"},
      {"newer format", "m/format", "3", StatusCode::kFailedPrecondition, "has format 3"},
      {"bad format", "m/format", "one", StatusCode::kDataLoss, "not a version number"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ScratchDir scratch;
    {
      leveldb::Options lo;
      lo.create_if_missing = true;
      leveldb::DB* db = nullptr;
      ASSERT_TRUE(leveldb::DB::Open(lo, scratch.path(), &db).ok());
      ASSERT_TRUE(db->Put(leveldb::WriteOptions(), c.key, c.value).ok());
      delete db;
    }
    JournalOptions o;
    o.dir = scratch.path();
    Result<std::unique_ptr<Journal>> j = OpenJournal(o);
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.status().code(), c.code) << j.status().ToString();
    EXPECT_NE(j.status().message().find(c.message), std::string::npos) << j.status().ToString();
  }
}

TEST_F(JournalTest, AppendedEventsReadBackInOrder) {
  auto j = Open();
  std::vector<Event> events = {Started(), AttemptStarted(2, "a"), AttemptStarted(3, "b")};
  AppendAll(j.get(), "run-1", events);
  Result<std::vector<Event>> got = j->ReadRun("run-1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, events);

  Result<std::vector<Event>> until = j->ReadRun("run-1", 2);
  ASSERT_TRUE(until.ok());
  EXPECT_EQ(*until, std::vector<Event>(events.begin(), events.begin() + 2));

  EXPECT_EQ(j->ReadRun("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(j->ReadRun("a/b").status().code(), StatusCode::kInvalidArgument);

  // Everything survives a reopen.
  j.reset();
  j = Open();
  got = j->ReadRun("run-1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, events);
}

TEST_F(JournalTest, SeqRulesAreEnforced) {
  auto j = Open();
  AppendAll(j.get(), "r", {Started(), AttemptStarted(2)});
  struct Case {
    const char* name;
    std::string run;
    Event event;
    StatusCode code;
    const char* message;
  } cases[] = {
      {"gap", "r", AttemptStarted(4), StatusCode::kFailedPrecondition, "expected seq 3"},
      {"duplicate", "r", AttemptStarted(2), StatusCode::kFailedPrecondition, "expected seq 3"},
      {"second start", "r",
       [] {
         Event e = Started();
         e.seq = 3;
         return e;
       }(),
       StatusCode::kFailedPrecondition, "RunStarted must be the run's first record"},
      {"restart", "r", Started(), StatusCode::kFailedPrecondition, "expected seq 3"},
      {"new run not started", "fresh", AttemptStarted(1), StatusCode::kFailedPrecondition,
       "first record must be RunStarted"},
      {"new run at seq 2", "fresh", AttemptStarted(2), StatusCode::kFailedPrecondition,
       "expected seq 1"},
      {"bad run id", "x/y", Started(), StatusCode::kInvalidArgument, "contains '/'"},
      {"bad event", "r",
       [] {
         Event e = AttemptStarted(3);
         e.code = static_cast<StatusCode>(99);
         return e;
       }(),
       StatusCode::kInvalidArgument, "status code 99"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Status s = j->Append({{c.run, c.event}});
    EXPECT_EQ(s.code(), c.code) << s.ToString();
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.ToString();
  }
  // None of the refusals moved anything: seq 3 is still next.
  EXPECT_TRUE(j->Append({{"r", AttemptStarted(3)}}).ok());
}

TEST_F(JournalTest, SeqsContinueAfterReopenAndFinishedRunsStayClosed) {
  {
    auto j = Open();
    AppendAll(j.get(), "open", {Started(), AttemptStarted(2)});
    AppendAll(j.get(), "done", {Started(), Finished(2)});
  }
  auto j = Open();
  EXPECT_EQ(j->Append({{"open", AttemptStarted(2)}}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(j->Append({{"open", Started()}}).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(j->Append({{"open", AttemptStarted(3)}}).ok());
  Status s = j->Append({{"done", AttemptStarted(3)}});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("the run is finished"), std::string::npos) << s.ToString();
  s = j->Append({{"done", Started()}});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
}

// A long-lived process journals many runs: the journal keeps only the unfinished ones in
// memory, and a forgotten run is still closed (the disk says it is finished).
TEST_F(JournalTest, FinishedRunsAreForgottenInMemoryAndStayClosed) {
  auto j = Open();
  for (int i = 0; i < 200; ++i)
    AppendAll(j.get(), "run-" + std::to_string(i), {Started(), Finished(2)});
  AppendAll(j.get(), "open", {Started(), AttemptStarted(2)});
  EXPECT_EQ(j->stats().runs_in_memory, 1u);  // "open"
  Status s = j->Append({{"run-7", AttemptStarted(3)}});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("the run is finished"), std::string::npos) << s.ToString();
  s = j->Append({{"run-7", Started()}});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  // A run started and finished in one append is forgotten too.
  ASSERT_TRUE(j->Append({{"both", Started()}, {"both", Finished(2)}}).ok());
  EXPECT_LE(j->stats().runs_in_memory, 2u);  // "open", and "run-7" looked up for the refusal
  Result<std::vector<Event>> both = j->ReadRun("both");
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(both->size(), 2u);
}

// AppendRunAsync with a run's cursor: the first append fills it, later ones are checked
// through it (no lookup among the runs) by the same rules as any append, and it agrees with
// appends made without it.
TEST_F(JournalTest, RunCursorAppendsFollowTheSameRules) {
  auto j = Open();
  std::shared_ptr<Journal::RunCursor> cursor;
  auto append = [&](std::vector<Event> events) {
    std::promise<Status> done;
    j->AppendRunAsync("r", events, &cursor, [&](Status s) { done.set_value(std::move(s)); });
    return done.get_future().get();
  };
  ASSERT_TRUE(append({Started(), AttemptStarted(2)}).ok());
  ASSERT_NE(cursor, nullptr);
  const Journal::RunCursor* filled = cursor.get();
  Status s = append({AttemptStarted(4)});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("expected seq 3"), std::string::npos) << s.ToString();
  s = append({[] {
    Event e = Started();
    e.seq = 3;
    return e;
  }()});
  EXPECT_NE(s.message().find("RunStarted must be the run's first record"), std::string::npos)
      << s.ToString();
  ASSERT_TRUE(append({AttemptStarted(3)}).ok());
  EXPECT_EQ(cursor.get(), filled);  // kept, not looked up again
  // An append without the cursor sees what the cursor advanced, and the other way round.
  EXPECT_EQ(j->Append({{"r", AttemptStarted(3)}}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(j->Append({{"r", AttemptStarted(4)}}).ok());
  s = append({AttemptStarted(4)});
  EXPECT_NE(s.message().find("expected seq 5"), std::string::npos) << s.ToString();
  ASSERT_TRUE(append({AttemptStarted(5), Finished(6)}).ok());
  // Durable and finished: the journal forgets the run, and the cursor still says finished.
  EXPECT_EQ(j->stats().runs_in_memory, 0u);
  s = append({AttemptStarted(7)});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("the run is finished"), std::string::npos) << s.ToString();
  Result<std::vector<Event>> events = j->ReadRun("r");
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 6u);
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].seq, i + 1);
  // A run's first append with an empty cursor learns it from disk, like any append.
  std::shared_ptr<Journal::RunCursor> late;
  std::promise<Status> refused;
  j->AppendRunAsync("r", {AttemptStarted(7)}, &late,
                    [&](Status st) { refused.set_value(std::move(st)); });
  EXPECT_EQ(refused.get_future().get().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(late, nullptr);  // filled only by an append that passed
}

// A thread encodes every append into one buffer of its own, reused from append to append:
// nothing of an earlier record may show in a later one, whatever their sizes.
TEST_F(JournalTest, ReusedEncodingBuffersCarryNothingOver) {
  auto j = Open();
  std::map<std::string, std::vector<Event>> sent;
  for (int round = 0; round < 40; ++round) {
    const std::string run = "run-" + std::to_string(round);
    std::vector<Event> events = {Started()};
    // Long and short records in turn, one to four records an append, so every part of the
    // buffer holds records of every size in turn.
    for (uint64_t seq = 2; seq <= 9; ++seq) {
      Event e = AttemptStarted(seq, "step-" + std::to_string(seq));
      e.message.assign(static_cast<size_t>((round * 7 + seq * 131) % 1500), 'x');
      if (seq % 3 == 0) e.outputs = Value::Map{};
      events.push_back(std::move(e));
    }
    events.push_back(Finished(10));
    for (size_t at = 0; at < events.size();) {
      const size_t n = std::min<size_t>(events.size() - at, 1 + (round + at) % 4);
      std::vector<Event> part(events.begin() + static_cast<std::ptrdiff_t>(at),
                              events.begin() + static_cast<std::ptrdiff_t>(at + n));
      std::shared_ptr<Journal::RunCursor> cursor;
      std::promise<Status> done;
      j->AppendRunAsync(run, part, &cursor, [&](Status st) { done.set_value(std::move(st)); });
      ASSERT_TRUE(done.get_future().get().ok()) << run << " at " << at;
      at += n;
    }
    sent[run] = std::move(events);
  }
  for (const auto& [run, events] : sent) {
    Result<std::vector<Event>> got = j->ReadRun(run);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, events) << run;
  }
}

TEST_F(JournalTest, MultiEntryAppendIsAllOrNothing) {
  auto j = Open();
  Status s = j->Append({{"a", Started()}, {"b", Started()}, {"a", AttemptStarted(3)}});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(j->ReadRun("a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(j->ReadRun("b").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(j->Append({{"a", Started()}, {"b", Started()}, {"a", AttemptStarted(2)}}).ok());
  EXPECT_EQ(j->ReadRun("a")->size(), 2u);
  EXPECT_EQ(j->ReadRun("b")->size(), 1u);
}

TEST_F(JournalTest, PerRunRecordCapLeavesRoomToFinish) {
  JournalOptions o = Options();
  o.max_records_per_run = 3;
  auto j = Open(o);
  AppendAll(j.get(), "r", {Started(), AttemptStarted(2), AttemptStarted(3)});
  Status s = j->Append({{"r", AttemptStarted(4)}});
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("cap of 3 records"), std::string::npos) << s.ToString();
  EXPECT_TRUE(j->Append({{"r", Finished(4)}}).ok());
  EXPECT_EQ(j->ReadRun("r")->size(), 4u);
}

TEST_F(JournalTest, RecordSizeCap) {
  JournalOptions o = Options();
  o.max_record_bytes = 200;
  auto j = Open(o);
  ASSERT_TRUE(j->Append({{"r", Started()}}).ok());
  Event big = AttemptStarted(2);
  big.message = std::string(300, 'x');
  Status s = j->Append({{"r", big}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("over the cap of 200"), std::string::npos) << s.ToString();
  EXPECT_TRUE(j->Append({{"r", AttemptStarted(2)}}).ok());
}

TEST_F(JournalTest, CallbacksRunOnTheCommitterThreadEvenForRefusals) {
  auto j = Open();
  for (Event e : {Started(), AttemptStarted(5)}) {  // one accepted, one refused
    std::promise<std::pair<std::thread::id, Status>> p;
    j->AppendAsync({{"r", e}}, [&p](Status s) { p.set_value({std::this_thread::get_id(), s}); });
    auto [id, s] = p.get_future().get();
    EXPECT_NE(id, std::this_thread::get_id());
    EXPECT_EQ(s.ok(), e.seq == 1) << s.ToString();
  }
}

TEST_F(JournalTest, AppendFromACallbackIsRefusedAndAppendAsyncWorks) {
  auto j = Open();
  std::promise<Status> sync_result, async_result;
  j->AppendAsync({{"r", Started()}}, [&](Status s) {
    ASSERT_TRUE(s.ok());
    sync_result.set_value(j->Append({{"r", AttemptStarted(2)}}));
    j->AppendAsync({{"r", AttemptStarted(2)}}, [&](Status s2) { async_result.set_value(s2); });
  });
  EXPECT_EQ(sync_result.get_future().get().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(async_result.get_future().get().ok());
}

// Holds the committer inside the callback of a first append (run "gate") until Release(), so
// that what is appended meanwhile queues up for the next group commits.
class CommitterGate {
 public:
  explicit CommitterGate(Journal* j) {
    j->AppendAsync({{"gate", Started()}}, [this](Status) {
      std::unique_lock<std::mutex> l(mu_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait(l, [&] { return release_; });
    });
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return entered_; });
  }
  void Release() {
    {
      std::lock_guard<std::mutex> l(mu_);
      release_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, release_ = false;
};

TEST_F(JournalTest, QueuedAppendsShareOneBatch) {
  auto j = Open();
  CommitterGate gate(j.get());
  std::atomic<int> ok{0};
  std::promise<void> all;
  for (int i = 0; i < 100; ++i) {
    j->AppendAsync({{"run-" + std::to_string(i), Started()}}, [&](Status s) {
      if (s.ok() && ++ok == 100) all.set_value();
    });
  }
  gate.Release();
  all.get_future().get();
  JournalStats st = j->stats();
  EXPECT_EQ(st.records, 101u);
  EXPECT_EQ(st.batches, 2u);
  // Every record's key and encoded value, as stored: the gate's run and the 100 others.
  std::string value;
  ASSERT_TRUE(EncodeRecord(Started(), &value).ok());
  uint64_t bytes = RecordKey("gate", 1).size() + value.size();
  for (int i = 0; i < 100; ++i)
    bytes += RecordKey("run-" + std::to_string(i), 1).size() + value.size();
  EXPECT_EQ(st.record_bytes, bytes);
  EXPECT_EQ(j->AppendLatency().count, 101u);
  EXPECT_EQ(j->BatchLatency().count, 2u);
  EXPECT_GE(j->AppendLatency().p99_nanos, j->AppendLatency().p50_nanos);
}

TEST_F(JournalTest, AGroupCommitStopsAtMaxBatchRecordsAndNeverSplitsAnAppend) {
  JournalOptions o = Options();
  o.max_batch_records = 30;
  auto j = Open(o);
  CommitterGate gate(j.get());
  std::vector<std::future<Status>> done;
  auto append = [&](std::vector<Journal::Entry> entries) {
    auto p = std::make_shared<std::promise<Status>>();
    done.push_back(p->get_future());
    j->AppendAsync(std::move(entries), [p](Status s) { p->set_value(s); });
  };
  for (int i = 0; i < 100; ++i) append({{"run-" + std::to_string(i), Started()}});
  std::vector<Journal::Entry> big = {{"big", Started()}};
  for (uint64_t seq = 2; seq <= 40; ++seq) big.push_back({"big", AttemptStarted(seq)});
  append(std::move(big));
  gate.Release();
  for (std::future<Status>& f : done) EXPECT_TRUE(f.get().ok());
  // The gate's batch, three of 30 single records, then 10 singles and the 40 records of "big"
  // together: a batch is closed only once it holds 30, and an append is never split.
  JournalStats st = j->stats();
  EXPECT_EQ(st.records, 141u);
  EXPECT_EQ(st.batches, 5u);
  Result<std::vector<Event>> read = j->ReadRun("big");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->size(), 40u);
}

// Appends are put in their group commit's batch as they are queued: refused ones, in the
// middle of a group, leave nothing in it and hear their error in their turn; the others are
// durable whole. The written group's memory serves the next group without carrying anything
// of it over.
TEST_F(JournalTest, RefusedAppendsInAGroupCommitLeaveTheOthersWhole) {
  JournalOptions o = Options();
  o.max_record_bytes = 200;
  auto j = Open(o);
  std::vector<std::string> heard;  // by the committer thread, in its order
  std::vector<Status> statuses;
  auto append = [&](const std::string& name, std::vector<Journal::Entry> entries) {
    j->AppendAsync(std::move(entries), [&, name](Status s) {
      heard.push_back(name);
      statuses.push_back(std::move(s));
    });
  };
  Event big = AttemptStarted(2);
  big.message = std::string(300, 'x');
  {
    CommitterGate gate(j.get());
    append("a", {{"run-a", Started()}});
    append("b: no RunStarted", {{"run-b", AttemptStarted(1)}});
    append("c: over the cap", {{"run-c", Started()}, {"run-c", big}});
    append("d", {{"run-a", AttemptStarted(2)}});
    append("e", {{"run-e", Started()}, {"run-e", Finished(2)}});
    append("f: out of order", {{"run-a", AttemptStarted(4)}});
    gate.Release();
    ASSERT_TRUE(j->Append({{"run-g", Started()}}).ok());  // after every one above
  }
  const std::vector<std::string> order = {"a", "b: no RunStarted", "c: over the cap", "d",
                                          "e", "f: out of order"};
  ASSERT_EQ(heard, order);
  const std::vector<StatusCode> codes = {StatusCode::kOk,
                                         StatusCode::kFailedPrecondition,
                                         StatusCode::kInvalidArgument,
                                         StatusCode::kOk,
                                         StatusCode::kOk,
                                         StatusCode::kFailedPrecondition};
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(statuses[i].code(), codes[i]) << order[i] << ": " << statuses[i].ToString();
  }
  EXPECT_EQ(j->stats().records, 1u + 1 + 1 + 2 + 1);  // the gate, a, d, e, run-g
  Result<std::vector<std::string>> runs = j->ListRuns();
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  EXPECT_EQ(*runs, (std::vector<std::string>{"gate", "run-a", "run-e", "run-g"}));
  Result<std::vector<std::string>> active = j->ActiveRuns();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  EXPECT_EQ(*active, (std::vector<std::string>{"gate", "run-a", "run-g"}));
  Result<std::vector<Event>> a = j->ReadRun("run-a");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, (std::vector<Event>{Started(), AttemptStarted(2)}));
  // The next groups, in the written groups' memory: only their own records and index keys.
  // run-e, deleted meanwhile, would come back if a batch kept anything of an earlier one.
  Result<int> deleted = j->CollectGarbage(T(0) + std::chrono::hours(24 * 365));
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 1);
  ASSERT_TRUE(j->Append({{"run-a", AttemptStarted(3)}, {"run-h", Started()}}).ok());
  ASSERT_TRUE(j->Append({{"run-i", Started()}}).ok());
  runs = j->ListRuns();
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  EXPECT_EQ(*runs, (std::vector<std::string>{"gate", "run-a", "run-g", "run-h", "run-i"}));
  active = j->ActiveRuns();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  EXPECT_EQ(*active, (std::vector<std::string>{"gate", "run-a", "run-g", "run-h", "run-i"}));
  a = j->ReadRun("run-a");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->size(), 3u);
  EXPECT_EQ(j->stats().records, 9u);
}

TEST_F(JournalTest, ConcurrentAppendersKeepPerRunOrder) {
  auto j = Open();
  constexpr int kThreads = 8, kRunsPerThread = 5, kRecords = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread drives its runs with pipelined async appends, then waits for all of them.
      std::vector<std::future<Status>> results;
      for (int seq = 1; seq <= kRecords; ++seq) {
        for (int r = 0; r < kRunsPerThread; ++r) {
          std::string run = "t" + std::to_string(t) + "-r" + std::to_string(r);
          Event e = seq == 1 ? Started() : AttemptStarted(seq, "s" + std::to_string(seq));
          auto p = std::make_shared<std::promise<Status>>();
          results.push_back(p->get_future());
          j->AppendAsync({{run, e}}, [p](Status s) { p->set_value(s); });
        }
      }
      for (auto& f : results) {
        if (!f.get().ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(j->stats().records, uint64_t{kThreads * kRunsPerThread * kRecords});
  EXPECT_LE(j->stats().batches, j->stats().records);
  j.reset();
  j = Open();  // durable, not merely cached
  Result<std::vector<Journal::RunRecords>> all = j->ReadActiveRuns();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), size_t{kThreads * kRunsPerThread});
  for (const auto& rr : *all) {
    ASSERT_EQ(rr.events.size(), size_t{kRecords}) << rr.run_id;
    for (int i = 0; i < kRecords; ++i) {
      EXPECT_EQ(rr.events[i].seq, uint64_t(i + 1));
      if (i > 0) {
        EXPECT_EQ(rr.events[i].step_id, "s" + std::to_string(i + 1));
      }
    }
  }
}

TEST_F(JournalTest, IndexesFollowRunsAndActiveRunsReadInOnePass) {
  auto j = Open();
  ASSERT_TRUE(j->PutDefinition("h1", "text").ok());
  // "a" is a prefix of the other ids: record order differs from id order.
  for (const char* run : {"a", "a-b", "a.c", "b"}) AppendAll(j.get(), run, {Started()});
  AppendAll(j.get(), "a-b", {AttemptStarted(2)});
  AppendAll(j.get(), "a.c", {Finished(2)});
  EXPECT_EQ(*j->ActiveRuns(), (std::vector<std::string>{"a", "a-b", "b"}));
  EXPECT_EQ(*j->ListRuns(), (std::vector<std::string>{"a", "a-b", "a.c", "b"}));
  Result<std::vector<Journal::RunRecords>> active = j->ReadActiveRuns();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  ASSERT_EQ(active->size(), 3u);
  EXPECT_EQ((*active)[0].run_id, "a");
  EXPECT_EQ((*active)[0].events.size(), 1u);
  EXPECT_EQ((*active)[1].run_id, "a-b");
  EXPECT_EQ((*active)[1].events.size(), 2u);
  EXPECT_EQ((*active)[2].run_id, "b");
  Result<std::vector<Journal::Problem>> problems = j->Verify();
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty());

  // ForEachActiveRun visits the same runs with the same events, one at a time.
  std::map<std::string, std::vector<Event>> visited;
  ASSERT_TRUE(j->ForEachActiveRun([&](Journal::RunRecords& r) {
                 EXPECT_TRUE(visited.emplace(r.run_id, r.events).second) << r.run_id;
                 return Status::OK();
               }).ok());
  ASSERT_EQ(visited.size(), active->size());
  for (const auto& r : *active) EXPECT_EQ(visited[r.run_id], r.events) << r.run_id;
  // An error of the callback stops the pass and is returned.
  int calls = 0;
  Status s = j->ForEachActiveRun([&](Journal::RunRecords&) {
    ++calls;
    return AbortedError("stop");
  });
  EXPECT_EQ(s, AbortedError("stop"));
  EXPECT_EQ(calls, 1);

  // Parts are disjoint and together visit every active run with its events, for any size
  // (bigger than the journal included), whether one thread takes them all or several share
  // them; part p holds the runs [p * size, (p + 1) * size) in id order.
  const std::vector<std::string> ids = *j->ActiveRuns();
  for (size_t size : {1u, 2u, 3u, 5u, 40u}) {
    for (size_t threads : {1u, 3u}) {
      std::unique_ptr<ActiveRunParts> parts = j->ReadActiveRunParts(size);
      std::mutex mu;
      std::map<std::string, std::vector<Event>> seen;
      auto read = [&] {
        parts->Read([&](size_t part, Journal::RunRecords& r) {
          const size_t at =
              static_cast<size_t>(std::lower_bound(ids.begin(), ids.end(), r.run_id) - ids.begin());
          EXPECT_EQ(at / size, part) << r.run_id;
          std::lock_guard<std::mutex> l(mu);
          EXPECT_TRUE(seen.emplace(r.run_id, r.events).second) << r.run_id;
          return Status::OK();
        });
      };
      std::vector<std::thread> readers;
      for (size_t t = 0; t < threads; ++t) readers.emplace_back(read);
      for (std::thread& t : readers) t.join();
      EXPECT_TRUE(parts->FirstError().ok()) << parts->FirstError().ToString();
      EXPECT_EQ(seen, visited) << size << " runs a part, " << threads << " threads";
    }
  }
  // An error in a part ends it and stops the handing out.
  std::unique_ptr<ActiveRunParts> parts = j->ReadActiveRunParts(1);
  int part_calls = 0;
  parts->Read([&](size_t part, Journal::RunRecords&) {
    ++part_calls;
    return part >= 1 ? AbortedError("part " + std::to_string(part)) : Status::OK();
  });
  EXPECT_EQ(parts->FirstError(), AbortedError("part 1"));
  EXPECT_EQ(part_calls, 2);
  parts->Read([&](size_t, Journal::RunRecords&) {
    ++part_calls;
    return Status::OK();
  });
  EXPECT_EQ(part_calls, 2);
  // The lowest failed part's error is the one kept, whichever thread found it first: here
  // part 0 fails only after part 1 has.
  parts = j->ReadActiveRunParts(1);
  std::promise<void> part1_failed;
  std::shared_future<void> after_part1 = part1_failed.get_future().share();
  auto fail_in_order = [&] {
    parts->Read([&](size_t part, Journal::RunRecords&) {
      if (part == 1) {
        part1_failed.set_value();
        return AbortedError("part 1");
      }
      after_part1.wait();
      return AbortedError("part " + std::to_string(part));
    });
  };
  std::thread other(fail_in_order);
  fail_in_order();
  other.join();
  EXPECT_EQ(parts->FirstError(), AbortedError("part 0"));
}

// Recovery's read of the active runs hands out each run's cursor, made from what was read:
// the run's next append goes through it with no lookup, and is checked by the same rules. The
// reading threads never take the journal's lock for it: a cursor joins the journal's runs at
// its run's first append, or gives way to the entry the journal made meanwhile.
TEST_F(JournalTest, ActiveRunsReadInPartsComeWithTheirCursors) {
  {
    auto j = Open();
    AppendAll(j.get(), "a", {Started(), AttemptStarted(2)});
    AppendAll(j.get(), "b", {Started()});
    AppendAll(j.get(), "c", {Started()});
    AppendAll(j.get(), "done", {Started(), Finished(2)});
  }
  auto j = Open();
  std::map<std::string, std::shared_ptr<Journal::RunCursor>> cursors;
  std::unique_ptr<ActiveRunParts> parts = j->ReadActiveRunParts(2);
  parts->Read([&](size_t, Journal::RunRecords& r) {
    cursors[r.run_id] = std::move(r.cursor);
    return Status::OK();
  });
  ASSERT_TRUE(parts->FirstError().ok()) << parts->FirstError().ToString();
  ASSERT_EQ(cursors.size(), 3u);
  for (const char* run : {"a", "b", "c"}) ASSERT_NE(cursors[run], nullptr) << run;
  EXPECT_EQ(j->stats().runs_in_memory, 0u);
  auto append = [&](const std::string& run, std::vector<Event> events) {
    std::promise<Status> done;
    j->AppendRunAsync(run, events, &cursors[run], [&](Status s) { done.set_value(std::move(s)); });
    return done.get_future().get();
  };
  Status s = append("b", {AttemptStarted(3)});
  EXPECT_NE(s.message().find("expected seq 2"), std::string::npos) << s.ToString();
  ASSERT_TRUE(append("a", {AttemptStarted(3)}).ok());
  s = append("a", {AttemptStarted(3)});
  EXPECT_NE(s.message().find("expected seq 4"), std::string::npos) << s.ToString();
  EXPECT_EQ(j->stats().runs_in_memory, 2u);  // a and b, at their first appends
  // An append without the cursor finds the same entry.
  EXPECT_TRUE(j->Append({{"a", AttemptStarted(4)}}).ok());
  EXPECT_TRUE(append("a", {Finished(5)}).ok());
  EXPECT_EQ(j->ReadRun("a")->size(), 5u);
  // c is appended to without its cursor first (looked up on disk); the cursor then gives way
  // to that entry instead of its own, older one.
  const Journal::RunCursor* read_cursor = cursors["c"].get();
  ASSERT_TRUE(j->Append({{"c", AttemptStarted(2)}}).ok());
  ASSERT_TRUE(append("c", {AttemptStarted(3)}).ok());
  EXPECT_NE(cursors["c"].get(), read_cursor);
  EXPECT_EQ(j->ReadRun("c")->size(), 3u);
}

// Format 2 keeps a run's a/ key when it finishes; format 1 deleted it. A format-1 journal opens,
// reads the same (active: a/ without f/), and is stamped format 2, so that binaries knowing
// only format 1 refuse it once it holds finished runs with a/ keys.
TEST_F(JournalTest, FinishedRunsKeepTheirIndexKeyAndFormatOneJournalsStillRead) {
  JournalOptions o = Options();
  {
    auto j = Open(o);
    ASSERT_TRUE(j->PutDefinition("h1", "text").ok());
    AppendAll(j.get(), "act", {Started(), AttemptStarted(2)});
    AppendAll(j.get(), "fin", {Started(), Finished(2)});
  }
  auto raw = [&](const std::function<void(leveldb::DB*)>& fn) {
    leveldb::DB* db = nullptr;
    ASSERT_TRUE(leveldb::DB::Open(leveldb::Options(), o.dir, &db).ok());
    fn(db);
    delete db;
  };
  auto get = [](leveldb::DB* db, const std::string& key) {
    std::string v;
    return db->Get(leveldb::ReadOptions(), key, &v).ok() ? v : std::string("(none)");
  };
  raw([&](leveldb::DB* db) {
    EXPECT_EQ(get(db, "a/fin"), "");  // kept at the finish
    EXPECT_EQ(get(db, "m/format"), "2");
    // What format 1 wrote for the same runs.
    leveldb::WriteBatch b;
    b.Delete("a/fin");
    b.Put("m/format", "1");
    ASSERT_TRUE(db->Write(leveldb::WriteOptions(), &b).ok());
  });
  {
    auto j = Open(o);
    EXPECT_EQ(*j->ActiveRuns(), std::vector<std::string>{"act"});
    EXPECT_EQ(*j->ListRuns(), (std::vector<std::string>{"act", "fin"}));
    Result<std::vector<Journal::RunRecords>> active = j->ReadActiveRuns();
    ASSERT_TRUE(active.ok()) << active.status().ToString();
    ASSERT_EQ(active->size(), 1u);
    EXPECT_EQ((*active)[0].run_id, "act");
    Result<std::vector<Journal::Problem>> problems = j->Verify();
    ASSERT_TRUE(problems.ok());
    EXPECT_TRUE(problems->empty()) << (*problems)[0].ToString();
    AppendAll(j.get(), "act", {Finished(3)});
    EXPECT_TRUE(j->ActiveRuns()->empty());
  }
  raw([&](leveldb::DB* db) {
    EXPECT_EQ(get(db, "m/format"), "2");
    EXPECT_EQ(get(db, "a/act"), "");
    EXPECT_EQ(get(db, "a/fin"), "(none)");
  });
  // Retention deletes both kinds of finished run whole.
  o.retention = std::chrono::seconds(0);
  auto j = Open(o);
  Result<int> deleted = j->CollectGarbage(T(3'600'000));
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 2);
  EXPECT_TRUE(j->ListRuns()->empty());
  j.reset();
  raw([&](leveldb::DB* db) {
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
    std::vector<std::string> keys;
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    EXPECT_EQ(keys, (std::vector<std::string>{"d/h1", "m/format"}));
  });
}

TEST_F(JournalTest, Definitions) {
  auto j = Open();
  EXPECT_EQ(j->GetDefinition("h").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(j->PutDefinition("h", "name: x\n").ok());
  ASSERT_TRUE(j->PutDefinition("h", "name: x\n").ok());  // idempotent
  EXPECT_EQ(j->PutDefinition("h", "name: y\n").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(j->PutDefinition("", "x").code(), StatusCode::kInvalidArgument);
  j.reset();
  j = Open();
  EXPECT_EQ(*j->GetDefinition("h"), "name: x\n");
}

TEST_F(JournalTest, LeaderEpochOnlyMovesForward) {
  auto j = Open();
  EXPECT_EQ(*j->LeaderEpoch(), 0u);
  ASSERT_TRUE(j->SetLeaderEpoch(5).ok());
  ASSERT_TRUE(j->SetLeaderEpoch(5).ok());
  EXPECT_EQ(j->SetLeaderEpoch(4).code(), StatusCode::kFailedPrecondition);
  j.reset();
  j = Open();
  EXPECT_EQ(*j->LeaderEpoch(), 5u);
}

TEST_F(JournalTest, GarbageCollectionDeletesFinishedRunsAfterRetention) {
  JournalOptions o = Options();
  o.retention = std::chrono::hours(1);
  auto j = Open(o);
  ASSERT_TRUE(j->PutDefinition("h1", "text").ok());
  AppendAll(j.get(), "old", {Started("h1", 0), Finished(2, 1000)});
  AppendAll(j.get(), "new", {Started("h1", 0), Finished(2, 60'000)});
  AppendAll(j.get(), "running", {Started("h1", 0), AttemptStarted(2)});

  struct Step {
    int64_t now_ms;
    int deleted;
    std::vector<std::string> left;
  } steps[] = {
      {1000 + 3'599'999, 0, {"new", "old", "running"}},
      {1000 + 3'600'000, 1, {"new", "running"}},
      {1000 + 3'600'000, 0, {"new", "running"}},
      {99'000'000, 1, {"running"}},
  };
  for (const Step& s : steps) {
    SCOPED_TRACE(s.now_ms);
    Result<int> n = j->CollectGarbage(T(s.now_ms));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, s.deleted);
    EXPECT_EQ(*j->ListRuns(), s.left);
  }
  EXPECT_EQ(j->ReadRun("old").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(j->ReadRun("running")->size(), 2u);
  EXPECT_EQ(*j->GetDefinition("h1"), "text");  // definitions are kept
  EXPECT_TRUE(j->Verify()->empty());
  // A collected run's id may be used again.
  AppendAll(j.get(), "old", {Started("h1", 0)});
}

TEST_F(JournalTest, EmptyAppendSucceeds) { EXPECT_TRUE(Open()->Append({}).ok()); }

}  // namespace
}  // namespace brfed::storage
