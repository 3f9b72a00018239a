#include "engine/runtime_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <future>
#include <mutex>
#include <vector>

namespace brfed {
namespace {

// Records the order tasks ran in.
class Ran {
 public:
  std::function<void()> Task(int i) {
    return [this, i] {
      std::lock_guard<std::mutex> l(mu_);
      order_.push_back(i);
    };
  }
  std::vector<int> order() {
    std::lock_guard<std::mutex> l(mu_);
    return order_;
  }

 private:
  std::mutex mu_;
  std::vector<int> order_;
};

std::vector<int> Iota(int n) {
  std::vector<int> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

// Holds a one-thread pool's thread in a task until the returned promise is set.
std::promise<void> HoldThread(WorkerPool* pool) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<std::function<void()>> batch{[released] { released.wait(); }};
  EXPECT_TRUE(pool->SubmitAll(&batch));
  EXPECT_TRUE(batch.empty());
  return release;
}

// A batch submitted to an empty queue is taken over whole, one submitted behind queued tasks
// is added after them: either way one thread runs every task once, in submission order.
TEST(WorkerPoolTest, RunsEveryTaskOnceInSubmissionOrder) {
  Ran ran;
  WorkerPool pool(1);
  std::promise<void> release = HoldThread(&pool);  // submitted to the empty queue
  std::vector<std::function<void()>> batch;
  int next = 0;
  for (int b = 0; b < 3; ++b) {  // behind the held task
    for (int i = 0; i < 10; ++i) batch.push_back(ran.Task(next++));
    ASSERT_TRUE(pool.SubmitAll(&batch));
    EXPECT_TRUE(batch.empty());
  }
  release.set_value();
  pool.Stop();  // runs what is queued, then joins
  EXPECT_EQ(ran.order(), Iota(next));
}

// A queue that does not empty (tasks keep coming while the one thread is busy) drops what it
// has run as it goes: thousands of tasks, in order, none lost or run twice.
TEST(WorkerPoolTest, AQueueThatDoesNotEmptyKeepsOrder) {
  Ran ran;
  WorkerPool pool(1);
  std::promise<void> release = HoldThread(&pool);
  std::vector<std::function<void()>> batch;
  constexpr int kTasks = 20000;
  for (int i = 0; i < kTasks; i += 100) {
    if (i == kTasks / 2) release.set_value();  // half queued behind the held thread
    for (int j = i; j < i + 100; ++j) batch.push_back(ran.Task(j));
    ASSERT_TRUE(pool.SubmitAll(&batch));
  }
  pool.Stop();
  EXPECT_EQ(ran.order(), Iota(kTasks));
}

// Several threads run every task exactly once.
TEST(WorkerPoolTest, SeveralThreadsRunEachTaskOnce) {
  Ran ran;
  WorkerPool pool(4);
  std::vector<std::function<void()>> batch;
  for (int i = 0; i < 5000; ++i) {
    batch.push_back(ran.Task(i));
    if (batch.size() == 37) {
      ASSERT_TRUE(pool.SubmitAll(&batch));
    }
  }
  ASSERT_TRUE(pool.SubmitAll(&batch));
  pool.Stop();
  std::vector<int> order = ran.order();
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, Iota(5000));
}

TEST(WorkerPoolTest, RefusesAfterStop) {
  Ran ran;
  WorkerPool pool(2);
  pool.Stop();
  std::vector<std::function<void()>> batch{ran.Task(1)};
  EXPECT_FALSE(pool.SubmitAll(&batch));
  EXPECT_TRUE(batch.empty());  // dropped
  EXPECT_TRUE(ran.order().empty());
}

}  // namespace
}  // namespace brfed
