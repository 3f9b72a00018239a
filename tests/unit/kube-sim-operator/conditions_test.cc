#include "tools/kube-sim/operator/conditions.h"

#include <gtest/gtest.h>

#include <chrono>

#include "tools/kube-sim/store.h"

namespace brfed::kubesim::op {
namespace {

using std::chrono::seconds;
const auto kT0 = std::chrono::system_clock::time_point(seconds(1700000000));

TEST(ConditionsTest, BackupRuleAppendsNewTypesAndFollowsPhase) {
  nlohmann::json b = nlohmann::json::object();
  WriteBackupCondition(b, Condition("Scheduled"), kT0);
  WriteBackupCondition(b, Condition("Running"), kT0 + seconds(1));
  EXPECT_EQ(b["status"]["phase"], "Running");
  ASSERT_EQ(b["status"]["conditions"].size(), 2u);
  EXPECT_TRUE(HasCondition(b, "Scheduled"));
  EXPECT_FALSE(HasCondition(b, "Complete"));
}

TEST(ConditionsTest, BackupRuleReplacesTimestampWhenThePhaseChanges) {
  nlohmann::json b = nlohmann::json::object();
  WriteBackupCondition(b, Condition("Scheduled"), kT0);
  WriteBackupCondition(b, Condition("Running"), kT0 + seconds(1));
  WriteBackupCondition(b, Condition("Scheduled"), kT0 + seconds(2));  // execute re-schedules
  ASSERT_EQ(b["status"]["conditions"].size(), 2u);                    // replaced in place
  EXPECT_EQ(b["status"]["conditions"][0]["lastTransitionTime"], FormatTime(kT0 + seconds(2)));
  // Same type, same phase, same status: the time is kept.
  WriteBackupCondition(b, Condition("Scheduled"), kT0 + seconds(3));
  EXPECT_EQ(b["status"]["conditions"][0]["lastTransitionTime"], FormatTime(kT0 + seconds(2)));
}

TEST(ConditionsTest, RestoreRuleKeepsTimestampOfAnUnchangedStatus) {
  nlohmann::json r = nlohmann::json::object();
  WriteRestoreCondition(r, Condition("Running"), kT0);
  WriteRestoreCondition(r, Condition("VolumeComplete"), kT0 + seconds(1));
  WriteRestoreCondition(r, Condition("Running"), kT0 + seconds(2));
  EXPECT_EQ(r["status"]["phase"], "Running");
  EXPECT_EQ(r["status"]["conditions"][0]["lastTransitionTime"], FormatTime(kT0));
  WriteRestoreCondition(r, Condition::False("Running"), kT0 + seconds(3));
  EXPECT_EQ(r["status"]["conditions"][0]["lastTransitionTime"], FormatTime(kT0 + seconds(3)));
  EXPECT_FALSE(HasCondition(r, "Running"));
}

TEST(ConditionsTest, ReadableSize) {
  struct {
    int64_t bytes;
    const char* want;
  } cases[] = {{0, "0 B"},       {9, "9 B"},          {10, "10 B"},
               {1500, "1.5 kB"}, {83000000, "83 MB"}, {1234567890123, "1.2 TB"},
               {999, "999 B"},   {1049, "1.0 kB"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.bytes);
    EXPECT_EQ(ReadableSize(c.bytes), c.want);
  }
}

TEST(ConditionsTest, GoDurationText) {
  struct {
    int64_t s;
    const char* want;
  } cases[] = {{0, "0s"}, {45, "45s"}, {120, "2m0s"}, {3723, "1h2m3s"}, {3600, "1h0m0s"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.s);
    EXPECT_EQ(GoDurationText(seconds(c.s)), c.want);
  }
}

TEST(ConditionsTest, S3PathJoinsAndCleans) {
  struct {
    nlohmann::json s3;
    const char* want;
  } cases[] = {
      {{{"bucket", "bucket-1"}, {"prefix", "p-c1"}}, "s3://bucket-1/p-c1"},
      {{{"bucket", "b"}, {"prefix", "/a//b/./c/"}}, "s3://b/a/b/c"},
      {{{"bucket", "b"}, {"prefix", "a/../x"}}, "s3://b/x"},
      {{{"bucket", "b"}}, "s3://b"},
      {{{"prefix", "p"}}, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.s3.dump());
    EXPECT_EQ(S3Path({{"s3", c.s3}}), c.want);
  }
}

TEST(ConditionsTest, PathHelpersTolerateOddShapes) {
  nlohmann::json obj = {{"a", {{"b", "x"}, {"n", 3}, {"t", true}}}, {"list", {1, 2}}};
  EXPECT_EQ(StringAt(obj, "a.b"), "x");
  EXPECT_EQ(StringAt(obj, "a.n"), "");
  EXPECT_EQ(StringAt(obj, "a.b.c"), "");
  EXPECT_EQ(StringAt(obj, "list.x"), "");
  EXPECT_TRUE(BoolAt(obj, "a.t"));
  EXPECT_FALSE(BoolAt(obj, "a.b"));
  EXPECT_FALSE(HasCondition(nlohmann::json{{"status", {{"conditions", "junk"}}}}, "Complete"));
  EXPECT_FALSE(HasCondition(nlohmann::json{{"status", {{"conditions", {1, "x"}}}}}, "Complete"));
}

}  // namespace
}  // namespace brfed::kubesim::op
