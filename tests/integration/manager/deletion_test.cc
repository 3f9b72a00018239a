// Deleting federation objects (FEDERATION_PROTOCOL §3.10, §8.8, §9.9): for every cleanPolicy the
// VolumeBackup goes away once Cleaned, its members are deleted, and the fake EBS registry keeps
// or loses the backup's snapshots as the policy says; a VolumeBackup deleted in the middle of
// its run is cancelled, torn down (the pause ends) and cleaned; VolumeRestores go away with
// their members, finished or not.

#include <algorithm>
#include <set>

#include "kube/resource.h"
#include "steps/protocol/conditions.h"
#include "steps/protocol/members.h"
#include "tests/integration/manager/manager_fixture.h"
#include "tests/integration/manager/scenario_util.h"

namespace brfed::manager::testing {
namespace {

using nlohmann::json;

class DeletionTest : public ManagerTest {
 protected:
  // The EBS snapshots the members of VolumeBackup `name` took, by data plane.
  std::map<std::string, std::set<std::string>> SnapshotsOf(const std::string& name) {
    std::map<std::string, std::set<std::string>> out;
    for (const kubesim::op::EbsSnapshot& s : cloud().ebs.List("")) {
      auto it = s.tags.find("brfed.sim/backup");
      if (it != s.tags.end() && it->second == std::string(kTcNamespace) + "/fed-" + name) {
        out[s.data_plane].insert(s.id);
      }
    }
    return out;
  }

  size_t Count(const std::map<std::string, std::set<std::string>>& snapshots) {
    size_t n = 0;
    for (const auto& [plane, ids] : snapshots) n += ids.size();
    return n;
  }

  void DeleteAndExpectGone(const kube::Resource& r, const std::string& name) {
    Result<json> deleted = control()->Delete(r, "default", name);
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    ASSERT_TRUE(WaitGone(r, name))
        << name << " was never removed: " << control()->Get(r, "default", name)->dump(2);
  }

  void ExpectNoMembers(const kubesim::ResourceKey& key, const std::string& name) {
    for (const std::string& plane : DataPlaneNames()) {
      EXPECT_FALSE(StoredObject(*sim(), plane, key, kTcNamespace, "fed-" + name).has_value())
          << plane << " still has the member of " << name;
    }
  }

  // A complete backup with `policy`, deleted: returns the snapshots it had.
  std::map<std::string, std::set<std::string>> CompleteThenDelete(const std::string& name,
                                                                  const std::string& policy) {
    StartManager();
    Create(kube::kVolumeBackups, Backup(name, policy));
    json vbk = WaitPhase(kube::kVolumeBackups, name, "Complete");
    EXPECT_EQ(Phase(vbk), "Complete") << vbk.dump(2);
    std::map<std::string, std::set<std::string>> before = SnapshotsOf(name);
    EXPECT_EQ(before.size(), 3u) << "every data plane took snapshots";
    ObjectHistory history(sim()->cluster("control-plane")->store(), VolumeBackupsKey(), name);
    DeleteAndExpectGone(kube::kVolumeBackups, name);
    EXPECT_TRUE(history.DeletedAfter("Cleaned", protocol::kBackupFinalizer))
        << "the finalizer went before Cleaned was written";
    ExpectNoMembers(BackupsKey(), name);
    return before;
  }
};

TEST_F(DeletionTest, RetainKeepsEverySnapshot) {
  std::map<std::string, std::set<std::string>> before = CompleteThenDelete("vb-retain", "Retain");
  EXPECT_EQ(SnapshotsOf("vb-retain"), before);
}

TEST_F(DeletionTest, DeleteRemovesEverySnapshot) {
  std::map<std::string, std::set<std::string>> before = CompleteThenDelete("vb-delete", "Delete");
  EXPECT_GT(Count(before), 0u);
  EXPECT_EQ(Count(SnapshotsOf("vb-delete")), 0u);
  for (const auto& [plane, ids] : before) {
    for (const kubesim::op::EbsSnapshot& s : cloud().ebs.List(plane)) {
      EXPECT_EQ(ids.count(s.id), 0u) << s.id << " of " << plane << " survived";
    }
  }
}

TEST_F(DeletionTest, OnFailureKeepsTheSnapshotsOfACompleteBackup) {
  std::map<std::string, std::set<std::string>> before =
      CompleteThenDelete("vb-onfailure", "OnFailure");
  EXPECT_EQ(SnapshotsOf("vb-onfailure"), before);
}

TEST_F(DeletionTest, OnFailureRemovesTheSnapshotsOfTheFailedMember) {
  // k8s-3 fails after its snapshots exist; the data plane cleans a member only when that
  // member failed, as upstream.
  ASSERT_TRUE(OperatorFault(plane("k8s-3"), {{"phase", "snapshot-copy"}}).ok());
  StartManager();
  Create(kube::kVolumeBackups, Backup("vb-onfail2", "OnFailure"));
  json vbk = WaitPhase(kube::kVolumeBackups, "vb-onfail2", "Failed");
  ASSERT_EQ(Phase(vbk), "Failed") << vbk.dump(2);
  std::map<std::string, std::set<std::string>> before = SnapshotsOf("vb-onfail2");
  ASSERT_EQ(before.count("k8s-3"), 1u);
  DeleteAndExpectGone(kube::kVolumeBackups, "vb-onfail2");
  ExpectNoMembers(BackupsKey(), "vb-onfail2");
  std::map<std::string, std::set<std::string>> after = SnapshotsOf("vb-onfail2");
  EXPECT_EQ(after.count("k8s-3"), 0u) << "the failed member's snapshots were kept";
  before.erase("k8s-3");
  EXPECT_EQ(after, before);
}

TEST_F(DeletionTest, DeletingARunningBackupCancelsItEndsThePauseAndDeletesTheMembers) {
  // The initialize member keeps GC paused until the run is stopped.
  ASSERT_TRUE(OperatorConfig(plane("k8s-1"), {{"delays", {{"resume-gc", "1h"}}}}).ok());
  StartManager();
  Create(kube::kVolumeBackups, Backup("vb-mid", "Delete"));
  WaitFor(kube::kVolumeBackups, "vb-mid", [&](const json&) {
    std::optional<json> m = StoredObject(*sim(), "k8s-1", BackupsKey(), kTcNamespace, "fed-vb-mid");
    return m && m->value("spec", json::object()).value("resumeGcSchedule", false);
  });
  ASSERT_TRUE(cloud().pd.AnyPaused());
  for (const std::string& plane : DataPlaneNames()) {
    ASSERT_TRUE(StoredObject(*sim(), plane, BackupsKey(), kTcNamespace, "fed-vb-mid").has_value())
        << plane;
  }
  ObjectHistory history(sim()->cluster("control-plane")->store(), VolumeBackupsKey(), "vb-mid");
  DeleteAndExpectGone(kube::kVolumeBackups, "vb-mid");
  EXPECT_FALSE(cloud().pd.AnyPaused()) << cloud().pd.ToJson().dump(2);
  ExpectNoMembers(BackupsKey(), "vb-mid");
  EXPECT_EQ(Count(SnapshotsOf("vb-mid")), 0u);
  EXPECT_EQ(manager_->metrics().Get("brfed_runs_finished_total",
                                    {{"workflow", "volume-backup"}, {"state", "Cancelled"}}),
            1);
  EXPECT_TRUE(history.DeletedAfter("Cleaned", protocol::kBackupFinalizer));
  bool cancelled_shown = false;
  for (const json& s : history.states()) {
    if (ConditionText(s, "Failed").rfind("Cancelled: ", 0) == 0) cancelled_shown = true;
  }
  EXPECT_TRUE(cancelled_shown) << "no state said the run was cancelled";
}

TEST_F(DeletionTest, VolumeRestoresGoAwayWithTheirMembersFinishedOrNot) {
  StartManager();
  Create(kube::kVolumeBackups, Backup("vb-src", "Retain"));
  ASSERT_EQ(Phase(WaitPhase(kube::kVolumeBackups, "vb-src", "Complete")), "Complete");
  auto recovery_mode = [&] {
    for (const std::string& p : DataPlaneNames()) {
      Result<json> tc = plane(p)->Patch(kube::kTidbClusters, kTcNamespace, "basic",
                                        {{"spec", {{"recoveryMode", true}}}});
      ASSERT_TRUE(tc.ok()) << tc.status().ToString();
    }
  };

  // Finished.
  recovery_mode();
  Create(kube::kVolumeRestores, Restore("vr-done", "vb-src"));
  ASSERT_EQ(Phase(WaitPhase(kube::kVolumeRestores, "vr-done", "Complete")), "Complete");
  DeleteAndExpectGone(kube::kVolumeRestores, "vr-done");
  ExpectNoMembers(RestoresKey(), "vr-done");

  // Still running: restore-data never ends by itself.
  for (const std::string& p : DataPlaneNames()) {
    ASSERT_TRUE(OperatorConfig(plane(p), {{"delays", {{"restore-data", "1h"}}}}).ok());
  }
  recovery_mode();
  Create(kube::kVolumeRestores, Restore("vr-mid", "vb-src"));
  WaitFor(kube::kVolumeRestores, "vr-mid", [](const json& o) {
    for (const json& s : o.value("status", json::object()).value("steps", json::array())) {
      if (s.value("stepName", "") == "RestoreData") return true;
    }
    return false;
  });
  for (const std::string& plane : DataPlaneNames()) {
    ASSERT_TRUE(StoredObject(*sim(), plane, RestoresKey(), kTcNamespace, "fed-vr-mid").has_value())
        << plane;
  }
  DeleteAndExpectGone(kube::kVolumeRestores, "vr-mid");
  ExpectNoMembers(RestoresKey(), "vr-mid");
  EXPECT_EQ(manager_->metrics().Get("brfed_runs_finished_total",
                                    {{"workflow", "volume-restore"}, {"state", "Cancelled"}}),
            1);
}

}  // namespace
}  // namespace brfed::manager::testing
