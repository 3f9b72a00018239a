// Damage written straight into the database with LevelDB is found by Verify, and by the reads
// that meet it, naming the run and seq.
#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <functional>

#include "storage/journal.h"
#include "storage/keys.h"
#include "storage/record_codec.h"
#include "tests/unit/storage/test_util.h"

namespace brfed::storage {
namespace {

using testing::AttemptStarted;
using testing::Finished;
using testing::ScratchDir;
using testing::Started;

std::string Encoded(const Event& e) {
  std::string bytes;
  EXPECT_TRUE(EncodeRecord(e, &bytes).ok());
  return bytes;
}

std::string Time8(uint64_t ms) {
  std::string s;
  PutBigEndian64(ms, &s);
  return s;
}

struct Expected {
  std::string run;
  uint64_t seq;
  std::string what;  // a substring of Problem::what
};

struct Case {
  const char* name;
  std::function<void(leveldb::WriteBatch*)> damage;
  std::vector<Expected> problems;
  // What ReadActiveRuns says: OK, or kDataLoss with this in its message.
  const char* active_error;
};

class VerifyTest : public ::testing::Test {
 protected:
  // Two healthy runs: "act" (3 records, unfinished) and "fin" (2 records, finished).
  void Build(const std::string& dir) {
    JournalOptions o;
    o.dir = dir;
    Result<std::unique_ptr<Journal>> j = OpenJournal(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    ASSERT_TRUE((*j)->PutDefinition("h1", "name: wf\n").ok());
    for (const Event& e : {Started(), AttemptStarted(2), AttemptStarted(3)}) {
      ASSERT_TRUE((*j)->Append({{"act", e}}).ok());
    }
    for (const Event& e : {Started(), Finished(2)}) ASSERT_TRUE((*j)->Append({{"fin", e}}).ok());
    Result<std::vector<Journal::Problem>> p = (*j)->Verify();
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(p->empty()) << (*p)[0].ToString();
  }

  void Damage(const std::string& dir, const std::function<void(leveldb::WriteBatch*)>& f) {
    leveldb::DB* db = nullptr;
    ASSERT_TRUE(leveldb::DB::Open(leveldb::Options(), dir, &db).ok());
    leveldb::WriteBatch b;
    f(&b);
    ASSERT_TRUE(db->Write(leveldb::WriteOptions(), &b).ok());
    delete db;
  }
};

TEST_F(VerifyTest, EveryKindOfDamageIsReported) {
  Case cases[] = {
      {"undecodable record",
       [](auto* b) { b->Put(RecordKey("act", 2), "garbage"); },
       {{"act", 2, "undecodable: record: field 12 has wire type 7"}},
       "run act seq 2"},
      {"seq gap",
       [](auto* b) { b->Delete(RecordKey("act", 2)); },
       {{"act", 2, "missing"}},
       "run act: seq 2 is missing"},
      {"two missing",
       [](auto* b) {
         b->Delete(RecordKey("act", 2));
         b->Delete(RecordKey("act", 1));
       },
       {{"act", 1, "missing, through seq 2"}},
       "run act: seq 1 is missing"},
      {"missing definition",
       [](auto* b) { b->Delete("d/h1"); },
       {{"act", 1, "definition h1 is missing"}, {"fin", 1, "definition h1 is missing"}},
       nullptr},
      {"index points at nothing",
       [](auto* b) { b->Put("a/ghost", ""); },
       {{"ghost", 0, "in the active index, but has no records"}},
       "run ghost is in the active"},
      {"finished run without a/, as format 1 wrote it",
       [](auto* b) { b->Delete("a/fin"); },
       {},
       nullptr},
      {"unfinished run not indexed",
       [](auto* b) { b->Delete("a/act"); },
       {{"act", 0, "unfinished, but missing from the active index"}},
       nullptr},
      {"finished run without finish time",
       [](auto* b) { b->Delete("f/fin"); },
       {{"fin", 0, "finished, but has no finish time"}},
       "run fin seq 2: finished, but has no finish time"},
      {"unfinished run with finish time",
       [](auto* b) { b->Put("f/act", Time8(5)); },
       {{"act", 0, "unfinished, but has a finish time"}},
       nullptr},
      {"malformed finish time",
       [](auto* b) { b->Put("f/fin", "xx"); },
       {{"fin", 0, "finish time f/ holds 2 bytes"}},
       nullptr},
      {"finish time without records",
       [](auto* b) { b->Put("f/ghost", Time8(5)); },
       {{"ghost", 0, "has a finish time (f/), but no records"}},
       nullptr},
      {"record under the wrong seq",
       [](auto* b) { b->Put(RecordKey("act", 3), Encoded(AttemptStarted(7))); },
       {{"act", 3, "the record says seq 7"}},
       "run act seq 3: the record says seq 7"},
      {"first record not RunStarted",
       [](auto* b) { b->Put(RecordKey("act", 1), Encoded(AttemptStarted(1))); },
       {{"act", 1, "the first record is not RunStarted"}},
       nullptr},
      {"second RunStarted",
       [](auto* b) {
         Event e = Started();
         e.seq = 2;
         b->Put(RecordKey("act", 2), Encoded(e));
       },
       {{"act", 2, "RunStarted after the first record"}},
       nullptr},
      {"record after RunFinished",
       [](auto* b) { b->Put(RecordKey("fin", 3), Encoded(AttemptStarted(3))); },
       {{"fin", 3, "record after the RunFinished of seq 2"}},
       nullptr},
      {"unknown key",
       [](auto* b) { b->Put("x/y", ""); },
       {{"", 0, "unknown key \"x/y\""}},
       nullptr},
      {"malformed record key",
       [](auto* b) { b->Put("r/bad", ""); },
       {{"", 0, "malformed record key \"r/bad\""}},
       nullptr},
      {"malformed epoch",
       [](auto* b) { b->Put("m/epoch", "x"); },
       {{"", 0, "m/epoch holds 1 bytes"}},
       nullptr},
      {"wrong format",
       [](auto* b) { b->Put("m/format", "002"); },
       {{"", 0, "m/format holds \"002\""}},
       nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ScratchDir scratch;
    std::string dir = scratch.Sub("j");
    Build(dir);
    Damage(dir, c.damage);
    JournalOptions o;
    o.dir = dir;
    Result<std::unique_ptr<Journal>> j = OpenJournal(o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();

    Result<std::vector<Journal::Problem>> problems = (*j)->Verify();
    ASSERT_TRUE(problems.ok()) << problems.status().ToString();
    std::string all;
    for (const auto& p : *problems) all += "\n  " + p.ToString();
    ASSERT_EQ(problems->size(), c.problems.size()) << all;
    for (size_t i = 0; i < c.problems.size(); ++i) {
      const Expected& want = c.problems[i];
      const Journal::Problem& got = (*problems)[i];
      EXPECT_EQ(got.run_id, want.run) << all;
      EXPECT_EQ(got.seq, want.seq) << all;
      EXPECT_NE(got.what.find(want.what), std::string::npos) << all;
    }

    Result<std::vector<Journal::RunRecords>> active = (*j)->ReadActiveRuns();
    Status each = (*j)->ForEachActiveRun([](Journal::RunRecords&) { return Status::OK(); });
    if (c.active_error == nullptr) {
      EXPECT_TRUE(active.ok()) << active.status().ToString();
      EXPECT_TRUE(each.ok()) << each.ToString();
    } else {
      ASSERT_FALSE(active.ok());
      EXPECT_EQ(active.status().code(), StatusCode::kDataLoss);
      EXPECT_NE(active.status().message().find(c.active_error), std::string::npos)
          << active.status().ToString();
      EXPECT_EQ(each, active.status());
    }
  }
}

TEST_F(VerifyTest, ReadRunNamesTheDamagedRecord) {
  ScratchDir scratch;
  std::string dir = scratch.Sub("j");
  Build(dir);
  Damage(dir, [](auto* b) { b->Put(RecordKey("act", 3), "\x08\x63"); });
  JournalOptions o;
  o.dir = dir;
  Result<std::unique_ptr<Journal>> j = OpenJournal(o);
  ASSERT_TRUE(j.ok());
  Result<std::vector<Event>> r = (*j)->ReadRun("act");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("journal: run act seq 3: record:"), std::string::npos)
      << r.status().ToString();
  // The records before the damage are still readable on their own.
  Result<std::vector<Event>> prefix = (*j)->ReadRun("act", 2);
  ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
  EXPECT_EQ(prefix->size(), 2u);
  // Appending to a run whose last record is damaged is refused rather than guessed.
  Status s = (*j)->Append({{"act", AttemptStarted(4)}});
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
}

}  // namespace
}  // namespace brfed::storage
