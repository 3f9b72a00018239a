#include "tools/kube-sim/operator/pd_state.h"

#include <gtest/gtest.h>

namespace brfed::kubesim::op {
namespace {

using std::chrono::seconds;

class PdStateTest : public ::testing::Test {
 protected:
  Clock::time_point now_ = Clock::time_point(seconds(1700000000));
  PdState pd_{[this] { return now_; }};
};

TEST_F(PdStateTest, PauseLastsWhileAnyHolderRemains) {
  pd_.Pause("c", "h1");
  now_ += seconds(2);
  pd_.Pause("c", "h2");
  pd_.Pause("c", "h2");  // idempotent
  now_ += seconds(3);
  pd_.Resume("h1");
  EXPECT_TRUE(pd_.Get("c").paused);
  now_ += seconds(1);
  pd_.Resume("h2");
  PauseInfo info = pd_.Get("c");
  EXPECT_FALSE(info.paused);
  EXPECT_EQ(info.pause_count, 1);
  EXPECT_EQ(info.total_paused, seconds(6));
  EXPECT_FALSE(pd_.AnyPaused());
}

TEST_F(PdStateTest, TotalIncludesTheRunningPauseAndCountsPauses) {
  pd_.Pause("c", "h1");
  now_ += seconds(1);
  pd_.Resume("h1");
  pd_.Resume("unknown");
  pd_.Pause("c", "h3");
  now_ += seconds(4);
  PauseInfo info = pd_.Get("c");
  EXPECT_TRUE(info.paused);
  EXPECT_EQ(info.pause_count, 2);
  EXPECT_EQ(info.total_paused, seconds(5));
  nlohmann::json j = pd_.ToJson();
  EXPECT_EQ(j["clusters"]["c"]["totalPausedSeconds"], 5.0);
  EXPECT_EQ(j["clusters"]["c"]["holders"], nlohmann::json::array({"h3"}));
  EXPECT_FALSE(pd_.Get("other").paused);
}

TEST_F(PdStateTest, TsoIsStrictlyIncreasing) {
  uint64_t a = pd_.NextTso();
  uint64_t b = pd_.NextTso();
  EXPECT_GT(b, a);
  EXPECT_EQ(a >> 18, 1700000000000ULL);
}

}  // namespace
}  // namespace brfed::kubesim::op
