// WorkerPool: a fixed set of threads running submitted tasks in submission order.
//
//   WorkerPool pool(4);
//   std::vector<std::function<void()>> tasks{[] { step->Reconcile(ctx); }};
//   pool.SubmitAll(&tasks);
//   pool.Stop();  // runs what is queued, then joins
//
// Thread-safe. Tasks must not throw.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/vector_queue.h"

namespace brfed {

class WorkerPool {
 public:
  // REQUIRES: threads >= 1.
  explicit WorkerPool(int threads);
  // Stop().
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Moves every task of *tasks to the queue in order (leaving *tasks empty, with memory for
  // the next batch), waking as many threads as it needs, under one lock. False (and the tasks
  // dropped) after Stop() began.
  bool SubmitAll(std::vector<std::function<void()>>* tasks);

  // Runs every queued task, then joins the threads. Idempotent. Not from a pool thread.
  void Stop();

 private:
  void Work();

  std::mutex mu_;
  std::condition_variable cv_;
  // A batch submitted to an empty queue is taken over whole.
  internal::VectorQueue<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace brfed
