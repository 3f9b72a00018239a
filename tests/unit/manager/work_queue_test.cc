#include "manager/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

namespace brfed::manager {
namespace {

TEST(WorkQueue, AKeyIsNeverProcessedTwiceAtOnceAndReaddsRunAgain) {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, int> active, runs;
  int max_active = 0;
  bool release = false;
  {
    WorkQueue q(4, [&](const std::string& key) {
      std::unique_lock<std::mutex> l(mu);
      max_active = std::max(max_active, ++active[key]);
      ++runs[key];
      cv.notify_all();
      cv.wait(l, [&] { return release || runs[key] > 1; });
      --active[key];
    });
    q.Add("a");
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return runs["a"] == 1; });
    }
    q.Add("a");  // while "a" is being processed: runs once more afterwards
    q.Add("a");  // coalesced with the previous one
    {
      std::unique_lock<std::mutex> l(mu);
      release = true;
      cv.notify_all();
      cv.wait(l, [&] { return runs["a"] == 2 && active["a"] == 0; });
    }
  }
  EXPECT_EQ(max_active, 1);
  EXPECT_EQ(runs["a"], 2);
}

TEST(WorkQueue, AddAfterRunsLater) {
  std::mutex mu;
  std::condition_variable cv;
  int runs = 0;
  WorkQueue q(1, [&](const std::string&) {
    std::lock_guard<std::mutex> l(mu);
    ++runs;
    cv.notify_all();
  });
  q.AddAfter("k", std::chrono::milliseconds(20));
  std::unique_lock<std::mutex> l(mu);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return runs == 1; }));
}

}  // namespace
}  // namespace brfed::manager
