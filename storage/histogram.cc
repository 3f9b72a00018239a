#include "storage/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace brfed::storage {

// Values below 2^kSubBits get one bucket each. Above, a value with its highest bit at position
// b (b >= kSubBits) lands in group b - kSubBits + 1, sub-bucket = the kSubBits bits below the
// highest one.
int Histogram::BucketOf(uint64_t v) {
  constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  if (v < kSub) return static_cast<int>(v);
  int b = 63 - std::countl_zero(v);
  int group = b - kSubBits + 1;
  auto sub = static_cast<int>((v >> (b - kSubBits)) & (kSub - 1));
  return (group << kSubBits) + sub;
}

uint64_t Histogram::UpperEdge(int bucket) {
  constexpr int kSub = 1 << kSubBits;
  if (bucket < kSub) return static_cast<uint64_t>(bucket);
  int group = bucket >> kSubBits;
  int sub = bucket & (kSub - 1);
  int b = group + kSubBits - 1;  // position of the highest bit
  // Bucket holds [ (kSub + sub) << (b - kSubBits), (kSub + sub + 1) << (b - kSubBits) ).
  int shift = b - kSubBits;
  unsigned __int128 end = static_cast<unsigned __int128>(kSub + sub + 1) << shift;
  if (end > UINT64_MAX) return UINT64_MAX;
  return static_cast<uint64_t>(end) - 1;
}

void Histogram::Add(uint64_t v) {
  ++buckets_[BucketOf(v)];
  ++count_;
  sum_ += v;
  max_ = std::max(max_, v);
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

uint64_t Histogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 1.0);
  auto rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(count_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(UpperEdge(i), max_);
  }
  return max_;
}

}  // namespace brfed::storage
