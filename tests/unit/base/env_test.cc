#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "base/fake_env.h"
#include "brfed/env.h"
#include "gtest/gtest.h"

namespace brfed {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kStart = FromUnixMillis(1'700'000'000'000);

TEST(FakeEnvTest, ClockMovesOnlyWhenAdvanced) {
  FakeEnv env(kStart);
  EXPECT_EQ(env.Now(), kStart);
  EXPECT_EQ(env.Now(), kStart);
  env.Advance(milliseconds(1500));
  EXPECT_EQ(env.Now(), kStart + milliseconds(1500));
  EXPECT_EQ(env.MonotonicNanos(), (ToUnixMillis(kStart) + 1500) * 1'000'000);
  env.SetNow(kStart + seconds(10));
  EXPECT_EQ(env.Now(), kStart + seconds(10));
}

TEST(FakeEnvTest, TimersFireInDeadlineThenIdOrderWithNowAtDeadline) {
  FakeEnv env(kStart);
  std::vector<std::string> fired;
  auto record = [&](std::string name) {
    return [&, name] { fired.push_back(name + "@" + std::to_string(ToUnixMillis(env.Now()) -
                                                                   ToUnixMillis(kStart))); };
  };
  env.StartTimer(kStart + seconds(3), record("c"));
  env.StartTimer(kStart + seconds(1), record("a"));
  env.StartTimer(kStart + seconds(1), record("b"));  // same deadline: start order
  env.StartTimer(kStart + seconds(9), record("late"));
  env.Advance(milliseconds(999));
  EXPECT_TRUE(fired.empty());
  env.Advance(seconds(4));
  EXPECT_EQ(fired, (std::vector<std::string>{"a@1000", "b@1000", "c@3000"}));
  EXPECT_EQ(env.Now(), kStart + milliseconds(4999));
  EXPECT_EQ(env.pending_timers(), 1u);
  EXPECT_EQ(env.NextDeadline(), kStart + seconds(9));
}

TEST(FakeEnvTest, PastDeadlineFiresOnNextAdvanceNotAtStart) {
  FakeEnv env(kStart);
  int fired = 0;
  env.StartTimer(kStart - seconds(1), [&] { ++fired; });
  EXPECT_EQ(fired, 0);
  env.RunDueTimers();
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(env.Now(), kStart);  // the clock never goes back to an overdue deadline
}

TEST(FakeEnvTest, CancelledTimerNeverFires) {
  FakeEnv env(kStart);
  int fired = 0;
  TimerId t = env.StartTimer(kStart + seconds(1), [&] { ++fired; });
  env.CancelTimer(t);
  env.CancelTimer(t);  // twice is a no-op
  env.Advance(seconds(5));
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(env.pending_timers(), 0u);
}

TEST(FakeEnvTest, CallbackMayStartAndCancelTimersIncludingItself) {
  FakeEnv env(kStart);
  std::vector<int> fired;
  TimerId doomed = 0;
  TimerId self = 0;
  self = env.StartTimer(kStart + seconds(1), [&] {
    fired.push_back(1);
    env.CancelTimer(self);    // itself: returns at once
    env.CancelTimer(doomed);  // a pending one: never fires
    env.StartTimer(env.Now() + seconds(1), [&] { fired.push_back(2); });  // within this Advance
    env.StartTimer(env.Now() + seconds(10), [&] { fired.push_back(3); });  // beyond it
  });
  doomed = env.StartTimer(kStart + seconds(2), [&] { fired.push_back(99); });
  env.Advance(seconds(3));
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  env.Advance(seconds(10));
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
}

TEST(FakeEnvTest, AdvanceToNextTimerJumpsToTheEarliestDeadline) {
  FakeEnv env(kStart);
  EXPECT_FALSE(env.AdvanceToNextTimer());
  int fired = 0;
  env.StartTimer(kStart + seconds(7), [&] { ++fired; });
  env.StartTimer(kStart + seconds(30), [&] { ++fired; });
  EXPECT_TRUE(env.AdvanceToNextTimer());
  EXPECT_EQ(env.Now(), kStart + seconds(7));
  EXPECT_EQ(fired, 1);
}

TEST(FakeEnvTest, SettingTheClockBackFiresNothingNew) {
  FakeEnv env(kStart);
  int fired = 0;
  env.StartTimer(kStart + seconds(1), [&] { ++fired; });
  env.SetNow(kStart - seconds(60));
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(env.Now(), kStart - seconds(60));
  env.SetNow(kStart + seconds(1));
  EXPECT_EQ(fired, 1);
}

TEST(FakeEnvTest, CancelFromAnotherThreadWaitsForTheRunningCallback) {
  FakeEnv env(kStart);
  std::promise<void> entered;
  std::promise<void> release;
  std::atomic<bool> finished{false};
  TimerId t = env.StartTimer(kStart + seconds(1), [&] {
    entered.set_value();
    release.get_future().wait();
    finished = true;
  });
  std::thread advancer([&] { env.Advance(seconds(1)); });
  entered.get_future().wait();
  std::thread canceller([&] {
    env.CancelTimer(t);
    // The contract: once CancelTimer returns, the callback is not running.
    EXPECT_TRUE(finished.load());
  });
  release.set_value();
  canceller.join();
  advancer.join();
}

// Env::Default runs on the real clock; these tests never assert on elapsed time, only on
// order and on what ran, and wait with generous limits.
TEST(DefaultEnvTest, NowIsTheSystemClock) {
  Env* env = Env::Default();
  auto before = std::chrono::time_point_cast<Duration>(Clock::now());
  TimePoint now = env->Now();
  auto after = std::chrono::time_point_cast<Duration>(Clock::now());
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
  int64_t m1 = env->MonotonicNanos();
  int64_t m2 = env->MonotonicNanos();
  EXPECT_LE(m1, m2);
}

TEST(DefaultEnvTest, DueTimersFireInDeadlineOrderAndCancelledOnesNever) {
  Env* env = Env::Default();
  std::mutex mu;
  std::vector<std::string> fired;
  auto record = [&](std::string name) {
    return [&, name] {
      std::lock_guard<std::mutex> l(mu);
      fired.push_back(name);
    };
  };
  // Block the timer thread so the timers below are all due when it gets to them.
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  TimePoint now = env->Now();
  env->StartTimer(now - seconds(10), [&, released] {
    entered.set_value();
    released.wait();
  });
  ASSERT_EQ(entered.get_future().wait_for(seconds(30)), std::future_status::ready);
  env->StartTimer(now - seconds(2), record("second"));
  TimerId doomed = env->StartTimer(now - seconds(5), record("cancelled"));
  env->StartTimer(now - seconds(3), record("first"));
  std::promise<void> last;
  env->StartTimer(now - seconds(1), [&] { last.set_value(); });
  env->CancelTimer(doomed);
  release.set_value();
  ASSERT_EQ(last.get_future().wait_for(seconds(30)), std::future_status::ready);
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(fired, (std::vector<std::string>{"first", "second"}));
}

TEST(DefaultEnvTest, CancelWaitsForARunningCallbackAndSelfCancelReturns) {
  Env* env = Env::Default();
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> finished{false};
  std::atomic<TimerId> self{0};
  std::promise<void> self_ready;
  std::shared_future<void> self_known = self_ready.get_future().share();
  TimerId t = env->StartTimer(env->Now(), [&, released, self_known] {
    self_known.wait();
    env->CancelTimer(self.load());  // from inside itself: must not deadlock
    entered.set_value();
    released.wait();
    finished = true;
  });
  self = t;
  self_ready.set_value();
  ASSERT_EQ(entered.get_future().wait_for(seconds(30)), std::future_status::ready);
  std::thread canceller([&] {
    env->CancelTimer(t);
    EXPECT_TRUE(finished.load());
  });
  release.set_value();
  canceller.join();
}

TEST(DefaultEnvTest, FarTimerCancelledBeforeItsDeadline) {
  Env* env = Env::Default();
  std::atomic<int> fired{0};
  TimerId t = env->StartTimer(env->Now() + std::chrono::hours(1), [&] { ++fired; });
  env->CancelTimer(t);
  // A timer started later with an immediate deadline proves the thread moved past the
  // cancelled one without running it (it would have been first in line only at its deadline).
  std::promise<void> done;
  env->StartTimer(env->Now(), [&] { done.set_value(); });
  ASSERT_EQ(done.get_future().wait_for(seconds(30)), std::future_status::ready);
  EXPECT_EQ(fired.load(), 0);
}

}  // namespace
}  // namespace brfed
