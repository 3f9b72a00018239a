// StopSignal: a one-shot, thread-safe "stop now" flag that also interrupts blocking waits.
//
//   StopSignal stop;
//   std::thread t([&] { client->Watch(kBackups, "ns1", {}, on_event, &stop); });
//   ...
//   stop.Stop();   // the watch returns promptly
//   t.join();
//
// Blocking code either sleeps in WaitFor() or registers a waker (e.g. curl_multi_wakeup)
// with ScopedWaker while it blocks elsewhere. Wakers are called under the internal lock, once
// each, from the thread calling Stop(); they must be fast and must not call back into this.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace brfed::kube {

class StopSignal {
 public:
  StopSignal() = default;
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  void Stop();
  bool stopped() const;

  // Sleeps up to `d`; returns true if stopped (before or during the wait).
  bool WaitFor(std::chrono::steady_clock::duration d);

  // Registers `wake` for the lifetime of this object. If already stopped, calls it at once.
  class ScopedWaker {
   public:
    ScopedWaker(StopSignal* signal, std::function<void()> wake);
    ScopedWaker(const ScopedWaker&) = delete;
    ScopedWaker& operator=(const ScopedWaker&) = delete;
    ~ScopedWaker();

   private:
    StopSignal* signal_;  // may be null: then this does nothing
    uint64_t id_ = 0;
  };

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;                              // GUARDED_BY(mu_)
  uint64_t next_id_ = 1;                              // GUARDED_BY(mu_)
  std::map<uint64_t, std::function<void()>> wakers_;  // GUARDED_BY(mu_)
};

}  // namespace brfed::kube
