// Histogram: a fixed-size log-linear histogram of non-negative integers (latencies in
// nanoseconds), for percentiles in metrics and benchmarks.
//
//   Histogram h;
//   h.Add(elapsed_nanos);
//   uint64_t p99 = h.Percentile(0.99);   // an upper bound within 1/8 (12.5%) of the truth
//
// Each power of two is split into 8 linear buckets, so a percentile is reported as the upper
// edge of its bucket: never below the true value, at most 12.5% above it. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>

namespace brfed::storage {

class Histogram {
 public:
  void Add(uint64_t v);
  void Merge(const Histogram& other);
  void Clear() { *this = Histogram(); }

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  uint64_t sum() const { return sum_; }
  // The smallest bucket edge at or above the p-quantile (0 <= p <= 1); 0 when empty.
  uint64_t Percentile(double p) const;

 private:
  static constexpr int kSubBits = 3;  // 8 buckets per power of two
  static constexpr int kBuckets = (64 - kSubBits + 1) << kSubBits;
  static int BucketOf(uint64_t v);
  static uint64_t UpperEdge(int bucket);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace brfed::storage
