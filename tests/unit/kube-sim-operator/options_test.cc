#include "tools/kube-sim/operator/options.h"

#include <gtest/gtest.h>

namespace brfed::kubesim::op {
namespace {

using std::chrono::milliseconds;

TEST(OptionsTest, ParseDuration) {
  struct {
    nlohmann::json in;
    int64_t want_ms;  // -1: error
  } cases[] = {{"0s", 0},       {"250ms", 250}, {"2s", 2000}, {"1m30s", 90000},
               {"1h", 3600000}, {1.5, 1500},    {"", -1},     {"5d", -1},
               {"abc", -1},     {"1.2.3s", -1}, {-1, -1},     {true, -1}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in.dump());
    Result<milliseconds> d = ParseDuration(c.in);
    if (c.want_ms < 0) {
      EXPECT_FALSE(d.ok());
    } else {
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      EXPECT_EQ(d->count(), c.want_ms);
    }
  }
}

TEST(OptionsTest, MergeAppliesKnownKeys) {
  OperatorOptions o;
  ASSERT_TRUE(MergeOperatorOptions({{"stepDelay", "100ms"},
                                    {"delays", {{"execute", "2s"}}},
                                    {"logicalCluster", "basic"},
                                    {"volumeSizeBytes", 1000}},
                                   &o)
                  .ok());
  EXPECT_EQ(o.step_delay, milliseconds(100));
  EXPECT_EQ(o.Delay("execute"), milliseconds(2000));
  EXPECT_EQ(o.Delay("teardown"), milliseconds(0));
  EXPECT_EQ(o.logical_cluster, "basic");
  EXPECT_EQ(o.volume_size_bytes, 1000);
}

TEST(OptionsTest, MergeRejectsBadConfigAndKeepsOptions) {
  const nlohmann::json cases[] = {
      {{"stepDelay", "soon"}}, {{"delays", {{"nowhere", "1s"}}}},
      {{"colour", "blue"}},    {{"volumeSizeBytes", -1}},
      {{"delays", "1s"}},      "not a mapping",
  };
  for (const nlohmann::json& c : cases) {
    SCOPED_TRACE(c.dump());
    OperatorOptions o;
    o.step_delay = milliseconds(7);
    Status s = MergeOperatorOptions(c, &o);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(o.step_delay, milliseconds(7));
  }
}

TEST(OptionsTest, ParseFault) {
  Result<Fault> f = ParseFault({{"phase", "execute"}, {"name", "fed-vb1"}, {"count", 2}});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Matches("execute", "fed-vb1"));
  EXPECT_FALSE(f->Matches("execute", "fed-vb2"));
  EXPECT_FALSE(f->Matches("initialize", "fed-vb1"));
  f->remaining = 0;
  EXPECT_FALSE(f->Matches("execute", "fed-vb1"));
  EXPECT_FALSE(ParseFault({{"phase", "later"}}).ok());
  EXPECT_FALSE(ParseFault({{"phase", "execute"}, {"condition", "Fine"}}).ok());
  EXPECT_FALSE(ParseFault(nlohmann::json::array()).ok());
}

}  // namespace
}  // namespace brfed::kubesim::op
