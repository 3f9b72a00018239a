#include "engine/runtime_pool.h"

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
    tasks_.Append(tasks);
  }
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
    cv_.wait(l, [&] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping and drained
    std::function<void()> task = tasks_.PopFront();
    l.unlock();
    task();
    task = nullptr;
    l.lock();
  }
}

}  // namespace brfed
