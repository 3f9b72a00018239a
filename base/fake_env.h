// FakeEnv: an Env whose clock moves only when a test moves it.
//
//   FakeEnv env(FromUnixMillis(1'700'000'000'000));
//   env.StartTimer(env.Now() + std::chrono::seconds(2), [&] { fired = true; });
//   env.Advance(std::chrono::seconds(1));   // nothing fires
//   env.Advance(std::chrono::seconds(1));   // fires, on this thread, with Now() == deadline
//
// Timers fire on the thread that advances the clock, one at a time, in (deadline, id) order;
// while a timer fires Now() reads its deadline. A timer whose deadline is not after Now() when
// it is started fires on the next Advance (Advance(0) or RunDueTimers() will do). Timers that
// callbacks start fire in the same Advance when their deadline is within it. MonotonicNanos is
// the fake clock in nanoseconds. Thread-safe; Advance and SetNow must not be called from a
// timer callback, and calls to them from several threads take turns.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "brfed/env.h"

namespace brfed {

class FakeEnv final : public Env {
 public:
  // The clock starts at `start` (by default 2023-11-14T22:13:20Z, a round Unix time).
  explicit FakeEnv(TimePoint start = FromUnixMillis(1'700'000'000'000));
  ~FakeEnv() override;
  FakeEnv(const FakeEnv&) = delete;
  FakeEnv& operator=(const FakeEnv&) = delete;

  TimePoint Now() override;
  int64_t MonotonicNanos() override;
  TimerId StartTimer(TimePoint when, std::function<void()> fn) override;
  void CancelTimer(TimerId id) override;

  // Moves the clock forward by `d` (>= 0), firing every timer due up to the new time.
  void Advance(Duration d);
  // Moves the clock to `t`, firing the timers due up to `t`. A `t` in the past sets the clock
  // back (a wall-clock jump) and fires nothing that was not already due.
  void SetNow(TimePoint t);
  // Fires the timers already due. Same as Advance(Duration(0)).
  void RunDueTimers() { Advance(Duration(0)); }

  // The deadline of the earliest pending timer, if any.
  std::optional<TimePoint> NextDeadline();
  // Moves the clock to the earliest pending timer's deadline (if it is in the future) and
  // fires what is due then. Returns false when no timer is pending.
  bool AdvanceToNextTimer();
  size_t pending_timers();

 private:
  using Key = std::pair<TimePoint, TimerId>;

  // Fires the due timers up to `target`, then sets the clock to `target`.
  void RunUntil(TimePoint target);

  std::mutex advance_mu_;  // serialises Advance/SetNow callers
  std::mutex mu_;
  std::condition_variable done_cv_;  // a callback finished
  TimePoint now_;
  TimerId last_id_ = 0;
  TimerId running_ = 0;  // the callback running now, 0 when none
  std::thread::id firing_thread_;  // the thread inside RunUntil, if any
  std::map<Key, std::function<void()>> timers_;
  std::map<TimerId, TimePoint> deadlines_;
};

}  // namespace brfed
