// TokenBucket: the client-side QPS/burst limit (client-go's flowcontrol token bucket).
//
//   TokenBucket bucket(/*qps=*/5, /*burst=*/10);
//   auto wait = bucket.Reserve(std::chrono::steady_clock::now());
//   std::this_thread::sleep_for(wait);   // then send the request
//
// The bucket starts full with `burst` tokens and refills at `qps` tokens per second. Reserve
// takes one token, going into debt if none is left, and returns how long the caller must
// wait for that token. Time is passed in, so the logic is testable without a clock.
// qps <= 0 disables limiting. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>

namespace brfed::kube {

class TokenBucket {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  TokenBucket(double qps, int burst);

  // Takes one token at `now`; returns the wait before it may be used (zero if available).
  Duration Reserve(TimePoint now);

 private:
  const double qps_;
  const double burst_;
  std::mutex mu_;
  double tokens_;         // GUARDED_BY(mu_); negative = debt
  TimePoint last_{};      // GUARDED_BY(mu_)
  bool started_ = false;  // GUARDED_BY(mu_)
};

}  // namespace brfed::kube
