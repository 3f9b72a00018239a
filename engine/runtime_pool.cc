#include "engine/runtime_pool.h"

#include <cstddef>
#include <utility>

namespace brfed {

WorkerPool::WorkerPool(int threads) {
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::SubmitAll(std::vector<std::function<void()>>* tasks) {
  const size_t n = tasks->size();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) {
      tasks->clear();
      return false;
    }
    if (head_ == tasks_.size()) {
      // Nothing queued: the batch becomes the queue, and the caller gets the queue's memory
      // for its next batch (recovery hands over a task per run at once).
      tasks_.clear();
      head_ = 0;
      tasks_.swap(*tasks);
    } else {
      for (std::function<void()>& t : *tasks) tasks_.push_back(std::move(t));
    }
  }
  tasks->clear();
  if (n == 1) {
    cv_.notify_one();
  } else if (n > 1) {
    cv_.notify_all();
  }
  return true;
}

void WorkerPool::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void WorkerPool::Work() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stopping_ || head_ < tasks_.size(); });
    if (head_ == tasks_.size()) return;  // stopping and drained
    std::function<void()> task = std::move(tasks_[head_++]);
    if (head_ == tasks_.size()) {
      tasks_.clear();
      head_ = 0;
    } else if (head_ >= kCompactAt && head_ * 2 >= tasks_.size()) {
      // A queue that does not empty drops what it has run once that is half of it.
      tasks_.erase(tasks_.begin(), tasks_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    l.unlock();
    task();
    task = nullptr;
    l.lock();
  }
}

}  // namespace brfed
