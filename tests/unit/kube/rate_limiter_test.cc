#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

namespace brfed::kube {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucketTest, BurstThenRefillAtQps) {
  struct Step {
    int64_t at_ms;  // time of the Reserve call, from the start
    int64_t want_wait_ms;
  };
  struct Case {
    const char* name;
    double qps;
    int burst;
    std::vector<Step> steps;
  } cases[] = {
      {"burst of 3 is free, the 4th waits 1/qps", 10, 3, {{0, 0}, {0, 0}, {0, 0}, {0, 100}}},
      {"debt accumulates", 10, 1, {{0, 0}, {0, 100}, {0, 200}, {0, 300}}},
      {"refill after idle", 10, 2, {{0, 0}, {0, 0}, {100, 0}, {100, 100}}},
      {"refill caps at burst", 10, 2, {{0, 0}, {10000, 0}, {10000, 0}, {10000, 100}}},
      {"unlimited", 0, 1, {{0, 0}, {0, 0}, {0, 0}, {0, 0}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TokenBucket bucket(c.qps, c.burst);
    auto start = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
    for (const Step& s : c.steps) {
      auto wait = bucket.Reserve(start + milliseconds(s.at_ms));
      EXPECT_NEAR((std::chrono::duration<double, std::milli>(wait).count()), s.want_wait_ms, 0.01)
          << "at " << s.at_ms << " ms";
    }
  }
}

}  // namespace
}  // namespace brfed::kube
