// A run journals a step's outcome together with the records it leads to (the next attempt,
// the run's end) in one synced write, applies them when it chooses them, and acts on them only
// once they are durable: no Reconcile of the next step and no view of that state before then.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "base/fake_env.h"
#include "brfed/engine.h"
#include "brfed/step.h"
#include "brfed/workflow.h"
#include "engine/memory_journal.h"
#include "tests/unit/storage/test_util.h"

namespace brfed {
namespace {

// A MemoryJournal that records how records were grouped into appends, and can hold back the
// appends that carry a given record type until released.
class GatedJournal final : public Journal {
 public:
  Status PutDefinition(std::string_view h, std::string_view t) override {
    return inner_.PutDefinition(h, t);
  }
  Result<std::string> GetDefinition(std::string_view h) override { return inner_.GetDefinition(h); }
  void AppendAsync(std::vector<Entry> entries, std::function<void(Status)> done) override {
    std::unique_lock<std::mutex> l(mu_);
    std::vector<EventType> types;
    bool hold = false;
    for (const Entry& e : entries) {
      types.push_back(e.event.type);
      hold |= hold_type_.has_value() && e.event.type == *hold_type_;
    }
    groups_.push_back(std::move(types));
    if (hold) {
      held_.emplace_back(std::move(entries), std::move(done));
      cv_.notify_all();
      return;
    }
    l.unlock();
    inner_.AppendAsync(std::move(entries), std::move(done));
  }
  Status Append(std::vector<Entry> entries) override { return inner_.Append(std::move(entries)); }
  Result<std::vector<std::string>> ActiveRuns() override { return inner_.ActiveRuns(); }
  Result<std::vector<std::string>> ListRuns() override { return inner_.ListRuns(); }
  Result<std::vector<Event>> ReadRun(std::string_view id, uint64_t until) override {
    ++reads_;
    return inner_.ReadRun(id, until);
  }
  Result<std::vector<RunRecords>> ReadActiveRuns() override { return inner_.ReadActiveRuns(); }
  Result<int> CollectGarbage(TimePoint now) override { return inner_.CollectGarbage(now); }
  Result<std::vector<Problem>> Verify() override { return inner_.Verify(); }
  JournalStats stats() const override { return inner_.stats(); }

  void HoldAppendsWith(EventType t) {
    std::lock_guard<std::mutex> l(mu_);
    hold_type_ = t;
  }
  bool WaitHeld(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return !held_.empty(); });
  }
  void Release() {
    std::vector<std::pair<std::vector<Entry>, std::function<void(Status)>>> held;
    {
      std::lock_guard<std::mutex> l(mu_);
      hold_type_.reset();
      held.swap(held_);
    }
    for (auto& [entries, done] : held) inner_.AppendAsync(std::move(entries), std::move(done));
  }
  int reads() const { return reads_; }
  std::vector<std::vector<EventType>> groups() {
    std::lock_guard<std::mutex> l(mu_);
    return groups_;
  }

 private:
  MemoryJournal inner_;
  std::atomic<int> reads_{0};  // ReadRun calls
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<EventType> hold_type_;
  std::vector<std::pair<std::vector<Entry>, std::function<void(Status)>>> held_;
  std::vector<std::vector<EventType>> groups_;
};

constexpr const char* kThreeSteps = R"yaml(name: three
params:
  - {name: out, type: string, required: true}
steps:
  - id: a
    action: test.append
    with: {path: $(params.out), text: a}
  - id: b
    action: test.append
    needs: [a]
    with: {path: $(params.out), text: b}
  - id: c
    action: test.append
    needs: [b]
    with: {path: $(params.out), text: c}
)yaml";

class LookAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterTestSteps(&registry_).ok());
    Result<Workflow> wf = LoadWorkflow(kThreeSteps, "three.yaml", registry_);
    ASSERT_TRUE(wf.ok()) << wf.status().ToString();
    workflow_ = std::make_shared<const Workflow>(std::move(*wf));
    out_ = dir_.Sub("out");
    EngineOptions o;
    o.env = &env_;
    o.journal = &journal_;
    o.steps = &registry_;
    o.workers = 2;
    Result<std::unique_ptr<Engine>> e = OpenEngine(std::move(o));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(*e);
  }

  void TearDown() override { engine_.reset(); }

  // Starts run "r" with the appends that carry `held` held back, and asks for its view while
  // one is: GetRun answers with the durable state, so the answer waits for the write.
  void StartAndAskWhileHeld(EventType held, std::future<Result<RunView>>* view) {
    journal_.HoldAppendsWith(held);
    ASSERT_TRUE(engine_->StartRun("r", workflow_, Value::Map{{"out", out_}}).ok());
    ASSERT_TRUE(journal_.WaitHeld(std::chrono::seconds(20)));
    *view = std::async(std::launch::async, [&] { return engine_->GetRun("r"); });
    EXPECT_EQ(view->wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  }

  std::string Lines() {
    std::ifstream in(out_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  FakeEnv env_;
  StepRegistry registry_;
  GatedJournal journal_;
  std::shared_ptr<const Workflow> workflow_;
  storage::testing::ScratchDir dir_;  // removed with the test
  std::string out_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(LookAheadTest, EachOutcomeIsJournaledWithTheNextAttemptInOneWrite) {
  ASSERT_TRUE(engine_->StartRun("r", workflow_, Value::Map{{"out", out_}}).ok());
  Result<RunView> v = engine_->WaitRun("r", std::chrono::seconds(20));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->state, RunState::kSucceeded);
  using T = EventType;
  std::vector<std::vector<T>> want = {
      {T::kRunStarted},
      {T::kAttemptStarted},
      {T::kAttemptSucceeded, T::kAttemptStarted},
      {T::kAttemptSucceeded, T::kAttemptStarted},
      {T::kAttemptSucceeded, T::kRunFinished},
  };
  EXPECT_EQ(journal_.groups(), want);
}

TEST_F(LookAheadTest, NothingActsOnOrShowsTheLookAheadBeforeItIsDurable) {
  // Hold the write that carries a's outcome and b's first attempt.
  std::future<Result<RunView>> view;
  ASSERT_NO_FATAL_FAILURE(StartAndAskWhileHeld(EventType::kAttemptSucceeded, &view));
  // b has not been reconciled: its attempt is not durable yet.
  EXPECT_EQ(Lines().find(" b\n"), std::string::npos) << Lines();

  journal_.Release();
  Result<RunView> v = view.get();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_GE(v->last_seq, 4u);  // RunStarted, a started, a succeeded, b started
  Result<RunView> done = engine_->WaitRun("r", std::chrono::seconds(20));
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->state, RunState::kSucceeded);
  EXPECT_NE(Lines().find(" c\n"), std::string::npos) << Lines();
}

TEST_F(LookAheadTest, AViewAskedForDuringTheLastAppendIsTheFinishedRunFromMemory) {
  std::future<Result<RunView>> view;
  ASSERT_NO_FATAL_FAILURE(StartAndAskWhileHeld(EventType::kRunFinished, &view));
  const int reads = journal_.reads();

  // The answer waited for the run's last append and comes from the engine's memory, though the
  // run's end is published to the finished cache only at the end of the engine's pass.
  journal_.Release();
  Result<RunView> v = view.get();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kSucceeded);
  EXPECT_EQ(journal_.reads(), reads) << "answered by reading the journal back";
}

}  // namespace
}  // namespace brfed
