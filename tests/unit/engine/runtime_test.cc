// The runtime end to end on a FakeEnv and a MemoryJournal: deterministic, no sleeps. A test
// waits for the engine to be idle (generous real-time limit, never asserted on), then moves
// the fake clock to the next timer, and so on. After every idle point the live view of a run
// must equal the view replayed from its journal.

#include "engine/runtime.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/fake_env.h"
#include "brfed/step.h"
#include "engine/machine.h"
#include "engine/memory_journal.h"
#include "engine/replay.h"
#include "engine/run_format.h"
#include "engine/runtime_impl.h"
#include "gtest/gtest.h"

namespace brfed {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr Duration kPatience = std::chrono::minutes(2);  // real time; never reached when healthy

// Lent to steps through the ServiceMap: a gate a test opens, and a count of calls.
struct Gate {
  std::atomic<bool> open{false};
  std::atomic<int> calls{0};
};

const ObjectRef kGateRef{"k8s-1", "backups.pingcap.com", "ns", "gate"};

// Waits on kGateRef until the gate is open; reports what it sees.
class WatchStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Gate* gate = ctx.services().Get<Gate>();
    if (gate == nullptr) return Fail{FailedPreconditionError("no gate"), false};
    gate->calls++;
    if (gate->open) return Done{};
    return Wait{.wake_on = {kGateRef}, .recheck_after = std::nullopt, .observed = "gate closed"};
  }
};

// Blocks inside Reconcile until the test releases it: a Reconcile in flight at shutdown.
struct Latch {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool released = false;
  int calls = 0;

  // True once a Reconcile is blocked inside the step (false after `patience`).
  bool WaitEntered(Duration patience) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, patience, [&] { return entered; });
  }
  void Release() {
    std::lock_guard<std::mutex> l(mu);
    released = true;
    cv.notify_all();
  }
};

class BlockStep final : public Step {
 public:
  StepResult Reconcile(StepContext& ctx) override {
    Latch* latch = ctx.services().Get<Latch>();
    if (latch == nullptr) return Fail{FailedPreconditionError("no latch"), false};
    std::unique_lock<std::mutex> l(latch->mu);
    latch->calls++;
    latch->entered = true;
    latch->cv.notify_all();
    latch->cv.wait(l, [&] { return latch->released; });
    return Done{};
  }
};

// Succeeds with outputs far over a small record cap.
class BigStep final : public Step {
 public:
  StepResult Reconcile(StepContext&) override {
    Done d;
    d.outputs.as_map().emplace("blob", std::string(5000, 'x'));
    return d;
  }
};

EngineOptions Options(Env* env, Journal* journal, const StepRegistry* steps, int workers = 3) {
  EngineOptions o;
  o.env = env;
  o.journal = journal;
  o.steps = steps;
  o.workers = workers;
  return o;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/brfed_runtime_test_" +
                     std::to_string(::getpid()) + "_" + name;
  std::remove(path.c_str());
  return path;
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The file's lines in sorted order: the items of a fan-out run concurrently.
std::vector<std::string> SortedLines(const std::string& path) {
  std::vector<std::string> out = Lines(path);
  std::sort(out.begin(), out.end());
  return out;
}

// One process's worth of engine: a clock, a journal, and the engine over them.
struct Harness {
  explicit Harness(const StepRegistry* steps, MemoryJournalOptions jo = {})
      : journal(jo), registry(steps) {
    services.Put(&gate);
    services.Put(&latch);
  }

  void Open() {
    EngineOptions o = Options(&env, &journal, registry, workers);
    o.services = &services;
    Result<std::unique_ptr<Runtime>> rt = OpenRuntime(std::move(o));
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    engine = std::move(*rt);
  }
  void Close() { engine.reset(); }

  void Idle() { ASSERT_TRUE(engine->WaitIdleForTest(kPatience).ok()); }

  // The view replayed from the journal alone, as JSON.
  std::string ReplayedJson(const std::string& run_id) {
    Result<std::vector<Event>> events = journal.ReadRun(run_id);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (!events.ok() || events->empty()) return "";
    std::string hash = events->front().start.get().definition_hash;
    Result<std::string> text = journal.GetDefinition(hash);
    EXPECT_TRUE(text.ok());
    Result<Workflow> wf = LoadWorkflow(*text, "journal", *registry);
    EXPECT_TRUE(wf.ok()) << wf.status().ToString();
    Result<RunMachine> m =
        ReplayRun(run_id, std::make_shared<const Workflow>(std::move(*wf)), *events);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? RunViewToValue(m->View()).ToJson() : "";
  }

  void ExpectLiveEqualsReplayed(const std::string& run_id) {
    Result<RunView> live = engine->GetRun(run_id);
    ASSERT_TRUE(live.ok()) << live.status().ToString();
    EXPECT_EQ(RunViewToValue(*live).ToJson(), ReplayedJson(run_id));
  }

  // Idles, checks live == replayed, and moves the clock to the next timer, until the run has
  // finished (returned) or stopped for another reason (its status returned).
  Result<RunView> Drive(const std::string& run_id) {
    for (int round = 0; round < 10000; ++round) {
      if (::testing::Test::HasFatalFailure()) return InternalError("fatal failure");
      Idle();
      Result<RunView> v = engine->WaitRun(run_id, Duration(0));
      if (v.ok() || v.status().code() != StatusCode::kDeadlineExceeded) {
        if (v.ok()) ExpectLiveEqualsReplayed(run_id);
        return v;
      }
      ExpectLiveEqualsReplayed(run_id);
      if (!env.AdvanceToNextTimer()) return InternalError("stuck: no timer and not finished");
    }
    return InternalError("too many rounds");
  }

  std::vector<Event> Events(const std::string& run_id) {
    Result<std::vector<Event>> e = journal.ReadRun(run_id);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? *e : std::vector<Event>{};
  }

  // "Type step[item]#attempt @ms" per record, times relative to the run's start.
  std::vector<std::string> Timeline(const std::string& run_id) {
    std::vector<std::string> out;
    std::vector<Event> events = Events(run_id);
    if (events.empty()) return out;
    TimePoint t0 = events.front().time;
    for (const Event& e : events) {
      std::string s(EventTypeName(e.type));
      if (!e.step_id.empty()) {
        s += " " + e.step_id;
        if (e.item_index >= 0) s += "[" + std::to_string(e.item_index) + "]";
        s += "#" + std::to_string(e.attempt);
      }
      s += " @" + std::to_string((e.time - t0).count());
      out.push_back(s);
    }
    return out;
  }

  FakeEnv env;
  MemoryJournal journal;
  const StepRegistry* registry;
  // One worker makes Reconcile outcomes arrive in dispatch order, so the journal order is
  // deterministic; tests of concurrency use more.
  int workers = 3;
  Gate gate;
  Latch latch;
  ServiceMap services;
  std::unique_ptr<Runtime> engine;  // last: destroyed first
};

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterTestSteps(&registry_).ok());
    ASSERT_TRUE(registry_.Register({"test.watch", {}, {}}, std::make_unique<WatchStep>()).ok());
    ASSERT_TRUE(registry_.Register({"test.big", {}, {}}, std::make_unique<BigStep>()).ok());
    ASSERT_TRUE(registry_.Register({"test.block", {}, {}}, std::make_unique<BlockStep>()).ok());
  }
  void TearDown() override {
    for (const std::string& p : files_) std::remove(p.c_str());
  }

  std::shared_ptr<const Workflow> Load(const std::string& yaml) {
    Result<Workflow> wf = LoadWorkflow(yaml, "test.yaml", registry_);
    EXPECT_TRUE(wf.ok()) << wf.status().ToString();
    if (!wf.ok()) return nullptr;
    return std::make_shared<const Workflow>(std::move(*wf));
  }

  std::string File(const std::string& name) {
    files_.push_back(TempPath(name));
    return files_.back();
  }

  StepRegistry registry_;
  std::vector<std::string> files_;
};

const InstanceView* Find(const RunView& v, const std::string& step, int item = -1) {
  for (const InstanceView& i : v.instances) {
    if (i.step_id == step && i.item_index == item) return &i;
  }
  return nullptr;
}

constexpr char kSimple[] = R"yaml(
name: simple
params:
  - {name: greeting, type: string, default: hello}
steps:
  - id: a
    action: test.noop
  - id: b
    action: test.echo
    needs: [a]
    with: {value: "$(params.greeting) world"}
)yaml";

TEST_F(RuntimeTest, StartRunsToSuccessJournalingEachTransitionInOrder) {
  Harness h(&registry_);
  h.Open();
  auto wf = Load(kSimple);
  ASSERT_TRUE(h.engine->StartRun("r1", wf, Value::Map{}).ok());
  Result<RunView> v = h.Drive("r1");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kSucceeded);
  EXPECT_EQ(v->params.ToJson(), R"({"greeting":"hello"})");  // the default, journaled
  const InstanceView* b = Find(*v, "b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->outputs.ToJson(), R"({"value":"hello world"})");
  EXPECT_EQ(h.Timeline("r1"),
            (std::vector<std::string>{"RunStarted @0", "AttemptStarted a#1 @0",
                                      "AttemptSucceeded a#1 @0", "AttemptStarted b#1 @0",
                                      "AttemptSucceeded b#1 @0", "RunFinished @0"}));
  std::vector<Event> events = h.Events("r1");
  EXPECT_EQ(events[1].idempotency_key, "r1:a");
  EXPECT_EQ(events[3].idempotency_key, "r1:b");
  EXPECT_EQ(h.engine->stats().transitions, 6u);
  EXPECT_EQ(h.engine->stats().reconciles, 2u);
  EXPECT_EQ(h.engine->stats().active_runs, 0u);
  EXPECT_TRUE(h.engine->ActiveRunIds().empty());
  Result<std::string> def = h.journal.GetDefinition(wf->hash);
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(*def, wf->source_text);
}

TEST_F(RuntimeTest, StartIsIdempotentByRunId) {
  Harness h(&registry_);
  h.Open();
  auto wf = Load(kSimple);
  ASSERT_TRUE(h.engine->StartRun("r1", wf, Value::Map{{"greeting", "hi"}}).ok());
  // Again while running, and with other params: left alone.
  ASSERT_TRUE(h.engine->StartRun("r1", wf, Value::Map{{"greeting", "other"}}).ok());
  ASSERT_TRUE(h.Drive("r1").ok());
  ASSERT_TRUE(h.engine->StartRun("r1", wf, Value::Map{}).ok());  // finished
  h.Idle();
  std::vector<Event> events = h.Events("r1");
  int started = 0;
  for (const Event& e : events) started += e.type == EventType::kRunStarted;
  EXPECT_EQ(started, 1);
  EXPECT_EQ(events.front().start.get().params.ToJson(), R"({"greeting":"hi"})");
  // A new engine, which knows the finished run only from the journal, also leaves it alone.
  h.Close();
  h.Open();
  ASSERT_TRUE(h.engine->StartRun("r1", wf, Value::Map{}).ok());
  EXPECT_EQ(h.Events("r1").size(), events.size());
  Result<RunView> v = h.engine->WaitRun("r1", Duration(0));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kSucceeded);
}

TEST_F(RuntimeTest, ParamsAreCheckedAgainstTheDeclaration) {
  auto wf = Load(R"yaml(
name: typed
params:
  - {name: zones, type: list, required: true}
  - {name: count, type: int, default: 3}
  - {name: ratio, type: double}
steps:
  - id: a
    action: test.noop
)yaml");
  struct Case {
    const char* name;
    Value params;
    const char* in_message;  // nullptr: accepted
  };
  const Case cases[] = {
      {"missing required", Value::Map{}, "param zones is required"},
      {"wrong type", Value::Map{{"zones", "a"}}, "param zones must be a list"},
      {"wrong int", Value::Map{{"zones", Value::List{}}, {"count", "3"}}, "param count"},
      {"undeclared", Value::Map{{"zones", Value::List{}}, {"zonez", 1}}, "param zonez"},
      {"not a map", Value::List{}, "params must be a map"},
      {"fine", Value::Map{{"zones", Value::List{"a"}}, {"ratio", 2}}, nullptr},
  };
  Harness h(&registry_);
  h.Open();
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string id = "p" + std::to_string(n++);
    Status s = h.engine->StartRun(id, wf, c.params);
    if (c.in_message == nullptr) {
      ASSERT_TRUE(s.ok()) << s.ToString();
      Result<RunView> v = h.Drive(id);
      ASSERT_TRUE(v.ok());
      EXPECT_EQ(v->params.ToJson(), R"({"count":3,"ratio":2.0,"zones":["a"]})");
      continue;
    }
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(c.in_message), std::string::npos) << s.ToString();
    EXPECT_EQ(h.journal.ReadRun(id).status().code(), StatusCode::kNotFound);
  }
}

TEST_F(RuntimeTest, FanOutRunsOneInstancePerItemAndGathersOutputsInOrder) {
  auto wf = Load(R"yaml(
name: fanout
params:
  - {name: zones, type: list, required: true}
steps:
  - id: each
    action: test.echo
    forEach: $(params.zones)
    with: {value: "zone $(item)"}
  - id: gather
    action: test.echo
    needs: [each]
    with: {value: $(steps.each.outputs.value)}
)yaml");
  struct Case {
    Value zones;
    const char* gathered;
  };
  const Case cases[] = {
      {Value::List{"a", "b", "c"}, R"({"value":["zone a","zone b","zone c"]})"},
      {Value::List{}, R"({"value":[]})"},
  };
  Harness h(&registry_);
  h.Open();
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.zones.ToJson());
    std::string id = "f" + std::to_string(n++);
    ASSERT_TRUE(h.engine->StartRun(id, wf, Value::Map{{"zones", c.zones}}).ok());
    Result<RunView> v = h.Drive(id);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->state, RunState::kSucceeded);
    const InstanceView* g = Find(*v, "gather");
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->outputs.ToJson(), c.gathered);
    for (size_t i = 0; i < c.zones.as_list().size(); ++i) {
      const InstanceView* item = Find(*v, "each", static_cast<int>(i));
      ASSERT_NE(item, nullptr);
      EXPECT_EQ(item->idempotency_key, id + ":each:" + std::to_string(i));
      EXPECT_EQ(item->state, InstanceState::kSucceeded);
    }
  }
}

TEST_F(RuntimeTest, RetriesWaitTheirBackoffOnTheClock) {
  struct Case {
    const char* jitter;
  };
  const Case cases[] = {{"none"}, {"full"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.jitter);
    auto wf = Load(std::string(R"yaml(
name: retry
steps:
  - id: flaky
    action: test.fail
    with: {times: 2}
    retry: {limit: 3, backoff: 1s, factor: 2, maxBackoff: 1m, jitter: )yaml") +
                   c.jitter + "}\n");
    ASSERT_NE(wf, nullptr);
    Harness h(&registry_);
    h.Open();
    ASSERT_TRUE(h.engine->StartRun("r", wf, Value::Map{}).ok());
    Result<RunView> v = h.Drive("r");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->state, RunState::kSucceeded);
    std::vector<Event> events = h.Events("r");
    uint64_t seed = events.front().start.get().seed;
    const RetryPolicy& policy = wf->steps[0].retry;
    Duration d2 = BackoffDelay(policy, seed, "flaky", -1, 2);
    Duration d3 = BackoffDelay(policy, seed, "flaky", -1, 3);
    if (std::string(c.jitter) == "none") {
      EXPECT_EQ(d2, seconds(1));
      EXPECT_EQ(d3, seconds(2));
    }
    std::string t2 = std::to_string(d2.count());
    std::string t3 = std::to_string((d2 + d3).count());
    EXPECT_EQ(h.Timeline("r"),
              (std::vector<std::string>{
                  "RunStarted @0", "AttemptStarted flaky#1 @0", "AttemptFailed flaky#1 @0",
                  "AttemptStarted flaky#2 @" + t2, "AttemptFailed flaky#2 @" + t2,
                  "AttemptStarted flaky#3 @" + t3, "AttemptSucceeded flaky#3 @" + t3,
                  "RunFinished @" + t3}));
    EXPECT_TRUE(events[2].retryable);
    EXPECT_EQ(events[2].code, StatusCode::kUnavailable);
  }
}

TEST_F(RuntimeTest, AttemptTimesOutAtItsDeadlineAndRetriesThenFails) {
  auto wf = Load(R"yaml(
name: timeout
steps:
  - id: slow
    action: test.sleep
    with: {duration: 1h}
    timeout: 2s
    retry: {limit: 1, backoff: 1s, jitter: none}
  - id: never
    action: test.noop
    needs: [slow]
)yaml");
  Harness h(&registry_);
  h.Open();
  ASSERT_TRUE(h.engine->StartRun("t", wf, Value::Map{}).ok());
  Result<RunView> v = h.Drive("t");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kFailed);
  EXPECT_NE(v->message.find("slow"), std::string::npos) << v->message;
  EXPECT_EQ(Find(*v, "slow")->state, InstanceState::kTimedOut);
  EXPECT_EQ(Find(*v, "never")->state, InstanceState::kSkipped);
  EXPECT_EQ(h.Timeline("t"),
            (std::vector<std::string>{"RunStarted @0", "AttemptStarted slow#1 @0",
                                      "Observed slow#1 @0", "AttemptTimedOut slow#1 @2000",
                                      "AttemptStarted slow#2 @3000", "Observed slow#2 @3000",
                                      "AttemptTimedOut slow#2 @5000", "RunFinished @5000"}));
  EXPECT_EQ(h.env.pending_timers(), 0u);  // the sleep's 1h recheck timers were cancelled
}

constexpr char kCancel[] = R"yaml(
name: cancel
params:
  - {name: out, type: string, required: true}
steps:
  - id: long
    action: test.sleep
    with: {duration: 1h}
  - id: after
    action: test.noop
    needs: [long]
finally:
  - id: cleanup
    action: test.append
    if: failed
    with: {path: $(params.out), text: cleanup}
  - id: report
    action: test.echo
    if: succeeded
    with: {value: x}
)yaml";

TEST_F(RuntimeTest, CancelStopsTheMainGraphAndRunsFinally) {
  std::string out = File("cancel");
  Harness h(&registry_);
  h.Open();
  ASSERT_TRUE(h.engine->StartRun("c", Load(kCancel), Value::Map{{"out", out}}).ok());
  h.Idle();
  h.env.Advance(seconds(5));
  ASSERT_TRUE(h.engine->Cancel("c", "operator said so").ok());
  Status twice = h.engine->Cancel("c", "twice");
  ASSERT_TRUE(twice.ok()) << twice.ToString();
  Result<RunView> v = h.Drive("c");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kCancelled);
  EXPECT_EQ(Find(*v, "long")->state, InstanceState::kCancelled);
  EXPECT_EQ(Find(*v, "after")->state, InstanceState::kCancelled);  // pending, cancelled
  EXPECT_EQ(Find(*v, "cleanup")->state, InstanceState::kSucceeded);
  EXPECT_EQ(Find(*v, "report")->state, InstanceState::kSkipped);
  EXPECT_EQ(Lines(out), (std::vector<std::string>{"c:cleanup cleanup"}));
  int cancels = 0;
  for (const Event& e : h.Events("c")) {
    if (e.type == EventType::kCancelRequested) {
      ++cancels;
      EXPECT_EQ(e.message, "operator said so");
    }
  }
  EXPECT_EQ(cancels, 1);
  EXPECT_TRUE(h.engine->Cancel("c", "after the end").ok());
  EXPECT_EQ(h.engine->Cancel("nope", "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(h.engine->WaitRun("nope", Duration(0)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(h.engine->GetRun("nope").status().code(), StatusCode::kNotFound);
}

constexpr char kWatch[] = R"yaml(
name: watch
steps:
  - id: w
    action: test.watch
)yaml";

TEST_F(RuntimeTest, WakeReconcilesOnlyTheStepsWaitingOnThatObject) {
  Harness h(&registry_);
  h.Open();
  ASSERT_TRUE(h.engine->StartRun("w1", Load(kWatch), Value::Map{}).ok());
  h.Idle();
  EXPECT_EQ(h.gate.calls.load(), 1);
  ObjectRef other = kGateRef;
  other.name = "someone-else";
  h.engine->Wake(other);
  h.Idle();
  EXPECT_EQ(h.gate.calls.load(), 1);
  h.engine->Wake(kGateRef);  // still closed: reconciled, waits again, observation unchanged
  h.Idle();
  EXPECT_EQ(h.gate.calls.load(), 2);
  Result<RunView> v = h.engine->GetRun("w1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(Find(*v, "w")->state, InstanceState::kRunning);
  EXPECT_EQ(Find(*v, "w")->observed, "gate closed");
  h.gate.open = true;
  h.engine->Wake(kGateRef);
  v = h.Drive("w1");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kSucceeded);
  EXPECT_EQ(h.gate.calls.load(), 3);
  EXPECT_EQ(h.Timeline("w1"),
            (std::vector<std::string>{"RunStarted @0", "AttemptStarted w#1 @0",
                                      "Observed w#1 @0", "AttemptSucceeded w#1 @0",
                                      "RunFinished @0"}));
}

// One wake-up that reaches more runs than PumpDirty takes per call: the rest wait for the
// next calls, and completions are taken in between; every run still ends, each record once.
TEST_F(RuntimeTest, AWakeReachingThousandsOfRunsEndsEveryOne) {
  Harness h(&registry_);
  h.Open();
  constexpr int kRuns = 3 * static_cast<int>(internal::RuntimeImpl::kPumpBudget) + 7;
  std::shared_ptr<const Workflow> wf = Load(kWatch);
  for (int i = 0; i < kRuns; ++i) {
    ASSERT_TRUE(h.engine->StartRun("w" + std::to_string(i), wf, Value::Map{}).ok());
  }
  h.Idle();
  EXPECT_EQ(h.gate.calls.load(), kRuns);
  h.gate.open = true;
  h.engine->Wake(kGateRef);
  h.Idle();
  EXPECT_TRUE(h.engine->ActiveRunIds().empty());
  for (int i = 0; i < kRuns; ++i) {
    Result<RunView> v = h.engine->WaitRun("w" + std::to_string(i), Duration(0));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->state, RunState::kSucceeded);
  }
  EXPECT_EQ(h.gate.calls.load(), 2 * kRuns);
  // RunStarted, AttemptStarted, Observed, AttemptSucceeded, RunFinished: five each.
  EXPECT_EQ(h.engine->stats().transitions, 5u * kRuns);
}

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

TEST_F(RuntimeTest, ReopenResumesFromTheJournalWithTheSameKeysAndDeadlines) {
  std::string out = File("resume");
  Harness h(&registry_);
  h.workers = 1;
  h.Open();
  ASSERT_TRUE(h.engine->StartRun("res", Load(kResume), Value::Map{{"out", out}}).ok());
  h.Idle();
  h.env.Advance(seconds(4));
  h.Idle();
  h.ExpectLiveEqualsReplayed("res");
  size_t before = h.journal.AllEntriesForTest().size();
  h.Close();  // a restart: nothing is journaled by the shutdown
  EXPECT_EQ(h.journal.AllEntriesForTest().size(), before);
  EXPECT_EQ(h.env.pending_timers(), 0u);

  h.Open();
  EXPECT_EQ(h.engine->ActiveRunIds(), (std::vector<std::string>{"res"}));
  h.ExpectLiveEqualsReplayed("res");
  Result<RunView> v = h.Drive("res");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kSucceeded);
  // The sleep kept its journaled start: it ended 10s after it began, not 10s after the reopen.
  EXPECT_EQ(h.Timeline("res"),
            (std::vector<std::string>{
                "RunStarted @0", "AttemptStarted first#1 @0", "AttemptSucceeded first#1 @0",
                "AttemptStarted nap#1 @0", "Observed nap#1 @0", "AttemptSucceeded nap#1 @10000",
                "AttemptStarted fan[0]#1 @10000", "AttemptStarted fan[1]#1 @10000",
                "AttemptStarted fan[2]#1 @10000", "AttemptSucceeded fan[0]#1 @10000",
                "AttemptSucceeded fan[1]#1 @10000", "AttemptSucceeded fan[2]#1 @10000",
                "AttemptStarted last#1 @10000", "AttemptSucceeded last#1 @10000",
                "RunFinished @10000"}));
  EXPECT_EQ(SortedLines(out), (std::vector<std::string>{"res:fan:0 fan 0", "res:fan:1 fan 1",
                                                        "res:fan:2 fan 2", "res:first first",
                                                        "res:last last"}));
}

constexpr char kCrashy[] = R"yaml(
name: crashy
params:
  - {name: out, type: string, required: true}
steps:
  - id: prep
    action: test.append
    with: {path: $(params.out), text: prep}
  - id: flaky
    action: test.fail
    needs: [prep]
    with: {times: 1}
    retry: {limit: 2, backoff: 1s, jitter: none}
  - id: fan
    action: test.append
    needs: [flaky]
    forEach: [a, b, c]
    with: {path: $(params.out), text: "$(item)"}
  - id: nap
    action: test.sleep
    needs: [prep]
    with: {duration: 3s}
finally:
  - id: done
    action: test.append
    with: {path: $(params.out), text: finally}
)yaml";

// A crash after every journal record: the journal keeps the batch holding record N and nothing
// after; the engine is dropped and reopened on it. The run must end as if nothing happened,
// with every side effect exactly once.
TEST_F(RuntimeTest, CrashAfterEveryRecordResumesWithEachSideEffectOnce) {
  auto wf = Load(kCrashy);
  ASSERT_NE(wf, nullptr);
  const std::vector<std::string> want = {"x:done finally", "x:fan:0 a", "x:fan:1 b",
                                         "x:fan:2 c", "x:prep prep"};  // sorted
  size_t total = 0;
  {
    std::string out = File("crash_ref");
    Harness h(&registry_);
    h.Open();
    ASSERT_TRUE(h.engine->StartRun("x", wf, Value::Map{{"out", out}}).ok());
    Result<RunView> v = h.Drive("x");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ASSERT_EQ(v->state, RunState::kSucceeded);
    total = h.journal.AllEntriesForTest().size();
    ASSERT_EQ(SortedLines(out), want);
  }
  ASSERT_GT(total, 10u);
  for (size_t n = 1; n <= total; ++n) {
    SCOPED_TRACE("crash after record " + std::to_string(n));
    std::string out = File("crash_" + std::to_string(n));
    Harness h(&registry_);
    h.journal.CrashAfterRecordsForTest(n);
    h.Open();
    Status started = h.engine->StartRun("x", wf, Value::Map{{"out", out}});
    EXPECT_TRUE(started.ok() || n == 1) << started.ToString();
    Result<RunView> stopped = h.Drive("x");
    EXPECT_FALSE(stopped.ok() && n < total);  // it cannot get to the end before the crash
    h.Close();
    h.journal.ReviveForTest();
    h.Open();
    ASSERT_TRUE(h.engine->StartRun("x", wf, Value::Map{{"out", out}}).ok());  // resume
    Result<RunView> v = h.Drive("x");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->state, RunState::kSucceeded);
    EXPECT_EQ(SortedLines(out), want);
    Result<std::vector<Journal::Problem>> problems = h.journal.Verify();
    ASSERT_TRUE(problems.ok());
    EXPECT_TRUE(problems->empty());
  }
}

TEST_F(RuntimeTest, TenThousandWaitingRunsHoldNoThreads) {
  auto wf = Load(R"yaml(
name: many
steps:
  - id: nap
    action: test.sleep
    with: {duration: 1h}
)yaml");
  constexpr int kRuns = 10000;
  Harness h(&registry_);
  h.Open();  // 3 workers
  std::vector<std::thread> starters;
  for (int t = 0; t < 4; ++t) {
    starters.emplace_back([&, t] {
      for (int i = t; i < kRuns; i += 4) {
        Status s = h.engine->StartRun("m" + std::to_string(i), wf, Value::Map{});
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
    });
  }
  for (std::thread& t : starters) t.join();
  h.Idle();
  EngineStats s = h.engine->stats();
  EXPECT_EQ(s.active_runs, static_cast<size_t>(kRuns));
  EXPECT_EQ(s.reconciles, static_cast<uint64_t>(kRuns));  // each waiting, none holding a worker
  Result<RunView> one = h.engine->GetRun("m1234");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(Find(*one, "nap")->state, InstanceState::kRunning);
  h.env.Advance(hours(1));
  h.Idle();
  s = h.engine->stats();
  EXPECT_EQ(s.active_runs, 0u);
  EXPECT_EQ(s.transitions, static_cast<uint64_t>(kRuns) * 5);  // started, attempt, observed,
                                                              // succeeded, finished
  Result<RunView> done = h.engine->WaitRun("m9999", Duration(0));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, RunState::kSucceeded);
}

constexpr char kBlock[] = R"yaml(
name: block
steps:
  - id: blk
    action: test.block
)yaml";

TEST_F(RuntimeTest, ShutdownWaitsForAReconcileInFlightAndARestartRedoesIt) {
  Harness h(&registry_);
  h.Open();
  ASSERT_TRUE(h.engine->StartRun("b", Load(kBlock), Value::Map{}).ok());
  ASSERT_TRUE(h.latch.WaitEntered(kPatience));
  // The destructor cannot interrupt the call; it waits for it, on another thread here.
  std::thread closer([&] { h.Close(); });
  h.latch.Release();
  closer.join();
  size_t kept = h.journal.AllEntriesForTest().size();
  // Whether the outcome made it into the journal depends on whether the engine was already
  // stopping when it came back; either way the reopened engine finishes the run.
  EXPECT_TRUE(kept >= 2 && kept <= 4) << kept;  // RunStarted, AttemptStarted[, Succeeded[, End]]
  h.Open();
  Result<RunView> v = h.Drive("b");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kSucceeded);
  std::lock_guard<std::mutex> l(h.latch.mu);
  EXPECT_EQ(h.latch.calls, kept == 2 ? 2 : 1);  // redone under the same key only if dropped
}

// The run ends (cancelled) while a Reconcile still runs: the slot it points at outlives the
// run until the call returns, and its late outcome is dropped, not journaled.
TEST_F(RuntimeTest, ARunThatEndsWhileItsReconcileRunsDropsTheLateOutcome) {
  Harness h(&registry_);
  h.Open();
  ASSERT_TRUE(h.engine->StartRun("b", Load(kBlock), Value::Map{}).ok());
  ASSERT_TRUE(h.latch.WaitEntered(kPatience));
  ASSERT_TRUE(h.engine->Cancel("b", "stop").ok());
  Result<RunView> v = h.engine->WaitRun("b", kPatience);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kCancelled);
  h.latch.Release();
  ASSERT_TRUE(h.engine->WaitIdleForTest(kPatience).ok());
  for (const Event& e : h.Events("b")) EXPECT_NE(e.type, EventType::kAttemptSucceeded);
  EXPECT_EQ(h.Events("b").back().type, EventType::kRunFinished);
  // The engine goes on: a new run under a new id runs to its end.
  ASSERT_TRUE(h.engine->StartRun("s", Load(kSimple), Value::Map{}).ok());
  Result<RunView> s = h.Drive("s");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->state, RunState::kSucceeded);
}

TEST_F(RuntimeTest, AFailedAppendStallsTheRunAndIsReported) {
  Harness h(&registry_);
  h.Open();
  ASSERT_TRUE(h.engine->StartRun("s", Load(kWatch), Value::Map{}).ok());
  h.Idle();
  h.journal.FailAppendsForTest(UnavailableError("disk on fire"));
  h.gate.open = true;
  h.engine->Wake(kGateRef);
  h.Idle();
  Result<RunView> v = h.engine->WaitRun("s", kPatience);
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(v.status().message().find("disk on fire"), std::string::npos);
  EXPECT_NE(v.status().message().find("run s"), std::string::npos);
  Result<RunView> live = h.engine->GetRun("s");
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(Find(*live, "w")->state, InstanceState::kRunning);  // nothing applied unjournaled
  // A new run cannot start either.
  EXPECT_EQ(h.engine->StartRun("s2", Load(kWatch), Value::Map{}).code(),
            StatusCode::kUnavailable);
  // After "a restart" the step is reconciled again and the run completes.
  h.Close();
  h.journal.ReviveForTest();
  h.Open();
  v = h.Drive("s");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kSucceeded);
}

TEST_F(RuntimeTest, OutputsOverTheRecordCapFailTheStep) {
  Harness h(&registry_, MemoryJournalOptions{.max_record_bytes = 1000});
  h.Open();
  ASSERT_TRUE(h.engine->StartRun("big", Load(R"yaml(
name: big
steps:
  - id: b
    action: test.big
)yaml"),
                                 Value::Map{})
                  .ok());
  Result<RunView> v = h.Drive("big");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->state, RunState::kFailed);
  const InstanceView* b = Find(*v, "b");
  EXPECT_EQ(b->state, InstanceState::kFailed);
  EXPECT_EQ(b->last_error.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(b->last_error.message().find("refused the step's outputs"), std::string::npos);
}

TEST_F(RuntimeTest, DamagedJournalFailsOpenNamingRunAndSeq) {
  auto wf = Load(kSimple);
  ASSERT_NE(wf, nullptr);
  Event started;
  started.type = EventType::kRunStarted;
  started.seq = 1;
  started.start.mut() =
      RunStart{.workflow_name = wf->name, .definition_hash = wf->hash, .params = Value::Map{}};
  Event bad_success;
  bad_success.type = EventType::kAttemptSucceeded;
  bad_success.seq = 2;
  bad_success.step_id = "b";  // never started
  bad_success.attempt = 1;
  Event gap = bad_success;
  gap.type = EventType::kAttemptStarted;
  gap.step_id = "a";
  gap.seq = 3;
  gap.idempotency_key = "d:a";
  Event first_not_started = bad_success;
  first_not_started.seq = 1;
  Event orphan = started;
  orphan.start.mut().definition_hash = "0000";

  struct Case {
    const char* name;
    std::vector<Event> events;
    const char* in_message;
  };
  const Case cases[] = {
      {"impossible transition", {started, bad_success}, "run d seq 2"},
      {"seq gap", {started, gap}, "run d seq 2"},
      {"first record not RunStarted", {first_not_started}, "run d seq 1"},
      {"definition missing", {orphan}, "definition 0000"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Harness h(&registry_);
    ASSERT_TRUE(h.journal.PutDefinition(wf->hash, wf->source_text).ok());
    h.journal.PutRunForTest("d", c.events, /*active=*/true);
    Result<std::unique_ptr<Runtime>> rt =
        OpenRuntime(Options(&h.env, &h.journal, &registry_));
    ASSERT_FALSE(rt.ok());
    EXPECT_EQ(rt.status().code(), StatusCode::kDataLoss) << rt.status().ToString();
    EXPECT_NE(rt.status().message().find(c.in_message), std::string::npos)
        << rt.status().ToString();
  }
}

TEST_F(RuntimeTest, BadOptionsAreRejected) {
  FakeEnv env;
  MemoryJournal journal;
  EXPECT_EQ(OpenRuntime(Options(nullptr, &journal, &registry_)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenRuntime(Options(&env, &journal, &registry_, /*workers=*/0)).status().code(),
            StatusCode::kInvalidArgument);
  Workflow handmade;
  handmade.name = "no-source";
  Result<std::unique_ptr<Engine>> e =
      OpenEngine(Options(&env, &journal, &registry_));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->StartRun("h", std::make_shared<const Workflow>(handmade), Value::Map{}).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(RuntimeTest, ObserversSeeEveryDurableTransition) {
  Harness h(&registry_);
  std::vector<uint64_t> seen;  // engine thread only, read after Close
  EngineOptions o = Options(&h.env, &h.journal, &registry_);
  o.on_run_changed = [&seen](const RunView& v) { seen.push_back(v.last_seq); };
  Result<std::unique_ptr<Runtime>> rt = OpenRuntime(std::move(o));
  ASSERT_TRUE(rt.ok());
  h.engine = std::move(*rt);
  ASSERT_TRUE(h.engine->StartRun("o", Load(kSimple), Value::Map{}).ok());
  ASSERT_TRUE(h.Drive("o").ok());
  h.Close();
  // Each append was applied whole; the last one seen is the RunFinished.
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), 6u);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]);
}

}  // namespace
}  // namespace brfed
