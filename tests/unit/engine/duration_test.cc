#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "brfed/workflow.h"

namespace brfed {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, ParsesGoStyleDurations) {
  struct Case {
    std::string text;
    int64_t ms;
  } cases[] = {
      {"0", 0},          {"0s", 0},          {"250ms", 250},         {"2s", 2000},
      {"1m30s", 90000},  {"1h", 3600000},    {"1h2m3s4ms", 3723004}, {"1.5s", 1500},
      {".5s", 500},      {"1m1.25s", 61250}, {"0.001s", 1},          {"2.50000000000s", 2500},
      {"1.5h", 5400000}, {"30s1m", 90000},   {"50ms", 50},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    Result<milliseconds> d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->count(), c.ms);
  }
}

TEST(DurationTest, RejectsBadDurations) {
  struct Case {
    std::string text;
    std::string message;
  } cases[] = {
      {"", "bad duration \"\": empty"},
      {"5", "bad duration \"5\": expected a unit (h, m, s or ms) after the number"},
      {"5 s", "bad duration \"5 s\": expected a unit (h, m, s or ms) after the number"},
      {"5sec", "bad duration \"5sec\": expected a number"},
      {"1d", "bad duration \"1d\": expected a unit (h, m, s or ms) after the number"},
      {"s", "bad duration \"s\": expected a number"},
      {"-1s", "bad duration \"-1s\": negative"},
      {"1.5ms", "bad duration \"1.5ms\": finer than a millisecond"},
      {"0.0001s", "bad duration \"0.0001s\": finer than a millisecond"},
      {"1.0000000001h", "bad duration \"1.0000000001h\": finer than a millisecond"},
      {"99999999999999999999h", "bad duration \"99999999999999999999h\": too large"},
      {"9999999999999h", "bad duration \"9999999999999h\": too large"},
      {"1us", "bad duration \"1us\": expected a unit (h, m, s or ms) after the number"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    Result<milliseconds> d = ParseDuration(c.text);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(d.status().message(), c.message);
  }
}

TEST(DurationTest, FormatsLikeGo) {
  struct Case {
    int64_t ms;
    std::string text;
  } cases[] = {
      {0, "0s"},        {1, "1ms"},         {250, "250ms"},      {999, "999ms"},
      {1000, "1s"},     {1500, "1.5s"},     {1001, "1.001s"},    {45000, "45s"},
      {120000, "2m0s"}, {61250, "1m1.25s"}, {3723000, "1h2m3s"}, {3600000, "1h0m0s"},
      {-1500, "-1.5s"}, {-250, "-250ms"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(FormatDuration(milliseconds(c.ms)), c.text);
  }
}

TEST(DurationTest, FormatThenParseRoundTrips) {
  const int64_t values[] = {
      0, 1, 999, 1000, 1234, 59999, 60000, 3599999, 3600000, 86400001, int64_t{1} << 40};
  for (int64_t ms : values) {
    SCOPED_TRACE(ms);
    Result<milliseconds> back = ParseDuration(FormatDuration(milliseconds(ms)));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->count(), ms);
  }
}

}  // namespace
}  // namespace brfed
