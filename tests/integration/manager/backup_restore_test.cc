// A federated backup and restore through the manager, end to end against kube-sim.

#include "kube/resource.h"
#include "steps/protocol/conditions.h"
#include "tests/integration/manager/manager_fixture.h"

namespace brfed::manager::testing {
namespace {

using nlohmann::json;

TEST_F(ManagerTest, BackupCompletesWithMinimumCommitTsAndOneMemberPerPlane) {
  StartManager();
  Create(kube::kVolumeBackups, Backup("vb1"));
  json vbk = WaitPhase(kube::kVolumeBackups, "vb1", "Complete");
  ASSERT_EQ(Phase(vbk), "Complete") << vbk.dump(2);
  const json& status = vbk["status"];
  ASSERT_EQ(status["backups"].size(), 3u) << status.dump(2);
  int64_t min_ts = INT64_MAX;
  for (const json& b : status["backups"]) {
    EXPECT_EQ(b["phase"], "Complete");
    min_ts = std::min(min_ts, static_cast<int64_t>(std::stoll(b["commitTs"].get<std::string>())));
  }
  EXPECT_EQ(status["commitTs"], std::to_string(min_ts));
  EXPECT_FALSE(status.value("backupSizeReadable", "").empty());
  EXPECT_FALSE(status.value("timeTaken", "").empty());
  std::vector<std::string> types;
  for (const json& c : status["conditions"]) types.push_back(c["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"Running", "SnapshotsCreated", "Complete"}));
  for (const char* p : {"k8s-1", "k8s-2", "k8s-3"}) {
    Result<kube::ObjectList> members = plane(p)->List(kube::kBackups, "tidb-cluster");
    ASSERT_TRUE(members.ok());
    EXPECT_EQ(members->items.size(), 1u) << p;
  }
}

TEST_F(ManagerTest, RestoreFromABackupCompletes) {
  StartManager();
  Create(kube::kVolumeBackups, Backup("vb2"));
  ASSERT_EQ(Phase(WaitPhase(kube::kVolumeBackups, "vb2", "Complete")), "Complete");
  for (const char* p : {"k8s-1", "k8s-2", "k8s-3"}) {
    Result<json> tc = plane(p)->Patch(kube::kTidbClusters, "tidb-cluster", "basic",
                                      {{"spec", {{"recoveryMode", true}}}});
    ASSERT_TRUE(tc.ok()) << tc.status().ToString();
  }
  Create(kube::kVolumeRestores, Restore("vr2", "vb2"));
  json vrt = WaitPhase(kube::kVolumeRestores, "vr2", "Complete");
  ASSERT_EQ(Phase(vrt), "Complete") << vrt.dump(2);
  EXPECT_FALSE(vrt["status"].value("commitTs", "").empty());
  EXPECT_EQ(vrt["status"]["restores"].size(), 3u);
  std::vector<std::string> steps;
  for (const json& s : vrt["status"]["steps"]) steps.push_back(s["stepName"]);
  EXPECT_EQ(steps, (std::vector<std::string>{"RestoreVolume", "StartTiKV", "RestoreData", "RestartTiKV"}));
}

}  // namespace
}  // namespace brfed::manager::testing
