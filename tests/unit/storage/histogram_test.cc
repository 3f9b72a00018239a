#include "storage/histogram.h"

#include <gtest/gtest.h>

namespace brfed::storage {
namespace {

TEST(HistogramTest, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(0.5), 0u);
}

TEST(HistogramTest, PercentilesAreTightUpperBounds) {
  Histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.Add(v * 1000);  // 1,000 ... 1,000,000
  struct Case {
    double p;
    uint64_t truth;
  } cases[] = {{0.5, 500'000}, {0.99, 990'000}, {1.0, 1'000'000}, {0.001, 1'000}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.p);
    uint64_t got = h.Percentile(c.p);
    EXPECT_GE(got, c.truth);
    EXPECT_LE(got, c.truth + c.truth / 8);
  }
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.max(), 1'000'000u);
}

TEST(HistogramTest, SmallAndHugeValues) {
  Histogram h;
  for (uint64_t v : std::initializer_list<uint64_t>{0, 1, 7, UINT64_MAX}) h.Add(v);
  EXPECT_EQ(h.Percentile(0.25), 0u);
  EXPECT_EQ(h.Percentile(0.5), 1u);
  EXPECT_EQ(h.Percentile(0.75), 7u);
  EXPECT_EQ(h.Percentile(1.0), UINT64_MAX);
}

TEST(HistogramTest, MergeAddsCounts) {
  Histogram a, b;
  a.Add(10);
  b.Add(1000);
  b.Add(1000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.max(), 1000u);
  EXPECT_GE(a.Percentile(0.5), 1000u);
}

}  // namespace
}  // namespace brfed::storage
