// WorkQueue: keys to reconcile, handed to a fixed set of worker threads. A key is never given
// to two workers at once; adding a key while it is being processed makes it run once more
// afterwards; adding a queued key is a no-op. AddAfter re-adds later (conflicts, safety net).
//
//   WorkQueue q(4, [&](const std::string& key) { Sync(key); });
//   q.Add("default/vb1");
//
// Thread-safe. The destructor stops the workers after their current key.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace brfed::manager {

class WorkQueue {
 public:
  using Handler = std::function<void(const std::string& key)>;
  WorkQueue(int workers, Handler handler);
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  ~WorkQueue();

  void Add(const std::string& key);
  void AddAfter(const std::string& key, std::chrono::milliseconds delay);
  size_t depth() const;
  uint64_t adds() const;

 private:
  void Work();
  void Delayer();

  const Handler handler_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable delay_cv_;
  std::deque<std::string> queue_;                      // GUARDED_BY(mu_)
  std::set<std::string> queued_;                       // GUARDED_BY(mu_)
  std::set<std::string> active_;                       // GUARDED_BY(mu_)
  std::set<std::string> again_;                        // GUARDED_BY(mu_)
  std::multimap<std::chrono::steady_clock::time_point, std::string> later_;  // GUARDED_BY(mu_)
  uint64_t adds_ = 0;                                  // GUARDED_BY(mu_)
  bool stop_ = false;                                  // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;
  std::thread delayer_;
};

}  // namespace brfed::manager
