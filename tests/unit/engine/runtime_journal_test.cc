// The runtime on the real LevelDB journal (storage/journal.h) in a temporary directory: a run
// interrupted by closing both the engine and the journal resumes after reopening both, with
// every side effect once; many concurrent runs journal exactly what they apply.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/fake_env.h"
#include "base/huge_pages.h"
#include "brfed/step.h"
#include "engine/runtime.h"
#include "engine/runtime_impl.h"
#include "gtest/gtest.h"
#include "storage/journal.h"

// ThreadSanitizer suppressions (a no-op in other builds): the Debian libleveldb is not built
// with -fsanitize=thread, so TSAN cannot see the atomics publishing memtable entries to readers
// and reports races inside libleveldb (as tests/unit/storage/tsan_suppressions.cc explains).
extern "C" const char* __tsan_default_suppressions() { return "race:libleveldb.so\n"; }

namespace brfed {
namespace {

using std::chrono::seconds;

// Recovery here must take huge pages whatever this host's cost (the check that declines slow
// ones is base/'s to test). Set before any recovery.
const bool kHugePagesAlways = setenv("BRFED_HUGE_PAGES", "always", 1) == 0;

constexpr Duration kPatience = std::chrono::minutes(2);  // real time; never reached when healthy

constexpr char kResume[] = R"yaml(
name: resume
params:
  - {name: out, type: string, required: true}
steps:
  - id: first
    action: test.append
    with: {path: $(params.out), text: first}
  - id: nap
    action: test.sleep
    needs: [first]
    with: {duration: 10s}
  - id: fan
    action: test.append
    needs: [nap]
    forEach: [0, 1, 2]
    with: {path: $(params.out), text: "fan $(item)"}
finally:
  - id: last
    action: test.append
    with: {path: $(params.out), text: last}
)yaml";

class RuntimeJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterTestSteps(&registry_).ok());
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
           ("brfed_runtime_journal_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    engine_.reset();
    journal_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    JournalOptions jo;
    jo.dir = (dir_ / "journal").string();
    Result<std::unique_ptr<Journal>> j = OpenJournal(jo);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
    EngineOptions o;
    o.env = &env_;
    o.journal = journal_.get();
    o.steps = &registry_;
    o.workers = 2;
    Result<std::unique_ptr<Runtime>> rt = OpenRuntime(std::move(o));
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    engine_ = std::move(*rt);
  }
  // A restart: the engine first (it journals nothing on the way out), then the journal.
  void Close() {
    engine_.reset();
    journal_.reset();
  }

  void Idle() { ASSERT_TRUE(engine_->WaitIdleForTest(kPatience).ok()); }

  Result<RunView> Drive(const std::string& run_id) {
    for (int round = 0; round < 1000; ++round) {
      Idle();
      if (::testing::Test::HasFatalFailure()) return InternalError("fatal failure");
      Result<RunView> v = engine_->WaitRun(run_id, Duration(0));
      if (v.ok() || v.status().code() != StatusCode::kDeadlineExceeded) return v;
      if (!env_.AdvanceToNextTimer()) return InternalError("stuck: no timer and not finished");
    }
    return InternalError("too many rounds");
  }

  std::shared_ptr<const Workflow> Load(const std::string& yaml) {
    Result<Workflow> wf = LoadWorkflow(yaml, "test.yaml", registry_);
    EXPECT_TRUE(wf.ok()) << wf.status().ToString();
    return wf.ok() ? std::make_shared<const Workflow>(std::move(*wf)) : nullptr;
  }

  // Starts runs n0 .. n<count - 1> from four threads at once, so their first records share
  // group commits.
  void StartRuns(int count, const std::shared_ptr<const Workflow>& wf) {
    std::vector<std::thread> starters;
    for (int t = 0; t < 4; ++t) {
      starters.emplace_back([&, t] {
        for (int i = t; i < count; i += 4) {
          Status s = engine_->StartRun("n" + std::to_string(i), wf, Value::Map{});
          EXPECT_TRUE(s.ok()) << s.ToString();
        }
      });
    }
    for (std::thread& t : starters) t.join();
  }

  std::vector<std::string> SortedLines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    std::sort(out.begin(), out.end());
    return out;
  }

  StepRegistry registry_;
  std::filesystem::path dir_;
  FakeEnv env_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<Runtime> engine_;  // last: destroyed first
};

TEST_F(RuntimeJournalTest, ResumesAfterReopeningTheJournalWithEachSideEffectOnce) {
  std::string out = (dir_ / "out.txt").string();
  Open();
  auto wf = Load(kResume);
  ASSERT_NE(wf, nullptr);
  ASSERT_TRUE(engine_->StartRun("res", wf, Value::Map{{"out", out}}).ok());
  Idle();
  env_.Advance(seconds(4));
  Idle();
  Close();

  Open();  // recovery reads the run, its definition and its records back from LevelDB
  EXPECT_EQ(engine_->ActiveRunIds(), (std::vector<std::string>{"res"}));
  EngineStats::Recovery recovered = engine_->stats().recovery;
  EXPECT_EQ(recovered.runs, 1u);
  EXPECT_GT(recovered.fold_seconds, 0);
  EXPECT_GE(recovered.fold_threads, 1);
  EXPECT_GT(recovered.fold_cpu_seconds, 0);
  EXPECT_GT(recovered.first_pass_seconds, 0);
  Result<RunView> mid = engine_->GetRun("res");
  ASSERT_TRUE(mid.ok()) << mid.status().ToString();
  Result<RunView> v = Drive("res");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kSucceeded);
  EXPECT_EQ(SortedLines(out),
            (std::vector<std::string>{"res:fan:0 fan 0", "res:fan:1 fan 1", "res:fan:2 fan 2",
                                      "res:first first", "res:last last"}));
  // The sleep kept its journaled start across the restart.
  for (const InstanceView& i : v->instances) {
    if (i.step_id != "nap") continue;
    EXPECT_EQ(i.attempt, 1);
    EXPECT_EQ(i.finished_at - i.attempt_started_at, seconds(10));
  }
  Result<std::vector<Journal::Problem>> problems = journal_->Verify();
  ASSERT_TRUE(problems.ok()) << problems.status().ToString();
  EXPECT_TRUE(problems->empty());
  Result<std::vector<std::string>> active = journal_->ActiveRuns();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty());

  // After another restart the finished run is read back from the journal.
  Close();
  Open();
  EXPECT_EQ(engine_->stats().recovery.runs, 0u);  // nothing unfinished to resume
  Result<RunView> again = engine_->WaitRun("res", Duration(0));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->state, RunState::kSucceeded);
  EXPECT_EQ(again->last_seq, v->last_seq);
  ASSERT_TRUE(engine_->StartRun("res", wf, Value::Map{{"out", out}}).ok());  // left alone
  Result<std::vector<Event>> events = journal_->ReadRun("res");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), v->last_seq);
}

TEST_F(RuntimeJournalTest, ManyConcurrentRunsJournalExactlyWhatTheyApply) {
  Open();
  auto wf = Load(R"yaml(
name: noop
steps:
  - id: a
    action: test.noop
  - id: b
    action: test.noop
    needs: [a]
)yaml");
  ASSERT_NE(wf, nullptr);
  constexpr int kRuns = 300;
  StartRuns(kRuns, wf);
  for (int i = 0; i < kRuns; ++i) {
    Result<RunView> v = engine_->WaitRun("n" + std::to_string(i), kPatience);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->state, RunState::kSucceeded);
  }
  EngineStats s = engine_->stats();
  EXPECT_EQ(s.transitions, static_cast<uint64_t>(kRuns) * 6);
  JournalStats js = journal_->stats();
  EXPECT_EQ(js.records, s.transitions);  // every durable record was applied, and only those
  Result<std::vector<Journal::Problem>> problems = journal_->Verify();
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty());
}

TEST_F(RuntimeJournalTest, ThousandsOfRunsAreRecoveredAndEachFinishesOnce) {
  // Enough runs that each of the two reading threads passes kHugePageRuns and takes the rest of
  // its memory in huge pages (when this binary runs on jemalloc, as the programs do).
  constexpr int kRuns = 2 * static_cast<int>(internal::kHugePageRuns) + 50;
  ASSERT_TRUE(kHugePagesAlways);
  Open();
  auto wf = Load(R"yaml(
name: nap
steps:
  - id: nap
    action: test.sleep
    with: {duration: 10s}
  - id: after
    action: test.noop
    needs: [nap]
)yaml");
  ASSERT_NE(wf, nullptr);
  StartRuns(kRuns, wf);
  Idle();
  ASSERT_EQ(engine_->ActiveRunIds().size(), static_cast<size_t>(kRuns));
  Close();

  const size_t advised_before = HugePageScope::AdvisedBytes();
  Open();
  EXPECT_EQ(engine_->stats().recovery.runs, static_cast<size_t>(kRuns));
  EXPECT_EQ(engine_->ActiveRunIds().size(), static_cast<size_t>(kRuns));
#ifdef BRFED_JEMALLOC_LINKED
  EXPECT_GT(HugePageScope::AdvisedBytes(), advised_before);
#else
  EXPECT_EQ(HugePageScope::AdvisedBytes(), advised_before);
#endif
  for (int i = 0; i < kRuns; ++i) {
    Result<RunView> v = Drive("n" + std::to_string(i));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->state, RunState::kSucceeded);
  }
  // After the restart each run journaled the rest of its records once: the nap's end, the
  // noop step's start and end, RunFinished.
  EXPECT_EQ(engine_->stats().transitions, static_cast<uint64_t>(kRuns) * 4);
  Result<std::vector<std::string>> active = journal_->ActiveRuns();
  ASSERT_TRUE(active.ok());
  EXPECT_TRUE(active->empty());
  Result<std::vector<Journal::Problem>> problems = journal_->Verify();
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty());
}

}  // namespace
}  // namespace brfed
