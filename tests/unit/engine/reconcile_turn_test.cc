// EngineOptions::max_reconciles_in_flight: runs beyond the bound wait their turn in line, in
// order, live and after a restart; a fan-out goes together; a run that ends while in line
// leaves it. The step here holds its Reconcile until the test opens a gate, so what is in flight
// at any moment is exactly what the engine let in.

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/fake_env.h"
#include "brfed/engine.h"
#include "brfed/step.h"
#include "brfed/workflow.h"
#include "engine/memory_journal.h"
#include "engine/runtime.h"

namespace brfed {
namespace {

constexpr Duration kPatience = std::chrono::minutes(2);  // real time; never reached when healthy
const ObjectRef kRef{"k8s-1", "backups.pingcap.com", "ns", "turnstile"};

// Lent to the step through the ServiceMap.
struct Turnstile {
  std::mutex mu;
  std::condition_variable cv;
  bool park = false;  // Wait on kRef (holding no thread) instead of entering
  bool open = false;  // lets the Reconciles inside return Done
  int inside = 0;
  int max_inside = 0;
  std::vector<std::string> entered;  // "run" or "run[item]", in the order they came in

  // Waits until `n` Reconciles have come in; false after kPatience.
  bool WaitEntered(size_t n) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, kPatience, [&] { return entered.size() >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu);
    open = true;
    cv.notify_all();
  }
  std::vector<std::string> Entered() {
    std::lock_guard<std::mutex> l(mu);
    return entered;
  }
  int MaxInside() {
    std::lock_guard<std::mutex> l(mu);
    return max_inside;
  }
};

class TurnstileStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Turnstile* t = ctx.services().Get<Turnstile>();
    if (t == nullptr) return Fail{FailedPreconditionError("no turnstile"), false};
    std::unique_lock<std::mutex> l(t->mu);
    if (t->park)
      return Wait{.wake_on = {kRef}, .recheck_after = std::nullopt, .observed = "parked"};
    std::string who = ctx.run_id();
    if (ctx.item_index() >= 0) who += "[" + std::to_string(ctx.item_index()) + "]";
    t->entered.push_back(who);
    t->max_inside = std::max(t->max_inside, ++t->inside);
    t->cv.notify_all();
    t->cv.wait(l, [&] { return t->open; });
    --t->inside;
    return Done{};
  }
};

constexpr char kOneStep[] = R"yaml(
name: one
steps:
  - id: s
    action: test.turnstile
)yaml";

class ReconcileTurnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        registry_.Register({"test.turnstile", {}, {}}, std::make_unique<TurnstileStep>()).ok());
    services_.Put(&turnstile_);
  }
  // The gate opens before the engine goes: its destructor waits for the Reconciles inside.
  void TearDown() override {
    turnstile_.Open();
    engine_.reset();
  }

  void Open(int max_in_flight) {
    EngineOptions o;
    o.env = &env_;
    o.journal = &journal_;
    o.steps = &registry_;
    o.services = &services_;
    o.workers = 4;  // more workers than the bound lets in
    o.max_reconciles_in_flight = max_in_flight;
    Result<std::unique_ptr<Runtime>> e = OpenRuntime(std::move(o));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(*e);
  }

  std::shared_ptr<const Workflow> Load(const std::string& yaml) {
    Result<Workflow> wf = LoadWorkflow(yaml, "turn.yaml", registry_);
    EXPECT_TRUE(wf.ok()) << wf.status().ToString();
    return wf.ok() ? std::make_shared<const Workflow>(std::move(*wf)) : nullptr;
  }

  void StartRuns(int n, const std::shared_ptr<const Workflow>& wf) {
    for (int i = 0; i < n; ++i) {
      Status s = engine_->StartRun("r" + std::to_string(i), wf, Value::Map{});
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  }

  // Polls stats() until `n` runs wait in line; false after kPatience.
  bool WaitRunsWaiting(size_t n) {
    const auto until = std::chrono::steady_clock::now() + kPatience;
    while (engine_->stats().runs_waiting != n) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::yield();
    }
    return true;
  }

  // Opens with room for `bound` calls and starts `runs` one-step runs: `bound` of them come in,
  // the others wait in line.
  void StartInLine(int bound, int runs) {
    Open(bound);
    auto wf = Load(kOneStep);
    ASSERT_NE(wf, nullptr);
    StartRuns(runs, wf);
    ASSERT_TRUE(turnstile_.WaitEntered(static_cast<size_t>(bound)));
    // Without the bound the four workers would each hold a Reconcile and no run would wait.
    ASSERT_TRUE(WaitRunsWaiting(static_cast<size_t>(runs - bound)));
  }

  // Polls the journal until run `id` holds a `type` record of step s's attempt `attempt`,
  // firing the timers that are due meanwhile (the engine may arm one after the clock moved).
  bool WaitRecord(const std::string& id, EventType type, int attempt) {
    const auto until = std::chrono::steady_clock::now() + kPatience;
    while (std::chrono::steady_clock::now() < until) {
      Result<std::vector<Event>> events = journal_.ReadRun(id);
      if (events.ok()) {
        for (const Event& e : *events) {
          if (e.type == type && e.attempt == attempt) return true;
        }
      }
      env_.RunDueTimers();
      std::this_thread::yield();
    }
    return false;
  }

  void ExpectSucceeded(int n) {
    for (int i = 0; i < n; ++i) {
      Result<RunView> v = engine_->WaitRun("r" + std::to_string(i), kPatience);
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      EXPECT_EQ(v->state, RunState::kSucceeded) << v->run_id;
    }
  }

  FakeEnv env_;
  MemoryJournal journal_;
  StepRegistry registry_;
  Turnstile turnstile_;
  ServiceMap services_;
  std::unique_ptr<Runtime> engine_;  // last: destroyed first
};

TEST_F(ReconcileTurnTest, RunsBeyondTheBoundWaitInLineUntilACallComesBack) {
  StartInLine(2, 10);
  std::vector<std::string> first = turnstile_.Entered();
  EXPECT_EQ(std::set<std::string>(first.begin(), first.end()),
            (std::set<std::string>{"r0", "r1"}));  // the first two started

  turnstile_.Open();
  ExpectSucceeded(10);
  ASSERT_TRUE(engine_->WaitIdleForTest(kPatience).ok());
  EXPECT_EQ(turnstile_.MaxInside(), 2);
  EXPECT_EQ(turnstile_.Entered().size(), 10u);  // each run's step once
  EXPECT_EQ(engine_->stats().runs_waiting, 0u);
}

TEST_F(ReconcileTurnTest, ARestartReissuesTheRecoveredAttemptsInIdOrderWithinTheBound) {
  turnstile_.park = true;  // every run's attempt waits on kRef, holding no thread
  Open(1024);
  auto wf = Load(kOneStep);
  ASSERT_NE(wf, nullptr);
  StartRuns(10, wf);
  ASSERT_TRUE(engine_->WaitIdleForTest(kPatience).ok());
  engine_.reset();

  turnstile_.park = false;
  Open(3);
  // The first pass, done when OpenEngine returns, let in the first three runs in id order.
  EXPECT_EQ(engine_->stats().runs_waiting, 7u);
  ASSERT_TRUE(turnstile_.WaitEntered(3));
  std::vector<std::string> first = turnstile_.Entered();
  EXPECT_EQ(std::set<std::string>(first.begin(), first.end()),
            (std::set<std::string>{"r0", "r1", "r2"}));

  turnstile_.Open();
  ExpectSucceeded(10);
  EXPECT_EQ(turnstile_.MaxInside(), 3);
  std::vector<std::string> all = turnstile_.Entered();
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 10u);  // each once
  EXPECT_EQ(all.size(), 10u);
}

TEST_F(ReconcileTurnTest, AnAttemptThatStartsWhileItsRunWaitsInLineJournalsWhatItSees) {
  auto wf = Load(R"yaml(
name: timed
steps:
  - id: s
    action: test.turnstile
    timeout: 5s
    retry: {limit: 2, backoff: 1s, jitter: none}
)yaml");
  ASSERT_NE(wf, nullptr);
  turnstile_.park = true;  // attempt 1 of each run journals that it saw "parked"
  Open(1024);
  StartRuns(2, wf);
  ASSERT_TRUE(engine_->WaitIdleForTest(kPatience).ok());
  engine_.reset();

  turnstile_.park = false;
  Open(1);  // r0 comes in and stays; r1 waits in line
  ASSERT_TRUE(turnstile_.WaitEntered(1));
  env_.Advance(std::chrono::seconds(5));  // r1's attempt 1 times out while it waits
  ASSERT_TRUE(WaitRecord("r1", EventType::kAttemptTimedOut, 1));
  env_.Advance(std::chrono::seconds(1));  // and after its backoff, attempt 2 starts
  ASSERT_TRUE(WaitRecord("r1", EventType::kAttemptStarted, 2));
  {
    std::lock_guard<std::mutex> l(turnstile_.mu);
    turnstile_.park = true;
  }
  turnstile_.Open();  // r0's late outcome is dropped; r1's turn comes
  // Attempt 2 saw "parked" too: recovery's observation was attempt 1's, not its own.
  EXPECT_TRUE(WaitRecord("r1", EventType::kObserved, 2));
}

TEST_F(ReconcileTurnTest, AFanOutGoesTogetherAndMayPassTheBoundByItsWidth) {
  Open(1);
  auto fan = Load(R"yaml(
name: fan
steps:
  - id: s
    action: test.turnstile
    forEach: [a, b, c]
)yaml");
  ASSERT_NE(fan, nullptr);
  StartRuns(1, fan);
  ASSERT_TRUE(turnstile_.WaitEntered(3));  // all three items at once, with room for one call
  auto one = Load(kOneStep);
  ASSERT_NE(one, nullptr);
  ASSERT_TRUE(engine_->StartRun("r1", one, Value::Map{}).ok());
  ASSERT_TRUE(WaitRunsWaiting(1));  // the next run waits for the fan-out to come back

  turnstile_.Open();
  ExpectSucceeded(2);
  EXPECT_EQ(turnstile_.MaxInside(), 3);
  EXPECT_EQ(turnstile_.Entered().back(), "r1");
}

TEST_F(ReconcileTurnTest, ARunCancelledWhileInLineEndsWithoutACallAndLeavesTheLine) {
  StartInLine(1, 3);
  ASSERT_TRUE(engine_->Cancel("r1", "not needed").ok());
  Result<RunView> cancelled = engine_->WaitRun("r1", kPatience);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  EXPECT_EQ(cancelled->state, RunState::kCancelled);

  turnstile_.Open();
  for (const char* id : {"r0", "r2"}) {
    Result<RunView> v = engine_->WaitRun(id, kPatience);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->state, RunState::kSucceeded) << id;
  }
  ASSERT_TRUE(engine_->WaitIdleForTest(kPatience).ok());
  EXPECT_EQ(turnstile_.Entered(), (std::vector<std::string>{"r0", "r2"}));
  EXPECT_EQ(engine_->stats().runs_waiting, 0u);
}

TEST_F(ReconcileTurnTest, AShutdownWithRunsInLineLeavesThemToTheRestart) {
  StartInLine(1, 3);
  // The engine stops while r0's call is inside and two runs wait; the gate opens meanwhile,
  // before or after the stop began (either way nothing is lost).
  std::thread closer([this] { engine_.reset(); });
  turnstile_.Open();
  closer.join();

  Open(8);
  ExpectSucceeded(3);
  ASSERT_TRUE(engine_->WaitIdleForTest(kPatience).ok());
  EXPECT_EQ(engine_->stats().runs_waiting, 0u);
}

TEST_F(ReconcileTurnTest, ABoundBelowOneIsRejected) {
  EngineOptions o;
  o.env = &env_;
  o.journal = &journal_;
  o.steps = &registry_;
  o.max_reconciles_in_flight = 0;
  Result<std::unique_ptr<Engine>> e = OpenEngine(std::move(o));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find("max_reconciles_in_flight"), std::string::npos);
}

}  // namespace
}  // namespace brfed
