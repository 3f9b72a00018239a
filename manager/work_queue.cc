#include "manager/work_queue.h"

namespace brfed::manager {

WorkQueue::WorkQueue(int workers, Handler handler) : handler_(std::move(handler)) {
  for (int i = 0; i < (workers < 1 ? 1 : workers); ++i) workers_.emplace_back([this] { Work(); });
  delayer_ = std::thread([this] { Delayer(); });
}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  delay_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  delayer_.join();
}

void WorkQueue::Add(const std::string& key) {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++adds_;
    if (active_.count(key)) {
      again_.insert(key);
      return;
    }
    if (!queued_.insert(key).second) return;
    queue_.push_back(key);
  }
  cv_.notify_one();
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::milliseconds delay) {
  {
    std::lock_guard<std::mutex> l(mu_);
    later_.emplace(std::chrono::steady_clock::now() + delay, key);
  }
  delay_cv_.notify_one();
}

size_t WorkQueue::depth() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

uint64_t WorkQueue::adds() const {
  std::lock_guard<std::mutex> l(mu_);
  return adds_;
}

void WorkQueue::Work() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::string key = std::move(queue_.front());
    queue_.pop_front();
    queued_.erase(key);
    active_.insert(key);
    l.unlock();
    handler_(key);
    l.lock();
    active_.erase(key);
    if (again_.erase(key) && queued_.insert(key).second) {
      queue_.push_back(key);
      cv_.notify_one();
    }
  }
}

void WorkQueue::Delayer() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (later_.empty()) {
      delay_cv_.wait(l);
      continue;
    }
    // A copy of the deadline: wait_until reads it while the lock is released.
    const auto deadline = later_.begin()->first;
    if (delay_cv_.wait_until(l, deadline) == std::cv_status::timeout) {
      auto now = std::chrono::steady_clock::now();
      std::vector<std::string> due;
      while (!later_.empty() && later_.begin()->first <= now) {
        due.push_back(later_.begin()->second);
        later_.erase(later_.begin());
      }
      l.unlock();
      for (const std::string& key : due) Add(key);
      l.lock();
    }
  }
}

}  // namespace brfed::manager
