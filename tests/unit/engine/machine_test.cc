// Table-driven tests of the pure run machine (engine/machine.h), with workflows built in C++
// so they do not depend on the YAML loader. The golden scenario scripts (scenario_test.cc)
// cover the same ground end to end through YAML.
#include "engine/machine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/replay.h"
#include "engine/run_format.h"

namespace brfed {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TimePoint At(int64_t ms) { return TimePoint(milliseconds(ms)); }

StepDef Step(std::string id, std::vector<std::string> needs = {}) {
  StepDef s;
  s.id = std::move(id);
  s.action = "test.generic";
  s.needs = std::move(needs);
  s.retry.limit = 0;
  return s;
}

StepDef Finally(std::string id, RunCondition::Kind kind = RunCondition::Kind::kAlways,
                std::string started = "", std::vector<std::string> needs = {}) {
  StepDef s = Step(std::move(id), std::move(needs));
  s.is_finally = true;
  s.condition.kind = kind;
  s.condition.step = std::move(started);
  return s;
}

std::shared_ptr<const Workflow> MakeWorkflow(std::vector<StepDef> steps,
                                             std::vector<StepDef> finally_steps = {}) {
  auto wf = std::make_shared<Workflow>();
  wf->name = "wf";
  wf->hash = "hash0";
  wf->steps = std::move(steps);
  wf->finally_steps = std::move(finally_steps);
  return wf;
}

Event Started(Value params = Value::Map{}, uint64_t seed = 1) {
  Event e;
  e.type = EventType::kRunStarted;
  e.seq = 1;
  e.start.mut() = RunStart{
      .workflow_name = "wf", .definition_hash = "hash0", .params = std::move(params), .seed = seed};
  return e;
}

// Drives one machine and keeps its journal, the way the runtime does.
class Driver {
 public:
  explicit Driver(std::shared_ptr<const Workflow> wf, Value params = Value::Map{},
                  uint64_t seed = 1)
      : wf_(wf), m_("r1", wf) {
    Must(Started(std::move(params), seed));
  }

  void Must(Event e) {
    Status s = m_.Apply(e);
    ASSERT_TRUE(s.ok()) << s.ToString() << " for " << FormatEventLine(e, {At(0)});
    journal_.push_back(std::move(e));
  }
  Status Try(Event e) {
    e.seq = m_.last_seq() + 1;
    Status s = m_.Apply(e);
    if (s.ok()) journal_.push_back(std::move(e));
    return s;
  }

  // Applies NextEffects(now) and returns the records as text lines.
  std::vector<std::string> Effects(int64_t now_ms, std::optional<TimePoint>* wake = nullptr) {
    RunMachine::Effects fx = m_.NextEffects(At(now_ms));
    std::vector<std::string> lines;
    for (Event& e : fx.append) {
      lines.push_back(FormatEventLine(e, {At(0)}));
      Must(std::move(e));
    }
    if (wake != nullptr) *wake = fx.wake_at;
    return lines;
  }

  Event StepEvent(EventType type, const std::string& step, int item, int64_t at_ms) {
    Event e;
    e.type = type;
    e.seq = m_.last_seq() + 1;
    e.time = At(at_ms);
    e.step_id = step;
    e.item_index = item;
    e.attempt = Instance(step, item).attempt;
    return e;
  }
  void Done(const std::string& step, int item, int64_t at_ms, Value outputs = Value::Map{}) {
    Event e = StepEvent(EventType::kAttemptSucceeded, step, item, at_ms);
    e.outputs = std::move(outputs);
    Must(std::move(e));
  }
  void Fail(const std::string& step, int item, int64_t at_ms, bool retryable,
            StatusCode code = StatusCode::kUnavailable) {
    Event e = StepEvent(EventType::kAttemptFailed, step, item, at_ms);
    e.code = code;
    e.message = "boom";
    e.retryable = retryable;
    Must(std::move(e));
  }
  void Cancel(int64_t at_ms, std::string reason = "user") {
    Event e;
    e.type = EventType::kCancelRequested;
    e.seq = m_.last_seq() + 1;
    e.time = At(at_ms);
    e.message = std::move(reason);
    Must(std::move(e));
  }

  InstanceView Instance(const std::string& step, int item) const {
    for (const InstanceView& in : m_.View().instances) {
      if (in.step_id == step && in.item_index == item) return in;
    }
    ADD_FAILURE() << "no instance " << step << "[" << item << "]";
    return {};
  }
  InstanceState StateOf(const std::string& step, int item = -1) const {
    return Instance(step, item).state;
  }

  RunMachine& m() { return m_; }
  const std::vector<Event>& journal() const { return journal_; }
  std::shared_ptr<const Workflow> wf() const { return wf_; }

 private:
  std::shared_ptr<const Workflow> wf_;
  RunMachine m_;
  std::vector<Event> journal_;
};

void ExpectReplayEqualsLive(Driver& d) {
  Result<RunMachine> r = ReplayRun("r1", d.wf(), d.journal());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(RunViewToValue(r->View()).ToJson(), RunViewToValue(d.m().View()).ToJson());
}

TEST(IdempotencyKeyTest, NamesRunStepAndItem) {
  struct {
    const char* run;
    const char* step;
    int item;
    const char* want;
  } cases[] = {
      {"r1", "snap", -1, "r1:snap"},
      {"r1", "snap", 0, "r1:snap:0"},
      {"uid-9", "teardown", 12, "uid-9:teardown:12"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(IdempotencyKey(c.run, c.step, c.item), c.want);
    EXPECT_TRUE(IsIdempotencyKey(c.want, c.run, c.step, c.item));
  }
}

TEST(IdempotencyKeyTest, IsIdempotencyKeyRejectsEveryOtherKey) {
  const char* others[] = {"",           "r1",         "r1:",        "r1:sna",    "r1:snapx",
                          "r1:snap:",   "r1:snap:1",  "r1:snap:10", "r1:snap:7x", "r1:snap:07",
                          "r1;snap:7",  "r:snap:7",   "r10:snap:7", "r1:snap::7", "r1:snap:7:"};
  for (const char* k : others) {
    SCOPED_TRACE(k);
    EXPECT_FALSE(IsIdempotencyKey(k, "r1", "snap", 7));
  }
  EXPECT_TRUE(IsIdempotencyKey("r1:snap:7", "r1", "snap", 7));
  EXPECT_FALSE(IsIdempotencyKey("r1:snap:7", "r1", "snap", -1));
  EXPECT_FALSE(IsIdempotencyKey("r1:snap", "r1", "snap", 7));
}

TEST(BackoffDelayTest, WithoutJitterIsTheExponentialCap) {
  RetryPolicy p;
  p.backoff = seconds(1);
  p.factor = 2;
  p.max_backoff = seconds(10);
  p.jitter = Jitter::kNone;
  struct {
    int next_attempt;
    int64_t want_ms;
  } cases[] = {{2, 1000}, {3, 2000}, {4, 4000}, {5, 8000}, {6, 10000}, {100000, 10000}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.next_attempt);
    EXPECT_EQ(BackoffDelay(p, 7, "s", 0, c.next_attempt).count(), c.want_ms);
  }
}

TEST(BackoffDelayTest, FullJitterIsDeterministicAndWithinTheCap) {
  RetryPolicy p;
  p.backoff = seconds(1);
  p.factor = 3;
  p.max_backoff = seconds(20);
  p.jitter = Jitter::kFull;
  std::set<int64_t> distinct;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    for (int n = 2; n < 8; ++n) {
      int64_t cap = std::min<int64_t>(20000, 1000 * static_cast<int64_t>(std::pow(3, n - 2)));
      Duration d = BackoffDelay(p, seed, "snap", 1, n);
      EXPECT_GE(d.count(), 0);
      EXPECT_LE(d.count(), cap);
      EXPECT_EQ(d, BackoffDelay(p, seed, "snap", 1, n));
      distinct.insert(d.count());
    }
  }
  EXPECT_GT(distinct.size(), 200u);  // actually spread, not a constant
  EXPECT_NE(BackoffDelay(p, 1, "snap", 0, 5), BackoffDelay(p, 1, "snap", 1, 5));
}

TEST(BackoffDelayTest, NonsensicalPoliciesGiveZeroNotGarbage) {
  RetryPolicy p;
  p.backoff = milliseconds(-5);
  p.factor = -1;
  p.max_backoff = milliseconds(-1);
  EXPECT_EQ(BackoffDelay(p, 1, "s", -1, 2).count(), 0);
  EXPECT_EQ(BackoffDelay(p, 1, "s", -1, 1).count(), 0);
}

TEST(MachineTest, LinearRunSucceeds) {
  Driver d(MakeWorkflow({Step("a"), Step("b", {"a"})}));
  EXPECT_EQ(d.StateOf("a"), InstanceState::kReady);
  EXPECT_EQ(d.StateOf("b"), InstanceState::kPending);
  EXPECT_EQ(d.Effects(0), (std::vector<std::string>{
                              "2 AttemptStarted t=+0s a attempt=1 key=r1:a"}));
  EXPECT_TRUE(d.Effects(0).empty());
  d.Done("a", -1, 1000, Value::Map{{"id", "x"}});
  EXPECT_EQ(d.StateOf("b"), InstanceState::kReady);
  EXPECT_EQ(d.Effects(1000), (std::vector<std::string>{
                                 "4 AttemptStarted t=+1s b attempt=1 key=r1:b"}));
  d.Done("b", -1, 2000);
  EXPECT_EQ(d.m().state(), RunState::kFinalizing);
  EXPECT_EQ(d.Effects(2000), (std::vector<std::string>{
                                 "6 RunFinished t=+2s state=Succeeded msg=\"\""}));
  EXPECT_EQ(d.m().state(), RunState::kSucceeded);
  EXPECT_TRUE(d.m().NextEffects(At(9000)).append.empty());
  ExpectReplayEqualsLive(d);
}

TEST(MachineTest, ApplyRejectsWhatDoesNotFitAndChangesNothing) {
  StepDef each = Step("each");
  each.for_each = Value(Value::List{"x", "y"});
  StepDef timed = Step("timed");
  timed.timeout = seconds(5);
  auto wf = MakeWorkflow({Step("a"), Step("b", {"a"}), each, timed});

  auto ev = [](EventType t, std::string step, int item, int attempt, int64_t at = 0) {
    Event e;
    e.type = t;
    e.step_id = std::move(step);
    e.item_index = item;
    e.attempt = attempt;
    e.time = At(at);
    return e;
  };
  Event started_a = ev(EventType::kAttemptStarted, "a", -1, 1);
  started_a.idempotency_key = "r1:a";
  Event wrong_key = started_a;
  wrong_key.idempotency_key = "r1:other";
  Event failed_ok = ev(EventType::kAttemptFailed, "timed", -1, 1);
  Event second_start = Started();
  Event bad_finish;
  bad_finish.type = EventType::kRunFinished;
  bad_finish.final_state = RunState::kSucceeded;

  struct {
    const char* name;
    bool started;  // NextEffects applied first: a, each[*] and timed are Running
    Event event;
    const char* want;  // substring of the error
  } cases[] = {
      {"unknown step", true, ev(EventType::kAttemptStarted, "nope", -1, 1),
       "unknown step \"nope\""},
      {"item on a plain step", true, ev(EventType::kAttemptStarted, "a", 0, 1), "has no forEach"},
      {"item out of range", true, ev(EventType::kAttemptSucceeded, "each", 2, 1),
       "has no item 2"},
      {"pending step starts", true, ev(EventType::kAttemptStarted, "b", -1, 1), "is Pending"},
      {"running step starts again", true, started_a, "is Running"},
      {"attempt 2 from Ready", false, ev(EventType::kAttemptStarted, "a", -1, 2), "attempt 2"},
      {"wrong key", false, wrong_key, "key \"r1:other\""},
      {"result of no attempt", false, ev(EventType::kAttemptSucceeded, "a", -1, 1),
       "not running"},
      {"result of another attempt", true, ev(EventType::kAttemptSucceeded, "a", -1, 2),
       "not running"},
      {"failure with code OK", true, failed_ok, "code OK"},
      {"early timeout", true, ev(EventType::kAttemptTimedOut, "timed", -1, 1, 4999), "deadline"},
      {"timeout without deadline", true, ev(EventType::kAttemptTimedOut, "a", -1, 1, 99999),
       "deadline"},
      {"second RunStarted", true, second_start, "second RunStarted"},
      {"finish while running", true, bad_finish, "unfinished"},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    Driver d(wf);
    if (c.started) d.Effects(0);
    std::string before = RunViewToValue(d.m().View()).ToJson();
    Event e = c.event;
    e.seq = d.m().last_seq() + 1;
    Status s = d.m().Apply(e);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("run r1 seq " + std::to_string(e.seq) + ": "), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find(c.want), std::string::npos) << s.message();
    EXPECT_EQ(RunViewToValue(d.m().View()).ToJson(), before);
  }
}

TEST(MachineTest, SequenceAndStartRecordAreChecked) {
  auto wf = MakeWorkflow({Step("a")});
  {
    RunMachine m("r1", wf);
    Event e = Started();
    e.seq = 2;
    EXPECT_NE(m.Apply(e).message().find("expected seq 1"), std::string::npos);
  }
  {
    RunMachine m("r1", wf);
    Event e;
    e.type = EventType::kCancelRequested;
    e.seq = 1;
    EXPECT_NE(m.Apply(e).message().find("before RunStarted"), std::string::npos);
  }
  {
    RunMachine m("r1", wf);
    Event e = Started();
    e.start.mut().definition_hash = "other";
    EXPECT_NE(m.Apply(e).message().find("definition hash"), std::string::npos);
    EXPECT_EQ(m.last_seq(), 0u);
  }
  {
    RunMachine m("r1", wf);
    Event e = Started(Value::List{1});
    EXPECT_NE(m.Apply(e).message().find("not a map"), std::string::npos);
  }
}

TEST(MachineTest, FinishedRunAcceptsNothing) {
  Driver d(MakeWorkflow({Step("a")}));
  d.Effects(0);
  d.Done("a", -1, 1);
  d.Effects(1);
  ASSERT_EQ(d.m().state(), RunState::kSucceeded);
  Event cancel;
  cancel.type = EventType::kCancelRequested;
  Status s = d.Try(cancel);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("after the run finished"), std::string::npos);
}

TEST(MachineTest, FanOutExpandsWhenReadyAndCollectsOutputs) {
  StepDef snap = Step("snap");
  snap.for_each = Value("$(params.zones)");
  snap.with = Value::Map{{"zone", "$(item)"}};
  StepDef use = Step("use", {"snap"});
  use.with = Value::Map{{"ids", "$(steps.snap.outputs.id)"}, {"name", "z-$(params.zones[1])"}};
  Driver d(MakeWorkflow({snap, use}), Value::Map{{"zones", Value::List{"a", "b"}}});
  EXPECT_EQ(d.Effects(0), (std::vector<std::string>{
                              "2 AttemptStarted t=+0s snap[0] attempt=1 key=r1:snap:0",
                              "3 AttemptStarted t=+0s snap[1] attempt=1 key=r1:snap:1"}));
  std::vector<RunMachine::Attempt> running = d.m().RunningAttempts();
  ASSERT_EQ(running.size(), 2u);
  Result<Value> with = d.m().ResolveWith(running[1]);
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(with->ToJson(), R"({"zone":"b"})");
  d.Done("snap", 1, 10, Value::Map{{"id", "y"}});
  EXPECT_EQ(d.StateOf("use"), InstanceState::kPending);
  d.Done("snap", 0, 20, Value::Map{{"id", "x"}});
  d.Effects(20);
  running = d.m().RunningAttempts();
  ASSERT_EQ(running.size(), 1u);
  with = d.m().ResolveWith(running[0]);
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(with->ToJson(), R"({"ids":["x","y"],"name":"z-b"})");
  ExpectReplayEqualsLive(d);
}

TEST(MachineTest, ForEachOverAFanOutsOutputs) {
  StepDef list = Step("list");
  list.for_each = Value(Value::List{1, 2});
  StepDef each = Step("each", {"list"});
  each.for_each = Value("$(steps.list.outputs.id)");
  Driver d(MakeWorkflow({list, each}));
  d.Effects(0);
  d.Done("list", 0, 1, Value::Map{{"id", "p"}});
  d.Done("list", 1, 1, Value::Map{{"id", "q"}});
  EXPECT_EQ(d.Effects(1), (std::vector<std::string>{
                              "6 AttemptStarted t=+1ms each[0] attempt=1 key=r1:each:0",
                              "7 AttemptStarted t=+1ms each[1] attempt=1 key=r1:each:1"}));
  EXPECT_EQ(d.Instance("each", 1).item, Value("q"));
}

TEST(MachineTest, EmptyForEachSucceedsAtOnceAndNonListFails) {
  StepDef empty = Step("empty");
  empty.for_each = Value("$(params.none)");
  StepDef after = Step("after", {"empty"});
  after.with = Value::Map{{"items", "$(steps.empty.outputs)"}};
  {
    Driver d(MakeWorkflow({empty, after}), Value::Map{{"none", Value::List{}}});
    EXPECT_EQ(d.StateOf("empty"), InstanceState::kSucceeded);
    EXPECT_EQ(d.StateOf("after"), InstanceState::kReady);
    d.Effects(0);
    Result<Value> with = d.m().ResolveWith(d.m().RunningAttempts().at(0));
    ASSERT_TRUE(with.ok()) << with.status().ToString();
    EXPECT_EQ(with->ToJson(), R"({"items":[]})");
  }
  {
    Driver d(MakeWorkflow({empty, after}), Value::Map{{"none", "scalar"}});
    EXPECT_EQ(d.StateOf("empty"), InstanceState::kFailed);
    EXPECT_EQ(d.StateOf("after"), InstanceState::kSkipped);
    EXPECT_EQ(d.m().state(), RunState::kFinalizing);
    EXPECT_NE(d.Instance("empty", -1).last_error.message().find("not a list"),
              std::string::npos);
    std::vector<std::string> fx = d.Effects(0);
    ASSERT_EQ(fx.size(), 1u);
    EXPECT_NE(fx[0].find("state=Failed msg=\"step empty: INVALID_ARGUMENT: forEach"),
              std::string::npos)
        << fx[0];
  }
}

TEST(MachineTest, RetryableFailureBacksOffThenRetries) {
  StepDef a = Step("a");
  a.retry = RetryPolicy{.limit = 2, .backoff = seconds(1), .factor = 2,
                        .max_backoff = seconds(60), .jitter = Jitter::kNone};
  Driver d(MakeWorkflow({a}));
  d.Effects(0);
  d.Fail("a", -1, 1000, /*retryable=*/true);
  EXPECT_EQ(d.StateOf("a"), InstanceState::kBackoff);
  EXPECT_EQ(d.Instance("a", -1).next_time, At(2000));
  std::optional<TimePoint> wake;
  EXPECT_TRUE(d.Effects(1999, &wake).empty());
  EXPECT_EQ(wake, At(2000));
  EXPECT_EQ(d.Effects(2000), (std::vector<std::string>{
                                 "4 AttemptStarted t=+2s a attempt=2 key=r1:a"}));
  d.Fail("a", -1, 3000, true);
  EXPECT_EQ(d.Instance("a", -1).next_time, At(5000));  // 2s: factor 2
  d.Effects(5000);
  d.Fail("a", -1, 6000, true);  // third attempt: retries exhausted
  EXPECT_EQ(d.StateOf("a"), InstanceState::kFailed);
  EXPECT_EQ(d.Effects(6000), (std::vector<std::string>{
                                 "8 RunFinished t=+6s state=Failed msg=\"step a: UNAVAILABLE: boom\""}));
  ExpectReplayEqualsLive(d);
}

TEST(MachineTest, NonRetryableFailureFailsFast) {
  StepDef fan = Step("fan");
  fan.for_each = Value(Value::List{0, 1, 2});
  fan.retry.limit = 5;
  fan.retry.jitter = Jitter::kNone;
  Driver d(MakeWorkflow({fan, Step("next", {"fan"}), Step("solo")}));
  d.Effects(0);
  d.Fail("fan", 1, 10, true);  // fan[1] backs off
  d.Done("solo", -1, 10);
  d.Fail("fan", 0, 20, false, StatusCode::kInvalidArgument);
  EXPECT_EQ(d.StateOf("fan", 0), InstanceState::kFailed);
  EXPECT_EQ(d.StateOf("fan", 1), InstanceState::kSkipped);    // was in backoff
  EXPECT_EQ(d.StateOf("fan", 2), InstanceState::kCancelled);  // was running
  EXPECT_EQ(d.StateOf("next"), InstanceState::kSkipped);
  EXPECT_EQ(d.StateOf("solo"), InstanceState::kSucceeded);
  EXPECT_TRUE(d.m().RunningAttempts().empty());
  EXPECT_EQ(d.m().View().message, "step fan[0]: INVALID_ARGUMENT: boom");
  // A late result of the cancelled attempt does not fit any more.
  Event late = d.StepEvent(EventType::kAttemptSucceeded, "fan", 2, 30);
  EXPECT_EQ(d.m().Apply(late).code(), StatusCode::kDataLoss);
  ExpectReplayEqualsLive(d);
}

TEST(MachineTest, TimeoutRetriesThenTimesOut) {
  StepDef a = Step("a");
  a.timeout = seconds(5);
  a.retry = RetryPolicy{.limit = 1, .backoff = seconds(1), .factor = 2,
                        .max_backoff = seconds(60), .jitter = Jitter::kNone};
  Driver d(MakeWorkflow({a}, {Finally("cleanup")}));
  std::optional<TimePoint> wake;
  d.Effects(0, &wake);
  EXPECT_EQ(wake, At(5000));
  EXPECT_TRUE(d.Effects(4999, &wake).empty());
  EXPECT_EQ(d.Effects(5000, &wake),
            (std::vector<std::string>{"3 AttemptTimedOut t=+5s a attempt=1"}));
  EXPECT_EQ(wake, At(6000));
  EXPECT_EQ(d.Instance("a", -1).last_error.code(), StatusCode::kDeadlineExceeded);
  d.Effects(6000, &wake);
  EXPECT_EQ(wake, At(11000));
  // The last timeout ends the main graph; the finally step starts in the same batch.
  EXPECT_EQ(d.Effects(11000, &wake),
            (std::vector<std::string>{"5 AttemptTimedOut t=+11s a attempt=2",
                                      "6 AttemptStarted t=+11s cleanup attempt=1 key=r1:cleanup"}));
  EXPECT_EQ(d.StateOf("a"), InstanceState::kTimedOut);
  d.Done("cleanup", -1, 12000);
  std::vector<std::string> fx = d.Effects(12000);
  ASSERT_EQ(fx.size(), 1u);
  EXPECT_EQ(fx[0],
            "8 RunFinished t=+12s state=Failed msg=\"step a: DEADLINE_EXCEEDED: attempt 2 timed "
            "out after 5s\"");
  ExpectReplayEqualsLive(d);
}

TEST(MachineTest, CancelStopsRunningAndBackingOffInstancesThenRunsFinally) {
  StepDef fan = Step("fan");
  fan.for_each = Value(Value::List{0, 1});
  fan.retry.limit = 3;
  Driver d(MakeWorkflow({fan, Step("next", {"fan"})},
                        {Finally("on-fail", RunCondition::Kind::kFailed),
                         Finally("on-ok", RunCondition::Kind::kSucceeded)}));
  d.Effects(0);
  d.Fail("fan", 0, 5, true);
  d.Cancel(10, "operator said so");
  EXPECT_EQ(d.StateOf("fan", 0), InstanceState::kCancelled);
  EXPECT_EQ(d.StateOf("fan", 1), InstanceState::kCancelled);
  EXPECT_EQ(d.StateOf("next"), InstanceState::kCancelled);
  EXPECT_EQ(d.StateOf("on-fail"), InstanceState::kReady);
  EXPECT_EQ(d.StateOf("on-ok"), InstanceState::kSkipped);
  d.Cancel(11, "again");  // tolerated while finalizing, changes nothing
  d.Effects(12);
  d.Done("on-fail", -1, 13);
  std::vector<std::string> fx = d.Effects(13);
  ASSERT_EQ(fx.size(), 1u);
  EXPECT_EQ(fx[0], "9 RunFinished t=+13ms state=Cancelled msg=\"cancelled: operator said so\"");
  ExpectReplayEqualsLive(d);
}

// Which finally steps run, for each main-graph outcome and each `if:`.
TEST(MachineTest, FinallyConditions) {
  enum Outcome { kOk, kFail, kCancel, kFailBeforeB };
  struct {
    Outcome outcome;
    RunCondition::Kind kind;
    const char* started;
    bool runs;
  } cases[] = {
      {kOk, RunCondition::Kind::kAlways, "", true},
      {kFail, RunCondition::Kind::kAlways, "", true},
      {kCancel, RunCondition::Kind::kAlways, "", true},
      {kOk, RunCondition::Kind::kSucceeded, "", true},
      {kFail, RunCondition::Kind::kSucceeded, "", false},
      {kCancel, RunCondition::Kind::kSucceeded, "", false},
      {kOk, RunCondition::Kind::kFailed, "", false},
      {kFail, RunCondition::Kind::kFailed, "", true},
      {kCancel, RunCondition::Kind::kFailed, "", true},
      {kOk, RunCondition::Kind::kStarted, "b", true},
      {kFail, RunCondition::Kind::kStarted, "a", true},
      {kFailBeforeB, RunCondition::Kind::kStarted, "b", false},
      {kCancel, RunCondition::Kind::kStarted, "b", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << "outcome " << c.outcome << " kind "
                                    << static_cast<int>(c.kind) << " " << c.started);
    Driver d(MakeWorkflow({Step("a"), Step("b", {"a"})}, {Finally("f", c.kind, c.started)}));
    d.Effects(0);
    switch (c.outcome) {
      case kOk:
        d.Done("a", -1, 1);
        d.Effects(1);
        d.Done("b", -1, 2);
        break;
      case kFail:
      case kFailBeforeB:
        d.Fail("a", -1, 1, false);
        break;
      case kCancel:
        d.Cancel(1);
        break;
    }
    ASSERT_EQ(d.m().state(), RunState::kFinalizing);
    EXPECT_EQ(d.StateOf("f"), c.runs ? InstanceState::kReady : InstanceState::kSkipped);
    std::vector<std::string> fx = d.Effects(5);
    ASSERT_EQ(fx.size(), 1u);
    if (c.runs) {
      EXPECT_NE(fx[0].find("AttemptStarted"), std::string::npos) << fx[0];
      d.Done("f", -1, 6);
      fx = d.Effects(6);
      ASSERT_EQ(fx.size(), 1u);
    }
    EXPECT_NE(fx[0].find("RunFinished"), std::string::npos) << fx[0];
    RunState want = c.outcome == kOk       ? RunState::kSucceeded
                    : c.outcome == kCancel ? RunState::kCancelled
                                           : RunState::kFailed;
    EXPECT_EQ(d.m().state(), want);
  }
}

TEST(MachineTest, FinallyNeedsAndIndependentFailures) {
  Driver d(MakeWorkflow({Step("a")},
                        {Finally("f1"), Finally("f2", RunCondition::Kind::kAlways, "", {"f1"}),
                         Finally("f3"), Finally("f4", RunCondition::Kind::kAlways, "", {"f2"})}));
  d.Effects(0);
  d.Done("a", -1, 1);
  EXPECT_EQ(d.StateOf("f1"), InstanceState::kReady);
  EXPECT_EQ(d.StateOf("f2"), InstanceState::kPending);
  EXPECT_EQ(d.StateOf("f3"), InstanceState::kReady);
  d.Effects(1);
  d.Fail("f1", -1, 2, false);
  EXPECT_EQ(d.StateOf("f2"), InstanceState::kSkipped);  // its need failed
  EXPECT_EQ(d.StateOf("f4"), InstanceState::kSkipped);  // transitively
  EXPECT_EQ(d.StateOf("f3"), InstanceState::kRunning);  // independent: keeps running
  EXPECT_TRUE(d.Effects(3).empty());
  d.Done("f3", -1, 4);
  std::vector<std::string> fx = d.Effects(4);
  ASSERT_EQ(fx.size(), 1u);
  EXPECT_EQ(fx[0], "8 RunFinished t=+4ms state=Failed msg=\"step f1: UNAVAILABLE: boom\"");
}

TEST(MachineTest, FinallyWithNeedsRunsInOrder) {
  Driver d(MakeWorkflow({Step("a")},
                        {Finally("f1"), Finally("f2", RunCondition::Kind::kAlways, "", {"f1"})}));
  d.Effects(0);
  d.Done("a", -1, 1);
  d.Effects(1);
  EXPECT_EQ(d.StateOf("f2"), InstanceState::kPending);
  d.Done("f1", -1, 2, Value::Map{{"k", 1}});
  EXPECT_EQ(d.Effects(2), (std::vector<std::string>{
                              "6 AttemptStarted t=+2ms f2 attempt=1 key=r1:f2"}));
  d.Done("f2", -1, 3);
  d.Effects(3);
  EXPECT_EQ(d.m().state(), RunState::kSucceeded);
}

// Consequences at the same instant come in the same batch: a zero timeout with zero backoffs
// runs every attempt out and finishes the run in one NextEffects.
TEST(MachineTest, EffectsIncludeTheirOwnConsequencesAtTheSameInstant) {
  StepDef a = Step("a");
  a.timeout = milliseconds(0);
  a.retry = RetryPolicy{.limit = 2, .backoff = milliseconds(0), .factor = 2,
                        .max_backoff = milliseconds(0), .jitter = Jitter::kFull};
  Driver d(MakeWorkflow({a}));
  std::optional<TimePoint> wake;
  EXPECT_EQ(d.Effects(7, &wake),
            (std::vector<std::string>{
                "2 AttemptStarted t=+7ms a attempt=1 key=r1:a",
                "3 AttemptTimedOut t=+7ms a attempt=1",
                "4 AttemptStarted t=+7ms a attempt=2 key=r1:a",
                "5 AttemptTimedOut t=+7ms a attempt=2",
                "6 AttemptStarted t=+7ms a attempt=3 key=r1:a",
                "7 AttemptTimedOut t=+7ms a attempt=3",
                "8 RunFinished t=+7ms state=Failed msg=\"step a: DEADLINE_EXCEEDED: attempt 3 "
                "timed out after 0s\""}));
  EXPECT_EQ(wake, std::nullopt);
  ExpectReplayEqualsLive(d);
}

TEST(MachineTest, AWorkflowWithUnknownNeedsIsRefused) {
  RunMachine m("r1", MakeWorkflow({Step("a", {"ghost"})}));
  Status s = m.Apply(Started());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("step a needs unknown step ghost"), std::string::npos);
  EXPECT_TRUE(m.NextEffects(At(0)).append.empty());
}

TEST(MachineTest, NoStepsFinishesAtOnce) {
  Driver d(MakeWorkflow({}));
  EXPECT_EQ(d.Effects(0), (std::vector<std::string>{
                              "2 RunFinished t=+0s state=Succeeded msg=\"\""}));
}

TEST(MachineTest, ObservationIsKeptForTheRunningAttempt) {
  Driver d(MakeWorkflow({Step("a")}));
  d.Effects(0);
  Event e = d.StepEvent(EventType::kObserved, "a", -1, 1);
  e.message = "member k8s-1: execute";
  d.Must(e);
  EXPECT_EQ(d.Instance("a", -1).observed, "member k8s-1: execute");
}

TEST(RunFormatTest, Times) {
  struct {
    int64_t ms;
    std::optional<int64_t> base;
    const char* want;
  } cases[] = {
      {1609459200123, std::nullopt, "2021-01-01T00:00:00.123Z"},
      {0, std::nullopt, "1970-01-01T00:00:00.000Z"},
      {-1, std::nullopt, "1969-12-31T23:59:59.999Z"},
      {90500, 0, "+1m30.5s"},
      {0, 1000, "-1s"},
      {5, 5, "+0s"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want);
    FormatOptions o;
    if (c.base) o.relative_to = At(*c.base);
    EXPECT_EQ(FormatTime(At(c.ms), o), c.want);
  }
}

TEST(RunFormatTest, EventAndViewValues) {
  Event e;
  e.type = EventType::kAttemptFailed;
  e.seq = 4;
  e.time = At(1500);
  e.step_id = "snap";
  e.item_index = 2;
  e.attempt = 3;
  e.code = StatusCode::kUnavailable;
  e.retryable = true;
  e.message = "say \"hi\"";
  EXPECT_EQ(FormatEventLine(e, {At(0)}),
            "4 AttemptFailed t=+1.5s snap[2] attempt=3 code=UNAVAILABLE retryable "
            "msg=\"say \\\"hi\\\"\"");
  EXPECT_EQ(EventToValue(e).ToJson(),
            R"({"attempt":3,"code":"UNAVAILABLE","item_index":2,"message":"say \"hi\"",)"
            R"("retryable":true,"seq":4,"step":"snap","time_ms":1500,"type":"AttemptFailed"})");

  Driver d(MakeWorkflow({Step("a")}));
  d.Effects(0);
  d.Fail("a", -1, 10, false);
  Value v = RunViewToValue(d.m().View());
  EXPECT_EQ(v.Find("state")->as_string(), "Finalizing");
  EXPECT_EQ(v.Find("message")->as_string(), "step a: UNAVAILABLE: boom");
  EXPECT_TRUE(v.Find("finished_at_ms")->is_null());
  const Value& a = v.Find("instances")->as_list().at(0);
  EXPECT_EQ(a.Find("error")->ToJson(), R"({"code":"UNAVAILABLE","message":"boom"})");
  EXPECT_EQ(a.Find("finished_at_ms")->as_int(), 10);
  std::string text = FormatRunText(d.m().View(), {At(0)});
  EXPECT_EQ(text,
            "run r1 workflow=wf state=Finalizing seq=3 started=+0s\n"
            "message: step a: UNAVAILABLE: boom\n"
            "params: {}\n"
            "STEP  ITEM  SECTION  STATE   ATTEMPT  KEY   NEXT  DETAIL\n"
            "a     -     main     Failed  1        r1:a  -     error=\"UNAVAILABLE: boom\"\n");
}

// --- Properties ---------------------------------------------------------------------------

// A workflow exercising every feature: fan-out, needs, retries with jitter, timeouts, finally.
std::shared_ptr<const Workflow> RichWorkflow() {
  StepDef init = Step("init");
  init.retry = RetryPolicy{.limit = 2, .backoff = seconds(1), .factor = 2,
                           .max_backoff = seconds(30), .jitter = Jitter::kFull};
  StepDef snap = Step("snap", {"init"});
  snap.for_each = Value("$(params.zones)");
  snap.timeout = seconds(10);
  snap.retry = RetryPolicy{.limit = 3, .backoff = milliseconds(500), .factor = 3,
                           .max_backoff = seconds(30), .jitter = Jitter::kFull};
  StepDef fin = Step("finish", {"snap"});
  StepDef each = Step("each", {"snap"});
  each.for_each = Value("$(steps.snap.outputs)");
  StepDef f1 = Finally("teardown", RunCondition::Kind::kStarted, "init");
  f1.timeout = seconds(3);
  StepDef f2 = Finally("report", RunCondition::Kind::kAlways, "", {"teardown"});
  return MakeWorkflow({init, snap, fin, each}, {f1, f2});
}

// Drives a run with random outcomes, times and stray events; checks invariants after every
// step. Returns the journal of accepted events.
std::vector<Event> RandomRun(uint64_t seed, RunMachine* live) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  std::vector<Event> journal;
  Event start = Started(Value::Map{{"zones", Value::List{"a", "b", "c"}}}, seed);
  EXPECT_TRUE(live->Apply(start).ok());
  journal.push_back(start);
  int64_t now = 0;
  const char* steps[] = {"init", "snap", "finish", "each", "teardown", "report", "ghost"};
  for (int round = 0; round < 400 && !IsFinished(live->state()); ++round) {
    now += pick(4000);
    std::vector<Event> batch;
    int choice = pick(10);
    if (choice < 4) {
      batch = live->NextEffects(At(now)).append;
    } else if (choice < 8) {
      std::vector<RunMachine::Attempt> running = live->RunningAttempts();
      if (running.empty()) continue;
      const RunMachine::Attempt& a = running[pick(static_cast<int>(running.size()))];
      Event e;
      e.seq = live->last_seq() + 1;
      e.time = At(now);
      e.step_id = a.step->id;
      e.item_index = a.item_index;
      e.attempt = a.attempt;
      int r = pick(4);
      e.type = r == 0   ? EventType::kAttemptFailed
               : r == 1 ? EventType::kObserved
                        : EventType::kAttemptSucceeded;
      e.code = StatusCode::kUnavailable;
      e.retryable = pick(3) != 0;
      e.message = "m";
      e.outputs = Value::Map{{"n", round}};
      batch.push_back(e);
    } else if (choice < 9) {
      Event e;  // a random, mostly wrong, event
      e.type = static_cast<EventType>(1 + pick(8));
      e.seq = live->last_seq() + (pick(5) == 0 ? 2 : 1);
      e.time = At(now);
      e.step_id = steps[pick(7)];
      e.item_index = pick(5) - 1;
      e.attempt = pick(4);
      e.code = static_cast<StatusCode>(pick(17));
      e.final_state = static_cast<RunState>(1 + pick(5));
      batch.push_back(e);
    } else if (pick(4) == 0) {
      Event e;
      e.type = EventType::kCancelRequested;
      e.seq = live->last_seq() + 1;
      e.time = At(now);
      batch.push_back(e);
    }
    for (const Event& e : batch) {
      std::string before = RunViewToValue(live->View()).ToJson();
      uint64_t seq_before = live->last_seq();
      RunState state_before = live->state();
      Status s = live->Apply(e);
      if (s.ok()) {
        EXPECT_EQ(live->last_seq(), seq_before + 1);
        journal.push_back(e);
      } else {
        EXPECT_EQ(s.code(), StatusCode::kDataLoss);
        EXPECT_EQ(RunViewToValue(live->View()).ToJson(), before);
        if (IsFinished(state_before)) {
          EXPECT_EQ(live->state(), state_before);
        }
      }
    }
    // Invariants: each key runs at most once; running attempts are exactly the Running rows.
    std::set<std::string> keys;
    for (const RunMachine::Attempt& a : live->RunningAttempts()) {
      std::string key = IdempotencyKey(live->run_id(), a.step->id, a.item_index);
      EXPECT_TRUE(keys.insert(key).second) << key;
    }
    int running_rows = 0;
    for (const InstanceView& in : live->View().instances) {
      if (in.state == InstanceState::kRunning) ++running_rows;
      if (in.state == InstanceState::kBackoff || in.state == InstanceState::kRunning) {
        EXPECT_GE(in.attempt, 1);
      }
    }
    EXPECT_EQ(running_rows, static_cast<int>(keys.size()));
    if (IsFinished(live->state())) {
      EXPECT_TRUE(live->NextEffects(At(now)).append.empty());
    }
  }
  return journal;
}

TEST(MachinePropertyTest, RandomStreamsKeepInvariantsAndReplayExactly) {
  auto wf = RichWorkflow();
  // A fresh base seed each run, logged; BRFED_SEED=<n> replays a failing one.
  uint64_t base = std::random_device{}();
  if (const char* env = std::getenv("BRFED_SEED")) base = std::strtoull(env, nullptr, 10);
  std::cerr << "MachinePropertyTest base seed " << base << " (BRFED_SEED=" << base
            << " to reproduce)\n";
  RecordProperty("base_seed", std::to_string(base));
  int finished = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    uint64_t seed = base + i;
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    RunMachine live("r1", wf);
    std::vector<Event> journal = RandomRun(seed, &live);
    if (IsFinished(live.state())) ++finished;
    // Replaying equals the live machine, and replaying twice equals replaying once.
    Result<RunMachine> once = ReplayRun("r1", wf, journal);
    Result<RunMachine> twice = ReplayRun("r1", wf, journal);
    ASSERT_TRUE(once.ok()) << once.status().ToString();
    ASSERT_TRUE(twice.ok()) << twice.status().ToString();
    std::string want = RunViewToValue(live.View()).ToJson();
    EXPECT_EQ(RunViewToValue(once->View()).ToJson(), want);
    EXPECT_EQ(RunViewToValue(twice->View()).ToJson(), want);
    // Effects are a function of state: the same at the same time.
    RunMachine::Effects a = live.NextEffects(At(1'000'000'000));
    RunMachine::Effects b = once->NextEffects(At(1'000'000'000));
    EXPECT_EQ(a.append, b.append);
    EXPECT_EQ(a.wake_at, b.wake_at);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "failing seed " << seed;
      break;
    }
  }
  EXPECT_GT(finished, 20);  // the stream does reach the end often, or it tests little
}

TEST(MachinePropertyTest, ReplayStopsAtUntilSeq) {
  auto wf = RichWorkflow();
  RunMachine live("r1", wf);
  std::vector<Event> journal = RandomRun(42, &live);
  ASSERT_GT(journal.size(), 5u);
  RunMachine prefix("r1", wf);
  for (size_t i = 0; i < 5; ++i) ASSERT_TRUE(prefix.Apply(journal[i]).ok());
  Result<RunMachine> r = ReplayRun("r1", wf, journal, 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->last_seq(), 5u);
  EXPECT_EQ(RunViewToValue(r->View()).ToJson(), RunViewToValue(prefix.View()).ToJson());
}

TEST(MachinePropertyTest, ReplayReportsTheFirstBadRecord) {
  auto wf = RichWorkflow();
  RunMachine live("r1", wf);
  std::vector<Event> journal = RandomRun(7, &live);
  ASSERT_GT(journal.size(), 4u);
  journal.erase(journal.begin() + 2);  // a gap
  Result<RunMachine> r = ReplayRun("r1", wf, journal);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("replay: run r1 seq 4: expected seq 3"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace brfed
