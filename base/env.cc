// Env::Default: the system clock and one timer thread serving a min-heap of deadlines.

#include "brfed/env.h"

#include <condition_variable>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace brfed {
namespace {

class PosixEnv final : public Env {
 public:
  PosixEnv() : thread_([this] { TimerLoop(); }) {}
  // Never destroyed: Env::Default leaks it on purpose, so its thread is never joined.
  PosixEnv(const PosixEnv&) = delete;
  PosixEnv& operator=(const PosixEnv&) = delete;

  TimePoint Now() override { return std::chrono::time_point_cast<Duration>(Clock::now()); }

  int64_t MonotonicNanos() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  TimerId StartTimer(TimePoint when, std::function<void()> fn) override {
    std::lock_guard<std::mutex> l(mu_);
    TimerId id = ++last_id_;
    callbacks_.emplace(id, std::move(fn));
    heap_.push({when, id});
    // Only a new earliest deadline changes how long the timer thread should sleep.
    if (heap_.top().id == id) cv_.notify_all();
    return id;
  }

  void CancelTimer(TimerId id) override {
    std::unique_lock<std::mutex> l(mu_);
    if (callbacks_.erase(id) > 0) return;  // its heap entry is skipped when it surfaces
    // Fired or firing. A callback cancelling itself must not wait for itself.
    if (std::this_thread::get_id() == thread_.get_id()) return;
    done_cv_.wait(l, [&] { return running_ != id; });
  }

 private:
  struct Entry {
    TimePoint when;
    TimerId id;
    // Min-heap on (when, id): equal deadlines fire in start order.
    bool operator>(const Entry& o) const { return when != o.when ? when > o.when : id > o.id; }
  };

  void TimerLoop() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      if (heap_.empty()) {
        cv_.wait(l);
        continue;
      }
      Entry top = heap_.top();
      if (callbacks_.find(top.id) == callbacks_.end()) {  // cancelled
        heap_.pop();
        continue;
      }
      if (Now() < top.when) {
        // system_clock waits follow wall-clock jumps, like the deadlines they serve.
        cv_.wait_until(l, top.when);
        continue;
      }
      heap_.pop();
      auto it = callbacks_.find(top.id);
      std::function<void()> fn = std::move(it->second);
      callbacks_.erase(it);
      running_ = top.id;
      l.unlock();
      fn();
      fn = nullptr;  // destroy captured state before reporting the callback done
      l.lock();
      running_ = 0;
      done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;       // the heap's head changed
  std::condition_variable done_cv_;  // a callback finished
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::unordered_map<TimerId, std::function<void()>> callbacks_;  // pending timers only
  TimerId last_id_ = 0;
  TimerId running_ = 0;  // the callback running now, 0 when none
  std::thread thread_;   // last: starts after every other member is built
};

}  // namespace

Env* Env::Default() {
  static Env* env = new PosixEnv();  // never deleted: timers may outlive static destructors
  return env;
}

}  // namespace brfed
