// The journal on a disk that fails: crashes at every write, failing fsync and append, a torn
// log tail, flipped bits. Nothing acknowledged is lost, nothing is invented, damage is reported.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "storage/journal.h"
#include "tests/unit/storage/fault_injection_env.h"
#include "tests/unit/storage/test_util.h"

namespace brfed::storage {
namespace {

using testing::AttemptStarted;
using testing::FaultInjectionEnv;
using testing::Finished;
using testing::ScratchDir;
using testing::Started;

// A few interleaved runs, with records big enough (4 KiB) that the workload fills LevelDB's
// smallest memtable (64 KiB) and so also writes a table file and a new MANIFEST.
std::vector<Journal::Entry> Workload() {
  std::vector<Journal::Entry> w;
  std::string pad(4096, '.');
  for (int seq = 1; seq <= 7; ++seq) {
    for (const char* run : {"r0", "r1", "r2"}) {
      Event e = seq == 1 ? Started() : AttemptStarted(seq, "s" + std::to_string(seq));
      if (seq == 7 && std::string(run) == "r0") e = Finished(7);
      e.message = std::string(run) + pad;
      w.push_back({run, e});
    }
  }
  return w;
}

JournalOptions Options(const std::string& dir, leveldb::Env* env) {
  JournalOptions o;
  o.dir = dir;
  o.env = env;
  o.write_buffer_bytes = 64 << 10;
  return o;
}

// What a workload got through before the disk failed.
struct Outcome {
  bool opened = false;
  std::map<std::string, std::vector<Event>> attempted;  // every append tried, in order
  std::map<std::string, size_t> acked;                  // how many of them were acknowledged
};

// Opens the journal and appends the workload one record at a time, stopping at the first error
// (as the engine does: the journal is sticky-failed after it anyway).
Outcome RunWorkload(const JournalOptions& o) {
  Outcome out;
  Result<std::unique_ptr<Journal>> j = OpenJournal(o);
  if (!j.ok()) return out;
  out.opened = true;
  if (!(*j)->PutDefinition("h1", "name: wf\n").ok()) return out;
  for (const Journal::Entry& e : Workload()) {
    out.attempted[e.run_id].push_back(e.event);
    if (!(*j)->Append({e}).ok()) break;
    ++out.acked[e.run_id];
  }
  return out;
}

// Reopens the journal and checks that every acknowledged record is there and that what is there
// is a prefix of what was attempted; then that the journal is healthy and writable.
void CheckRecovered(const JournalOptions& o, const Outcome& out) {
  Result<std::unique_ptr<Journal>> j = OpenJournal(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  for (const char* run : {"r0", "r1", "r2"}) {
    SCOPED_TRACE(run);
    size_t acked = out.acked.count(run) ? out.acked.at(run) : 0;
    std::vector<Event> attempted =
        out.attempted.count(run) ? out.attempted.at(run) : std::vector<Event>();
    Result<std::vector<Event>> got = (*j)->ReadRun(run);
    if (!got.ok()) {
      ASSERT_EQ(got.status().code(), StatusCode::kNotFound) << got.status().ToString();
      EXPECT_EQ(acked, 0u) << "acknowledged records lost";
      continue;
    }
    EXPECT_GE(got->size(), acked) << "acknowledged records lost";
    ASSERT_LE(got->size(), attempted.size()) << "records invented";
    for (size_t i = 0; i < got->size(); ++i) EXPECT_EQ((*got)[i], attempted[i]) << "seq " << i + 1;
  }
  Result<std::vector<Journal::Problem>> problems = (*j)->Verify();
  ASSERT_TRUE(problems.ok());
  for (const auto& p : *problems) ADD_FAILURE() << p.ToString();
  EXPECT_TRUE((*j)->Append({{"after-crash", Started()}}).ok());
}

TEST(FaultInjectionTest, CrashAtEveryWriteLosesNothingAcknowledged) {
  // Count the writes of a fault-free run first.
  uint64_t total = 0;
  {
    ScratchDir scratch;
    FaultInjectionEnv env;
    Outcome out = RunWorkload(Options(scratch.Sub("j"), &env));
    ASSERT_EQ(out.acked["r0"], 7u);
    total = env.writes();
  }
  ASSERT_GT(total, 40u);
  for (uint64_t n = 1; n <= total + 1; ++n) {
    SCOPED_TRACE(::testing::Message() << "crash at write " << n << " of " << total);
    ScratchDir scratch;
    FaultInjectionEnv env;
    JournalOptions o = Options(scratch.Sub("j"), &env);
    env.CrashAtWrite(n);
    Outcome out = RunWorkload(o);
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    env.ResetFaults();
    CheckRecovered(o, out);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(FaultInjectionTest, FailedWriteFailsTheAppendAndEveryLaterOne) {
  struct Case {
    const char* name;
    void (FaultInjectionEnv::*fault)(uint64_t);
    const char* message;
  } cases[] = {
      {"fsync", &FaultInjectionEnv::FailSyncAt, "injected fsync failure"},
      {"append", &FaultInjectionEnv::FailAppendAt, "injected append failure"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ScratchDir scratch;
    FaultInjectionEnv env;
    JournalOptions o = Options(scratch.Sub("j"), &env);
    Outcome out;
    {
      Result<std::unique_ptr<Journal>> j = OpenJournal(o);
      ASSERT_TRUE(j.ok());
      ASSERT_TRUE((*j)->PutDefinition("h1", "x").ok());
      env.ResetFaults();
      (env.*c.fault)(3);  // the third after this point
      std::vector<Journal::Entry> w = Workload();
      Status first_error;
      for (const Journal::Entry& e : w) {
        out.attempted[e.run_id].push_back(e.event);
        Status s = (*j)->Append({e});
        if (!s.ok()) {
          first_error = s;
          break;
        }
        ++out.acked[e.run_id];
      }
      ASSERT_FALSE(first_error.ok());
      EXPECT_EQ(first_error.code(), StatusCode::kUnavailable) << first_error.ToString();
      EXPECT_NE(first_error.message().find(c.message), std::string::npos) << first_error.ToString();
      // Sticky: the disk works again, but the journal does not pretend to know its state.
      env.ResetFaults();
      Status later = (*j)->Append({{"other", Started()}});
      EXPECT_EQ(later, first_error);
      EXPECT_EQ((*j)->PutDefinition("h2", "y"), first_error);
    }
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    CheckRecovered(o, out);
  }
}

std::string OnlyFile(const std::string& dir, const std::string& ext) {
  std::string found;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.path().extension() == ext && std::filesystem::file_size(f.path()) > 0) {
      EXPECT_TRUE(found.empty()) << "two " << ext << " files";
      found = f.path();
    }
  }
  EXPECT_FALSE(found.empty()) << "no " << ext << " file";
  return found;
}

void FlipByte(const std::string& file, uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x10));
}

// Appends `n` records of run "r" (1 KiB of varied text each), one synced write per record.
void AppendRun(const std::string& dir, int n) {
  JournalOptions o;
  o.dir = dir;
  Result<std::unique_ptr<Journal>> j = OpenJournal(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  ASSERT_TRUE((*j)->PutDefinition("h1", "x").ok());
  for (int seq = 1; seq <= n; ++seq) {
    Event e = seq == 1 ? Started() : AttemptStarted(seq);
    for (int i = 0; i < 1024; ++i)
      e.message.push_back(static_cast<char>('a' + (seq * 7 + i * 13) % 26));
    ASSERT_TRUE((*j)->Append({{"r", e}}).ok());
  }
}

TEST(FaultInjectionTest, TornLogTailRecoversAPrefix) {
  ScratchDir scratch;
  std::string dir = scratch.Sub("j");
  AppendRun(dir, 10);
  std::string log = OnlyFile(dir, ".log");
  std::filesystem::resize_file(log, std::filesystem::file_size(log) - 100);

  JournalOptions o;
  o.dir = dir;
  Result<std::unique_ptr<Journal>> j = OpenJournal(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  Result<std::vector<Event>> got = (*j)->ReadRun("r");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), 9u);  // the torn 10th record is gone, the 9 before it intact
  EXPECT_TRUE((*j)->Verify()->empty());
  EXPECT_TRUE((*j)->Append({{"r", AttemptStarted(10)}}).ok());
}

TEST(FaultInjectionTest, FlippedBitInTheLogFailsTheOpen) {
  ScratchDir scratch;
  std::string dir = scratch.Sub("j");
  AppendRun(dir, 10);
  std::string log = OnlyFile(dir, ".log");
  FlipByte(log, std::filesystem::file_size(log) / 2);

  JournalOptions o;
  o.dir = dir;
  Result<std::unique_ptr<Journal>> j = OpenJournal(o);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(j.status().message().find("checksum mismatch"), std::string::npos)
      << j.status().ToString();
  EXPECT_NE(j.status().message().find(log), std::string::npos) << j.status().ToString();
}

TEST(FaultInjectionTest, FlippedBitInATableIsReportedByTheReads) {
  ScratchDir scratch;
  std::string dir = scratch.Sub("j");
  AppendRun(dir, 40);
  {
    // Reopening moves the log into a table file.
    JournalOptions o;
    o.dir = dir;
    ASSERT_TRUE(OpenJournal(o).ok());
  }
  std::string table = OnlyFile(dir, ".ldb");
  FlipByte(table, std::filesystem::file_size(table) / 2);

  JournalOptions o;
  o.dir = dir;
  Result<std::unique_ptr<Journal>> j = OpenJournal(o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  Result<std::vector<Journal::RunRecords>> active = (*j)->ReadActiveRuns();
  ASSERT_FALSE(active.ok());
  EXPECT_EQ(active.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(active.status().message().find("journal: run r after seq "), std::string::npos)
      << active.status().ToString();
  EXPECT_NE(active.status().message().find("Corruption"), std::string::npos)
      << active.status().ToString();
  EXPECT_EQ((*j)->ReadRun("r").status().code(), StatusCode::kDataLoss);
  Result<std::vector<Journal::Problem>> problems = (*j)->Verify();
  ASSERT_TRUE(problems.ok());
  ASSERT_FALSE(problems->empty());
  EXPECT_NE(problems->back().what.find("storage damaged after key \"r/r/"), std::string::npos)
      << problems->back().ToString();
}

}  // namespace
}  // namespace brfed::storage
