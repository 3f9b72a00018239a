#include "base/fake_env.h"

#include <algorithm>
#include <thread>

namespace brfed {

FakeEnv::FakeEnv(TimePoint start) : now_(start) {}

FakeEnv::~FakeEnv() = default;

TimePoint FakeEnv::Now() {
  std::lock_guard<std::mutex> l(mu_);
  return now_;
}

int64_t FakeEnv::MonotonicNanos() {
  std::lock_guard<std::mutex> l(mu_);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(now_.time_since_epoch()).count();
}

TimerId FakeEnv::StartTimer(TimePoint when, std::function<void()> fn) {
  std::lock_guard<std::mutex> l(mu_);
  TimerId id = ++last_id_;
  timers_.emplace(Key{when, id}, std::move(fn));
  deadlines_.emplace(id, when);
  return id;
}

void FakeEnv::CancelTimer(TimerId id) {
  std::unique_lock<std::mutex> l(mu_);
  auto it = deadlines_.find(id);
  if (it != deadlines_.end()) {
    timers_.erase(Key{it->second, id});
    deadlines_.erase(it);
    return;
  }
  // Fired or firing. The firing thread is the advancing thread; a callback cancelling itself
  // must not wait for itself, and any other thread waits for the callback to return.
  if (running_ != id || std::this_thread::get_id() == firing_thread_) return;
  done_cv_.wait(l, [&] { return running_ != id; });
}

void FakeEnv::Advance(Duration d) {
  std::lock_guard<std::mutex> turn(advance_mu_);
  TimePoint target;
  {
    std::lock_guard<std::mutex> l(mu_);
    target = now_ + (d.count() > 0 ? d : Duration(0));
  }
  RunUntil(target);
}

void FakeEnv::SetNow(TimePoint t) {
  std::lock_guard<std::mutex> turn(advance_mu_);
  RunUntil(t);
}

std::optional<TimePoint> FakeEnv::NextDeadline() {
  std::lock_guard<std::mutex> l(mu_);
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first.first;
}

bool FakeEnv::AdvanceToNextTimer() {
  std::lock_guard<std::mutex> turn(advance_mu_);
  TimePoint target;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (timers_.empty()) return false;
    target = std::max(now_, timers_.begin()->first.first);
  }
  RunUntil(target);
  return true;
}

size_t FakeEnv::pending_timers() {
  std::lock_guard<std::mutex> l(mu_);
  return timers_.size();
}

void FakeEnv::RunUntil(TimePoint target) {
  std::unique_lock<std::mutex> l(mu_);
  firing_thread_ = std::this_thread::get_id();
  // A clock set backwards fires only what was already due at the old time.
  TimePoint limit = std::max(target, now_);
  while (!timers_.empty() && timers_.begin()->first.first <= limit) {
    auto it = timers_.begin();
    TimerId id = it->first.second;
    if (it->first.first > now_) now_ = it->first.first;
    std::function<void()> fn = std::move(it->second);
    timers_.erase(it);
    deadlines_.erase(id);
    running_ = id;
    l.unlock();
    fn();
    fn = nullptr;  // destroy captured state before reporting the callback done
    l.lock();
    running_ = 0;
    done_cv_.notify_all();
  }
  now_ = target;
  firing_thread_ = std::thread::id();
}

}  // namespace brfed
