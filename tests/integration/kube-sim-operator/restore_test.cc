// A federated volume-snapshot restore across three data planes, driven by hand, for each
// warm-up mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "tests/integration/kube-sim-operator/sim_fixture.h"
#include "tools/kube-sim/operator/conditions.h"
#include "tools/kube-sim/operator/restore_logic.h"

namespace brfed::kubesim::op::testing {
namespace {

struct Mode {
  const char* name;
  const char* warmup;
  // Restore-member conditions in stored order: the member chosen for restore-data adds
  // DataComplete after TikvComplete.
  std::vector<std::string> conditions;
};

class FederatedRestoreTest : public OperatorSimTest, public ::testing::WithParamInterface<Mode> {
 protected:
  // A completed backup to restore from, and every tc put into recovery mode (the user's job).
  void PrepareBackupAndRecoveryMode() {
    ASSERT_TRUE(RunFederatedBackup("vb1", ""));
    for (const std::string& plane : kPlanes) {
      Mutate(plane, TidbClustersResource(), kTc,
             [](nlohmann::json& tc) { tc["spec"]["recoveryMode"] = true; });
    }
  }
};

TEST_P(FederatedRestoreTest, WholeRestoreAcrossThreeDataPlanes) {
  const Mode& mode = GetParam();
  PrepareBackupAndRecoveryMode();
  const ResourceKey& rt = RestoresResource();
  const std::string member = "fed-vr1";

  // restore-volume everywhere.
  for (const std::string& plane : kPlanes) {
    Create(plane, rt, RestoreMember(plane, "vr1", "vb1", mode.warmup, ""));
  }
  for (const std::string& plane : kPlanes) {
    ASSERT_TRUE(WaitCondition(plane, rt, member, "TikvComplete")) << plane;
    nlohmann::json tc = Get(plane, TidbClustersResource(), kTc);
    EXPECT_EQ(tc["metadata"]["annotations"][kTikvVolumesReadyAnnotation],
              std::string(kNs) + "/" + member);
  }
  // The member with the smallest resolved ts restores the data.
  std::string chosen;
  long long min_ts = 0;
  for (const std::string& plane : kPlanes) {
    std::string ts = StringAt(Get(plane, rt, member), "status.commitTs");
    ASSERT_FALSE(ts.empty()) << plane;
    long long v = std::strtoll(ts.c_str(), nullptr, 10);
    EXPECT_EQ(ts, StringAt(Get(plane, BackupsResource(), "fed-vb1"), "status.commitTs"));
    if (chosen.empty() || v < min_ts) {
      chosen = plane;
      min_ts = v;
    }
  }
  Mutate(chosen, rt, member,
         [](nlohmann::json& o) { o["spec"]["federalVolumeRestorePhase"] = "restore-data"; });
  ASSERT_TRUE(WaitCondition(chosen, rt, member, "DataComplete"));
  EXPECT_EQ(std::strtoll(StringAt(Get(chosen, rt, member), "status.commitTs").c_str(), nullptr, 10),
            min_ts);
  // restore-finish everywhere.
  for (const std::string& plane : kPlanes) {
    Mutate(plane, rt, member,
           [](nlohmann::json& o) { o["spec"]["federalVolumeRestorePhase"] = "restore-finish"; });
  }
  for (const std::string& plane : kPlanes) {
    SCOPED_TRACE(plane);
    ASSERT_TRUE(WaitCondition(plane, rt, member, "Complete"));
    if (std::string(mode.warmup) == "async") {
      ASSERT_TRUE(WaitCondition(plane, rt, member, "WarmUpComplete"));
    }
    nlohmann::json m = Get(plane, rt, member);
    std::vector<std::string> conds = ConditionTypes(m);
    std::vector<std::string> expected = mode.conditions;
    if (plane != chosen)
      expected.erase(std::find(expected.begin(), expected.end(), "DataComplete"));
    if (std::string(mode.warmup) == "async") {
      // WarmUpComplete comes whenever the warm-up jobs end.
      EXPECT_TRUE(InOrder(conds, {"WarmUpStarted", "WarmUpComplete"}));
      conds.erase(std::find(conds.begin(), conds.end(), "WarmUpComplete"));
    }
    EXPECT_EQ(conds, expected) << nlohmann::json(conds).dump();
    EXPECT_FALSE(StringAt(m, "status.timeCompleted").empty());
    // restore-finish restarted TiKV and took the tc out of recovery mode.
    nlohmann::json tc = Get(plane, TidbClustersResource(), kTc);
    EXPECT_FALSE(tc["spec"]["recoveryMode"].get<bool>());
    EXPECT_FALSE(tc["metadata"].contains("annotations") &&
                 tc["metadata"]["annotations"].contains(kTikvVolumesReadyAnnotation));
  }
}

INSTANTIATE_TEST_SUITE_P(
    WarmUpModes, FederatedRestoreTest,
    ::testing::Values(Mode{"none",
                           "",
                           {"Scheduled", "Running", "VolumeComplete", "TikvComplete",
                            "DataComplete", "Complete"}},
                      Mode{"sync",
                           "sync",
                           {"Scheduled", "Running", "VolumeComplete", "WarmUpStarted",
                            "WarmUpComplete", "TikvComplete", "DataComplete", "Complete"}},
                      Mode{"async",
                           "async",
                           {"Scheduled", "Running", "VolumeComplete", "WarmUpStarted",
                            "TikvComplete", "DataComplete", "Complete"}}),
    [](const ::testing::TestParamInfo<Mode>& info) { return info.param.name; });

TEST_F(OperatorSimTest, CheckWalOnlyCompletesAfterWarmUpWithoutStartingTikv) {
  ASSERT_TRUE(RunFederatedBackup("vb1", ""));
  Mutate(kPlanes[0], TidbClustersResource(), kTc,
         [](nlohmann::json& tc) { tc["spec"]["recoveryMode"] = true; });
  Create(kPlanes[0], RestoresResource(),
         RestoreMember(kPlanes[0], "vr2", "vb1", "sync", "check-wal-only"));
  ASSERT_TRUE(WaitCondition(kPlanes[0], RestoresResource(), "fed-vr2", "Complete"));
  nlohmann::json m = Get(kPlanes[0], RestoresResource(), "fed-vr2");
  EXPECT_EQ(ConditionTypes(m),
            (std::vector<std::string>{"Scheduled", "Running", "VolumeComplete", "WarmUpStarted",
                                      "WarmUpComplete", "Complete"}));
  nlohmann::json tc = Get(kPlanes[0], TidbClustersResource(), kTc);
  EXPECT_TRUE(tc["spec"]["recoveryMode"].get<bool>());  // stays in recovery mode
}

TEST_F(OperatorSimTest, RestoreWithoutRecoveryModeIsInvalid) {
  ASSERT_TRUE(RunFederatedBackup("vb1", ""));
  Create(kPlanes[1], RestoresResource(), RestoreMember(kPlanes[1], "vr3", "vb1", "", ""));
  ASSERT_TRUE(WaitCondition(kPlanes[1], RestoresResource(), "fed-vr3", "Invalid"));
  nlohmann::json m = Get(kPlanes[1], RestoresResource(), "fed-vr3");
  EXPECT_EQ(FindCondition(m, "Invalid")->value("message", ""), "recovery mode is off");
}

TEST_F(OperatorSimTest, RestoreWithoutBackupDataFails) {
  Mutate(kPlanes[0], TidbClustersResource(), kTc,
         [](nlohmann::json& tc) { tc["spec"]["recoveryMode"] = true; });
  Create(kPlanes[0], RestoresResource(), RestoreMember(kPlanes[0], "vr4", "nothing", "", ""));
  ASSERT_TRUE(WaitCondition(kPlanes[0], RestoresResource(), "fed-vr4", "Failed"));
}

}  // namespace
}  // namespace brfed::kubesim::op::testing
