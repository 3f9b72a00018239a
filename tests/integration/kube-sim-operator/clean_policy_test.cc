// Deleting members with each clean policy (FEDERATION_PROTOCOL §8.8, §11.1.8).
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/kube-sim-operator/sim_fixture.h"
#include "tools/kube-sim/operator/conditions.h"

namespace brfed::kubesim::op::testing {
namespace {

struct Policy {
  const char* policy;
  bool data_kept;
};

class CleanPolicyTest : public OperatorSimTest, public ::testing::WithParamInterface<Policy> {
 protected:
  // What the manager does on deletion: DELETE every member.
  void DeleteMembers(const std::string& vb) {
    for (const std::string& plane : kPlanes) {
      ASSERT_TRUE(store(plane)->Delete(BackupsResource(), kNs, "fed-" + vb, {}).ok()) << plane;
    }
  }
};

TEST_P(CleanPolicyTest, DeletingCompleteMembers) {
  ASSERT_TRUE(RunFederatedBackup("vb1", GetParam().policy));
  ASSERT_EQ(cloud().ebs.size(), 9u);
  DeleteMembers("vb1");
  for (const std::string& plane : kPlanes) {
    ASSERT_TRUE(WaitGone(plane, BackupsResource(), "fed-vb1")) << plane;
    EXPECT_EQ(cloud().ebs.List(plane).size(), GetParam().data_kept ? 3u : 0u) << plane;
    EXPECT_EQ(cloud().storage.List("s3://bucket-1/vb1-" + plane).empty(), !GetParam().data_kept);
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, CleanPolicyTest,
                         ::testing::Values(Policy{"Retain", true}, Policy{"", true},
                                           Policy{"Delete", false}, Policy{"OnFailure", true}),
                         [](const ::testing::TestParamInfo<Policy>& info) {
                           return std::string(*info.param.policy ? info.param.policy : "Empty");
                         });

TEST_F(CleanPolicyTest, OnFailureDeletesOnlyTheFailedMembersData) {
  op("k8s-2")->AddFault({.step = "snapshot-copy", .condition = "", .name = "", .remaining = -1});
  EXPECT_FALSE(RunFederatedBackup("vb1", "OnFailure"));
  ASSERT_EQ(cloud().ebs.size(), 9u);
  DeleteMembers("vb1");
  for (const std::string& plane : kPlanes) {
    ASSERT_TRUE(WaitGone(plane, BackupsResource(), "fed-vb1")) << plane;
  }
  EXPECT_EQ(cloud().ebs.List("k8s-1").size(), 3u);
  EXPECT_TRUE(cloud().ebs.List("k8s-2").empty());
  EXPECT_EQ(cloud().ebs.List("k8s-3").size(), 3u);
}

TEST_F(CleanPolicyTest, CleanFailedKeepsTheMemberUntilTheFaultIsCleared) {
  ASSERT_TRUE(RunFederatedBackup("vb1", "Delete"));
  op("k8s-1")->AddFault({.step = "clean", .condition = "", .name = "", .remaining = -1});
  DeleteMembers("vb1");
  ASSERT_TRUE(WaitCondition("k8s-1", BackupsResource(), "fed-vb1", "CleanFailed"));
  nlohmann::json m = Get("k8s-1", BackupsResource(), "fed-vb1");
  EXPECT_TRUE(m["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ(cloud().ebs.List("k8s-1").size(), 3u);
  for (const char* plane : {"k8s-2", "k8s-3"}) {
    ASSERT_TRUE(WaitGone(plane, BackupsResource(), "fed-vb1"));
  }
  op("k8s-1")->ClearFaults();  // the failed clean job is replaced and succeeds
  ASSERT_TRUE(WaitGone("k8s-1", BackupsResource(), "fed-vb1"));
  EXPECT_EQ(cloud().ebs.size(), 0u);
  auto [code, body] = Admin("k8s-1", "GET", "/admin/ebs/snapshots?all=1");
  ASSERT_EQ(code, 200);
  EXPECT_TRUE(body["snapshots"].empty());
  auto [s3_code, s3] = Admin("k8s-1", "GET", "/admin/s3/objects?prefix=s3://bucket-1/vb1-k8s-1");
  ASSERT_EQ(s3_code, 200);
  EXPECT_TRUE(s3["objects"].empty());
}

TEST_F(CleanPolicyTest, SnapshotsAreListedByTheAdminEndpoint) {
  ASSERT_TRUE(RunFederatedBackup("vb1", "Retain"));
  auto [code, body] = Admin("k8s-3", "GET", "/admin/ebs/snapshots");
  ASSERT_EQ(code, 200);
  ASSERT_EQ(body["snapshots"].size(), 3u);
  for (const nlohmann::json& s : body["snapshots"]) {
    EXPECT_EQ(s["dataPlane"], "k8s-3");
    EXPECT_EQ(s["tags"]["brfed.sim/backup"], "tidb-cluster/fed-vb1");
  }
}

}  // namespace
}  // namespace brfed::kubesim::op::testing
