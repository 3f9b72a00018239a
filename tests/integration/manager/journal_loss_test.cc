// The journal directory lost while a backup runs (DESIGN §6: the data planes hold the truth the
// journal only caches): the manager is stopped in the middle of the run, its journal deleted,
// and a restarted manager still completes the backup, adopting the members it finds (they carry
// the VolumeBackup's uid) instead of creating others.

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "kube/resource.h"
#include "steps/protocol/conditions.h"
#include "tests/integration/manager/manager_fixture.h"
#include "tests/integration/manager/scenario_util.h"

namespace brfed::manager::testing {
namespace {

using nlohmann::json;

TEST_F(ManagerTest, JournalDeletedMidBackupStillCompletesWithoutDuplicateMembers) {
  // Every member holds at snapshot-copy for a moment, so the manager is stopped while GC is
  // paused and the members are still running.
  for (const std::string& p : DataPlaneNames()) {
    ASSERT_TRUE(OperatorConfig(plane(p), {{"delays", {{"snapshot-copy", "2s"}}}}).ok());
  }
  ASSERT_TRUE(OperatorConfig(plane("k8s-1"), {{"delays", {{"resume-gc", "2s"}}}}).ok());
  std::vector<std::string> created_names;
  std::mutex mu;
  std::vector<std::unique_ptr<kubesim::Store::Subscription>> subs;
  for (const std::string& p : DataPlaneNames()) {
    subs.push_back(
        sim()->cluster(p)->store()->Subscribe(BackupsKey(), [&, p](const kubesim::WatchEvent& e) {
          if (e.type != kubesim::EventType::kAdded) return;
          std::lock_guard<std::mutex> l(mu);
          created_names.push_back(p + "/" + e.object["metadata"].value("name", ""));
        }));
  }

  StartManager();
  Create(kube::kVolumeBackups, Backup("vb-lost"));
  WaitFor(kube::kVolumeBackups, "vb-lost", [&](const json&) {
    for (const std::string& p : DataPlaneNames()) {
      std::optional<json> m = StoredObject(*sim(), p, BackupsKey(), kTcNamespace, "fed-vb-lost");
      if (!m || !protocol::IsConditionTrue(*m, "VolumeBackupSnapshotsCreated")) return false;
    }
    return true;
  });
  StopManager();
  json mid = *control()->Get(kube::kVolumeBackups, "default", "vb-lost");
  EXPECT_NE(Phase(mid), "Complete") << "the backup finished before the manager was stopped";

  std::error_code ec;
  ASSERT_GT(std::filesystem::remove_all(journal_dir_, ec), 0u) << ec.message();
  ASSERT_FALSE(std::filesystem::exists(journal_dir_));

  StartManager();
  json vbk = WaitPhase(kube::kVolumeBackups, "vb-lost", "Complete");
  ASSERT_EQ(Phase(vbk), "Complete") << vbk.dump(2);
  EXPECT_FALSE(vbk["status"].value("commitTs", "").empty());
  EXPECT_EQ(vbk["status"]["backups"].size(), 3u);
  EXPECT_EQ(ConditionTypes(vbk),
            (std::vector<std::string>{"Running", "SnapshotsCreated", "Complete"}));
  std::string uid = vbk["metadata"]["uid"];
  for (const std::string& p : DataPlaneNames()) {
    std::vector<json> members = OwnedMembers(*sim(), p, BackupsKey(), uid);
    ASSERT_EQ(members.size(), 1u) << p;
    EXPECT_TRUE(protocol::IsConditionTrue(members[0], "Complete")) << members[0].dump(2);
    EXPECT_EQ(StoredObjects(*sim(), p, BackupsKey()).size(), 1u) << p;
  }
  {
    std::lock_guard<std::mutex> l(mu);
    // Each member was created once: none deleted and made again.
    std::sort(created_names.begin(), created_names.end());
    EXPECT_EQ(created_names, (std::vector<std::string>{"k8s-1/fed-vb-lost", "k8s-2/fed-vb-lost",
                                                       "k8s-3/fed-vb-lost"}));
  }
  subs.clear();
  EXPECT_FALSE(cloud().pd.AnyPaused());
  EXPECT_EQ(cloud().pd.Get("tidb-cluster/basic").pause_count, 1) << "GC was paused twice";
}

}  // namespace
}  // namespace brfed::manager::testing
