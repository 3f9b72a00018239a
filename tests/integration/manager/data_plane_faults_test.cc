// Unreliable clusters: a data plane unreachable in the middle of a backup (connections refused,
// or requests left hanging), and 5xx / 429 answers with watches dropped all along on every
// cluster. Each time the backup converges to Complete, with one member per data plane.

#include <optional>

#include "kube/resource.h"
#include "steps/protocol/conditions.h"
#include "tests/integration/manager/manager_fixture.h"
#include "tests/integration/manager/scenario_util.h"

namespace brfed::manager::testing {
namespace {

using nlohmann::json;

class DataPlaneFaultsTest : public ManagerTest {
 protected:
  void ExpectCompleteWithOneMemberPerPlane(const std::string& name) {
    json vbk = WaitPhase(kube::kVolumeBackups, name, "Complete", std::chrono::seconds(120));
    ASSERT_EQ(Phase(vbk), "Complete") << vbk.dump(2);
    EXPECT_FALSE(vbk["status"].value("commitTs", "").empty()) << vbk.dump(2);
    EXPECT_EQ(vbk["status"]["backups"].size(), 3u) << vbk.dump(2);
    EXPECT_EQ(ConditionTypes(vbk),
              (std::vector<std::string>{"Running", "SnapshotsCreated", "Complete"}));
    std::string uid = vbk["metadata"]["uid"];
    for (const std::string& plane : DataPlaneNames()) {
      std::vector<json> members = OwnedMembers(*sim(), plane, BackupsKey(), uid);
      ASSERT_EQ(members.size(), 1u) << plane;
      EXPECT_TRUE(protocol::IsConditionTrue(members[0], "Complete")) << members[0].dump(2);
    }
    EXPECT_FALSE(cloud().pd.AnyPaused());
  }

  // Starts a backup whose k8s-2 member takes a while to take its snapshots, waits until that
  // member exists, makes k8s-2 unreachable in the way given until the member has taken its
  // snapshots, then heals it.
  void UnreachableMidBackup(const std::string& name, const std::string& how) {
    ASSERT_TRUE(OperatorConfig(plane("k8s-2"), {{"delays", {{"execute", "2s"}}}}).ok());
    StartManager();
    Create(kube::kVolumeBackups, Backup(name));
    WaitFor(kube::kVolumeBackups, name, [&](const json&) {
      return StoredObject(*sim(), "k8s-2", BackupsKey(), kTcNamespace, "fed-" + name).has_value();
    });
    kubesim::FaultSpec down;
    down.unreachable = how;
    ASSERT_TRUE(sim()->SetFaults("k8s-2", down).ok());
    // The data plane moves on while the manager cannot see it: the member takes its
    // snapshots during the outage.
    WaitFor(kube::kVolumeBackups, name, [&](const json&) {
      std::optional<json> m =
          StoredObject(*sim(), "k8s-2", BackupsKey(), kTcNamespace, "fed-" + name);
      return m && protocol::IsConditionTrue(*m, "VolumeBackupSnapshotsCreated");
    });
    json vbk = *control()->Get(kube::kVolumeBackups, "default", name);
    EXPECT_NE(Phase(vbk), "Complete") << "the backup completed with k8s-2 unreachable";
    ASSERT_TRUE(sim()->ClearFaults("k8s-2").ok());
    ExpectCompleteWithOneMemberPerPlane(name);
  }
};

TEST_F(DataPlaneFaultsTest, DataPlaneRefusingConnectionsMidBackupConverges) {
  UnreachableMidBackup("vb-refuse", "refuse");
}

TEST_F(DataPlaneFaultsTest, DataPlaneHangingMidBackupConverges) {
  UnreachableMidBackup("vb-hang", "hang");
}

TEST_F(DataPlaneFaultsTest, ErrorsThrottlingAndDroppedWatchesEverywhereConverge) {
  kubesim::FaultSpec flaky;
  flaky.error_rate = 0.15;
  flaky.error_code = 503;
  flaky.throttle_rate = 0.1;
  flaky.retry_after_seconds = 0;
  flaky.drop_watches_every = std::chrono::milliseconds(300);
  for (const char* c : {"control-plane", "k8s-1", "k8s-2", "k8s-3"}) {
    kubesim::FaultSpec f = flaky;
    f.error_code = std::string(c) == "k8s-2" ? 500 : 503;
    ASSERT_TRUE(sim()->SetFaults(c, f).ok()) << c;
  }
  StartManager();
  // The test's own requests go through the same faults; the client retries them.
  Create(kube::kVolumeBackups, Backup("vb-flaky"));
  ExpectCompleteWithOneMemberPerPlane("vb-flaky");
  for (const char* c : {"control-plane", "k8s-1", "k8s-2", "k8s-3"}) {
    ASSERT_TRUE(sim()->ClearFaults(c).ok()) << c;
  }
}

}  // namespace
}  // namespace brfed::manager::testing
