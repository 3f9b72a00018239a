// A member failing at each phase of a federated backup (FEDERATION_PROTOCOL §8, DESIGN §6): the
// VolumeBackup ends Failed naming the member and its cluster, every member that exists was
// torn down (federalVolumeBackupPhase teardown, then terminal), and the GC/PD pause is over.

#include <thread>

#include "kube/resource.h"
#include "steps/protocol/conditions.h"
#include "tests/integration/manager/manager_fixture.h"
#include "tests/integration/manager/scenario_util.h"

namespace brfed::manager::testing {
namespace {

using nlohmann::json;

class MemberFailureTest : public ManagerTest {
 protected:
  // Waits for `name` to fail and checks the outcome: the Failed condition names the member and
  // `cluster`; the members that exist were all torn down; nothing is paused; the members in
  // `expected_members` (and only those) were created.
  void ExpectFailedAndTornDown(const std::string& name, const std::string& cluster,
                               const std::vector<std::string>& expected_members) {
    json vbk = WaitPhase(kube::kVolumeBackups, name, "Failed");
    ASSERT_EQ(Phase(vbk), "Failed") << vbk.dump(2);
    std::string failure = ConditionText(vbk, "Failed");
    EXPECT_NE(failure.find("fed-" + name), std::string::npos) << failure;
    EXPECT_NE(failure.find(cluster), std::string::npos) << failure;
    EXPECT_FALSE(protocol::IsConditionTrue(vbk, "Complete")) << vbk.dump(2);
    EXPECT_FALSE(vbk["status"].value("timeCompleted", json()).is_null()) << vbk.dump(2);

    std::string uid = vbk["metadata"]["uid"];
    std::vector<std::string> existing;
    for (const std::string& plane : DataPlaneNames()) {
      std::vector<json> members = OwnedMembers(*sim(), plane, BackupsKey(), uid);
      ASSERT_LE(members.size(), 1u) << plane;
      if (members.empty()) continue;
      existing.push_back(plane);
      const json& m = members[0];
      EXPECT_EQ(m["spec"].value("federalVolumeBackupPhase", ""), "teardown")
          << plane << " was not torn down: " << m.dump(2);
      EXPECT_TRUE(protocol::IsConditionTrue(m, "Complete") ||
                  protocol::IsConditionTrue(m, "Failed"))
          << plane << " is not terminal: " << m.dump(2);
    }
    EXPECT_EQ(existing, expected_members);
    EXPECT_FALSE(cloud().pd.AnyPaused()) << cloud().pd.ToJson().dump(2);
  }

  void Fault(const std::string& plane, const json& fault) {
    Status s = OperatorFault(this->plane(plane), fault);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
};

TEST_F(MemberFailureTest, InitializeFailureFailsTheBackupNamingTheInitializeMember) {
  Fault("k8s-1", {{"phase", "initialize"}});
  StartManager();
  Create(kube::kVolumeBackups, Backup("vb-init"));
  ExpectFailedAndTornDown("vb-init", "k8s-1", {"k8s-1"});
  // The initialize job failed before pausing: GC was never paused.
  EXPECT_EQ(cloud().pd.Get("tidb-cluster/basic").pause_count, 0);
}

TEST_F(MemberFailureTest, ExecuteFailureBeforeSnapshotsFailsTheBackupAndEndsThePause) {
  Fault("k8s-2", {{"phase", "execute"}});
  StartManager();
  Create(kube::kVolumeBackups, Backup("vb-exec"));
  ExpectFailedAndTornDown("vb-exec", "k8s-2", {"k8s-1", "k8s-2", "k8s-3"});
  EXPECT_EQ(cloud().pd.Get("tidb-cluster/basic").pause_count, 1);
}

TEST_F(MemberFailureTest, InitializeJobFailingWhileGcResumesFailsTheBackupAndEndsThePause) {
  // The initialize member never reports VolumeBackupInitializeComplete by itself; while the
  // run waits for it (resume-gc), the initialize job fails (as its watchdog reports when the
  // job ends unexpectedly).
  ASSERT_TRUE(OperatorConfig(plane("k8s-1"), {{"delays", {{"resume-gc", "1h"}}}}).ok());
  StartManager();
  Create(kube::kVolumeBackups, Backup("vb-resume"));
  WaitFor(kube::kVolumeBackups, "vb-resume", [&](const json&) {
    std::optional<json> m =
        StoredObject(*sim(), "k8s-1", BackupsKey(), kTcNamespace, "fed-vb-resume");
    return m && protocol::IsConditionTrue(*m, "VolumeBackupSnapshotsCreated") &&
           m->value("spec", json::object()).value("resumeGcSchedule", false);
  });
  ASSERT_TRUE(cloud().pd.AnyPaused());
  Status s = AddMemberCondition(*sim(), "k8s-1", BackupsKey(), "fed-vb-resume",
                                "VolumeBackupInitializeFailed", "InitializeJobCompletedOrFailed",
                                "initialize job of fed-vb-resume: InitializeJobCompletedOrFailed");
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectFailedAndTornDown("vb-resume", "k8s-1", {"k8s-1", "k8s-2", "k8s-3"});
}

TEST_F(MemberFailureTest, SnapshotCopyFailureAfterSnapshotsFailsTheBackup) {
  Fault("k8s-3", {{"phase", "snapshot-copy"}});
  StartManager();
  Create(kube::kVolumeBackups, Backup("vb-copy"));
  ExpectFailedAndTornDown("vb-copy", "k8s-3", {"k8s-1", "k8s-2", "k8s-3"});
}

TEST_F(MemberFailureTest, TeardownFailureFailsTheBackup) {
  Fault("k8s-2", {{"phase", "teardown"}});
  StartManager();
  Create(kube::kVolumeBackups, Backup("vb-teardown"));
  ExpectFailedAndTornDown("vb-teardown", "k8s-2", {"k8s-1", "k8s-2", "k8s-3"});
  // Every member had its snapshots: the failure came after the pause had ended normally.
  json vbk = *control()->Get(kube::kVolumeBackups, "default", "vb-teardown");
  EXPECT_TRUE(protocol::IsConditionTrue(vbk, "SnapshotsCreated")) << vbk.dump(2);
}

}  // namespace
}  // namespace brfed::manager::testing
