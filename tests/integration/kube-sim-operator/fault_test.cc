// A member failing at a named phase (issue §4), and the GC/PD pause always ending.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/integration/kube-sim-operator/sim_fixture.h"
#include "tools/kube-sim/operator/conditions.h"

namespace brfed::kubesim::op::testing {
namespace {

using MemberFailureTest = OperatorSimTest;

TEST_F(MemberFailureTest, MemberFailingAtExecuteFailsTheBackupAndThePauseEnds) {
  auto [code, body] = Admin("k8s-2", "POST", "/admin/operator/fail", R"({"phase":"execute"})");
  ASSERT_EQ(code, 200) << body.dump();
  auto [list_code, list] = Admin("k8s-2", "GET", "/admin/operator/fail");
  ASSERT_EQ(list_code, 200);
  EXPECT_EQ(list["faults"][0]["phase"], "execute");

  EXPECT_FALSE(RunFederatedBackup("vb1", "Delete"));
  nlohmann::json failed = Get("k8s-2", BackupsResource(), "fed-vb1");
  EXPECT_TRUE(HasTrue(failed, "VolumeBackupFailed"));
  EXPECT_EQ(FindCondition(failed, "VolumeBackupFailed")->value("reason", ""),
            "BackupDataToRemoteFailed");
  EXPECT_EQ(StringAt(failed, "status.phase"), "Failed");
  EXPECT_TRUE(cloud().ebs.List("k8s-2").empty());
  // Healthy members end Complete in teardown (FEDERATION_PROTOCOL §13 item 20).
  for (const char* plane : {"k8s-1", "k8s-3"}) {
    EXPECT_EQ(StringAt(Get(plane, BackupsResource(), "fed-vb1"), "status.phase"), "Complete");
  }
  PauseInfo pause = cloud().pd.Get(kLogicalCluster);
  EXPECT_FALSE(pause.paused);
  EXPECT_EQ(pause.pause_count, 1);

  auto [clear_code, cleared] = Admin("k8s-2", "DELETE", "/admin/operator/fail");
  ASSERT_EQ(clear_code, 200);
  EXPECT_TRUE(cleared["faults"].empty());
}

TEST_F(MemberFailureTest, InitializeFailureNeverPauses) {
  op("k8s-1")->AddFault({.step = "initialize", .condition = "", .name = "", .remaining = 1});
  EXPECT_FALSE(RunFederatedBackup("vb1", ""));
  nlohmann::json m = Get("k8s-1", BackupsResource(), "fed-vb1");
  EXPECT_EQ(FindCondition(m, "VolumeBackupInitializeFailed")->value("reason", ""),
            "InitializeVolumeBackupFailed");
  EXPECT_EQ(StringAt(m, "status.phase"), "Failed");
  EXPECT_EQ(cloud().pd.Get(kLogicalCluster).pause_count, 0);
  // count 1: used up.
  EXPECT_EQ(op("k8s-1")->faults()[0].remaining, 0);
}

TEST_F(MemberFailureTest, FailureAfterSnapshotsCreatedFailsAtTeardown) {
  op("k8s-3")->AddFault({.step = "snapshot-copy", .condition = "", .name = "", .remaining = -1});
  EXPECT_FALSE(RunFederatedBackup("vb1", ""));
  nlohmann::json m = Get("k8s-3", BackupsResource(), "fed-vb1");
  EXPECT_TRUE(
      InOrder(ConditionTypes(m), {"VolumeBackupSnapshotsCreated", "VolumeBackupFailed", "Failed"}));
  EXPECT_EQ(cloud().ebs.List("k8s-3").size(), 3u);  // taken before the failure
}

TEST_F(MemberFailureTest, InjectedConditionOverridesTheDefault) {
  op("k8s-1")->AddFault(
      {.step = "execute", .condition = "Failed", .name = "fed-vb1", .remaining = -1});
  EXPECT_FALSE(RunFederatedBackup("vb1", ""));
  nlohmann::json m = Get("k8s-1", BackupsResource(), "fed-vb1");
  EXPECT_TRUE(HasTrue(m, "Failed"));
  EXPECT_FALSE(HasTrue(m, "VolumeBackupFailed"));
}

TEST_F(MemberFailureTest, InitializeJobDeadlineEndsThePause) {
  nlohmann::json init = BackupMember("k8s-1", "vb1", true, "");
  init["spec"]["volumeBackupInitJobMaxActiveSeconds"] = 1;
  Create("k8s-1", BackupsResource(), init);
  ASSERT_TRUE(WaitCondition("k8s-1", BackupsResource(), "fed-vb1", "VolumeBackupInitialized"));
  EXPECT_TRUE(cloud().pd.Get(kLogicalCluster).paused);
  // Nobody asks to resume: the job's deadline kills it.
  ASSERT_TRUE(WaitCondition("k8s-1", BackupsResource(), "fed-vb1", "VolumeBackupInitializeFailed"));
  nlohmann::json m = Get("k8s-1", BackupsResource(), "fed-vb1");
  EXPECT_EQ(FindCondition(m, "VolumeBackupInitializeFailed")->value("reason", ""),
            "InitializeJobCompletedOrFailed");
  PauseInfo pause = cloud().pd.Get(kLogicalCluster);
  EXPECT_FALSE(pause.paused);
  EXPECT_GT(pause.total_paused, std::chrono::milliseconds(500));
  Teardown("vb1");
  EXPECT_EQ(StringAt(Get("k8s-1", BackupsResource(), "fed-vb1"), "status.phase"), "Failed");
}

TEST_F(MemberFailureTest, DeletingThePausingMemberEndsThePause) {
  Create("k8s-1", BackupsResource(), BackupMember("k8s-1", "vb1", true, "Retain"));
  ASSERT_TRUE(WaitCondition("k8s-1", BackupsResource(), "fed-vb1", "VolumeBackupInitialized"));
  ASSERT_TRUE(store("k8s-1")->Delete(BackupsResource(), kNs, "fed-vb1", {}).ok());
  ASSERT_TRUE(WaitGone("k8s-1", BackupsResource(), "fed-vb1"));
  // The initialize job is garbage-collected with its Backup: the operator sees the deletion
  // event and ends the pause. Wait for that on the operator's own state (no store change
  // follows it).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (cloud().pd.Get(kLogicalCluster).paused && std::chrono::steady_clock::now() < deadline) {
    uint64_t rv = store("k8s-1")->resource_version();
    store("k8s-1")->WaitForChange(
        rv, std::chrono::steady_clock::now() + std::chrono::milliseconds(2), [] { return false; });
  }
  EXPECT_FALSE(cloud().pd.Get(kLogicalCluster).paused);
}

TEST_F(MemberFailureTest, RestoreVolumeFailureCleansTheVolumes) {
  ASSERT_TRUE(RunFederatedBackup("vb1", ""));
  Mutate("k8s-2", TidbClustersResource(), kTc,
         [](nlohmann::json& tc) { tc["spec"]["recoveryMode"] = true; });
  auto [code, body] =
      Admin("k8s-2", "POST", "/admin/operator/fail", R"({"phase":"restore-volume","count":1})");
  ASSERT_EQ(code, 200) << body.dump();
  Create("k8s-2", RestoresResource(), RestoreMember("k8s-2", "vr1", "vb1", "", ""));
  ASSERT_TRUE(WaitCondition("k8s-2", RestoresResource(), "fed-vr1", "CleanVolumeComplete"));
  nlohmann::json m = Get("k8s-2", RestoresResource(), "fed-vr1");
  EXPECT_TRUE(HasTrue(m, "Failed"));
  EXPECT_EQ(FindCondition(m, "Failed")->value("reason", ""), "RestoreDataFromRemoteFailed");
}

TEST_F(MemberFailureTest, BadFaultRequestsAreRejected) {
  for (const char* body : {R"({"phase":"nowhere"})", R"({"phase":"execute","colour":1})",
                           R"({"phase":"execute","condition":"Happy"})", "not json"}) {
    SCOPED_TRACE(body);
    auto [code, answer] = Admin("k8s-1", "POST", "/admin/operator/fail", body);
    EXPECT_EQ(code, 400);
    EXPECT_TRUE(answer.contains("error"));
  }
}

}  // namespace
}  // namespace brfed::kubesim::op::testing
