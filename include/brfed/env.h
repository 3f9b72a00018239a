// Env: the clock and timers every brfed component reads time from.
//
//   Env* env = Env::Default();
//   TimerId t = env->StartTimer(env->Now() + std::chrono::seconds(5), [] { Wake(); });
//   env->CancelTimer(t);
//
// Tests use FakeEnv (base/fake_env.h), whose clock moves only when the test advances it, and
// whose timers fire in (deadline, id) order on the advancing thread: no sleeps, exact replay.
// File access of the journal goes through a leveldb::Env chosen in the journal's options.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace brfed {

// Wall-clock time. Journaled as milliseconds since the Unix epoch, so deadlines survive restarts.
using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::milliseconds>;
using Duration = std::chrono::milliseconds;

inline int64_t ToUnixMillis(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint FromUnixMillis(int64_t ms) { return TimePoint(Duration(ms)); }

using TimerId = uint64_t;

// Thread-safe. Implementations own the threads that run timer callbacks.
class Env {
 public:
  virtual ~Env() = default;

  // The current wall-clock time, millisecond precision.
  virtual TimePoint Now() = 0;

  // A monotonic reading for measuring latencies, in nanoseconds. Never journaled.
  virtual int64_t MonotonicNanos() = 0;

  // Runs `fn` once, at or after `when` on this Env's clock, on a thread of the Env's, unless
  // CancelTimer(id) ran first. Callbacks must be short: they run one at a time.
  virtual TimerId StartTimer(TimePoint when, std::function<void()> fn) = 0;

  // Cancels a timer. A no-op if it has fired or was cancelled. After it returns, the callback
  // is not running and will not run, unless it is called from inside that very callback.
  virtual void CancelTimer(TimerId id) = 0;

  // The process-wide real Env: system clock, one timer thread. Never deleted.
  static Env* Default();
};

}  // namespace brfed
