#include "steps/protocol/format.h"

#include <gtest/gtest.h>

namespace brfed::protocol {
namespace {

TEST(ReadableSize, MatchesUpstreamRendering) {
  struct Case {
    int64_t bytes;
    const char* want;
  } cases[] = {{0, "0 B"},          {9, "9 B"},           {10, "10 B"},
               {999, "999 B"},      {1500, "1.5 kB"},     {83'000'000, "83 MB"},
               {1'234'000'000'000, "1.2 TB"}, {-5, "0 B"}, {12'345, "12 kB"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.bytes);
    EXPECT_EQ(ReadableSize(c.bytes), c.want);
  }
}

TEST(TimeTakenText, RoundsToSecondsLikeGo) {
  struct Case {
    int64_t ms;
    const char* want;
  } cases[] = {{0, "0s"},         {499, "0s"},          {500, "1s"},
               {45'000, "45s"},   {120'000, "2m0s"},    {3'723'000, "1h2m3s"},
               {59'600, "1m0s"},  {36'000'000, "10h0m0s"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.ms);
    EXPECT_EQ(TimeTakenText(Duration(c.ms)), c.want);
  }
}

TEST(KubeTime, RoundTripsAndAcceptsOffsets) {
  TimePoint t = FromUnixMillis(1714521600000);  // 2024-05-01T00:00:00Z
  EXPECT_EQ(FormatKubeTime(t), "2024-05-01T00:00:00Z");
  EXPECT_EQ(*ParseKubeTime("2024-05-01T00:00:00Z"), t);
  EXPECT_EQ(*ParseKubeTime("2024-05-01T02:00:00+02:00"), t);
  EXPECT_EQ(*ParseKubeTime("2024-05-01T00:00:00.250Z"), t + Duration(250));
  for (const char* bad : {"", "2024-05-01", "2024-05-01T00:00:00", "2024-13-01T00:00:00Z",
                          "2024-05-01T00:00:00Zjunk", "x024-05-01T00:00:00Z"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParseKubeTime(bad).ok());
  }
}

TEST(ParseInt64, StrictDecimal) {
  EXPECT_EQ(ParseInt64("123"), 123);
  EXPECT_EQ(ParseInt64("-7"), -7);
  EXPECT_FALSE(ParseInt64(""));
  EXPECT_FALSE(ParseInt64("12a"));
  EXPECT_FALSE(ParseInt64(" 12"));
  EXPECT_FALSE(ParseInt64("99999999999999999999"));
}

}  // namespace
}  // namespace brfed::protocol
