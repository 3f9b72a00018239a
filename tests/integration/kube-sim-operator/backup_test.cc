// A federated volume-snapshot backup across three data planes, driven by hand.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>

#include "tests/integration/kube-sim-operator/sim_fixture.h"
#include "tools/kube-sim/operator/conditions.h"

namespace brfed::kubesim::op::testing {
namespace {

using FederatedBackupTest = OperatorSimTest;

TEST_F(FederatedBackupTest, WholeBackupAcrossThreeDataPlanes) {
  ASSERT_TRUE(RunFederatedBackup("vb1", "Delete"));
  const ResourceKey& bk = BackupsResource();

  for (const std::string& plane : kPlanes) {
    SCOPED_TRACE(plane);
    nlohmann::json m = Get(plane, bk, "fed-vb1");
    EXPECT_EQ(StringAt(m, "status.phase"), "Complete");
    // commitTs: a decimal int64, set before Complete.
    std::string ts = StringAt(m, "status.commitTs");
    ASSERT_FALSE(ts.empty());
    char* end = nullptr;
    EXPECT_GT(std::strtoll(ts.c_str(), &end, 10), 0);
    EXPECT_EQ(*end, '\0');
    EXPECT_GT(m["status"].value("backupSize", int64_t{0}), 0);
    EXPECT_FALSE(StringAt(m, "status.backupSizeReadable").empty());
    EXPECT_EQ(StringAt(m, "status.backupPath"), "s3://bucket-1/vb1-" + plane);
    EXPECT_FALSE(StringAt(m, "status.timeStarted").empty());
    EXPECT_FALSE(StringAt(m, "status.timeCompleted").empty());
    EXPECT_FALSE(StringAt(m, "status.timeTaken").empty());
    // The data plane's finalizer, since cleanPolicy is Delete.
    EXPECT_EQ(m["metadata"]["finalizers"], nlohmann::json::array({kBackupFinalizer}));

    // One snapshot per TiKV volume, tagged with the backup.
    std::vector<EbsSnapshot> snaps = cloud().ebs.List(plane);
    ASSERT_EQ(snaps.size(), 3u);
    for (const EbsSnapshot& s : snaps) {
      EXPECT_EQ(s.id.rfind("snap-", 0), 0u);
      EXPECT_EQ(s.volume_id.rfind("vol-", 0), 0u);
      EXPECT_EQ(s.tags.at("brfed.sim/backup"), "tidb-cluster/fed-vb1");
      EXPECT_EQ(s.tags.at("brfed.sim/backup-uid"), StringAt(m, "metadata.uid"));
      EXPECT_GT(s.size_bytes, 0);
    }
    EXPECT_TRUE(cloud().storage.Exists("s3://bucket-1/vb1-" + plane + "/backupmeta"));
    EXPECT_TRUE(cloud().storage.Exists("s3://bucket-1/vb1-" + plane + "/clustermeta"));
  }

  // Conditions in the documented order (§11.1.7), each type once, first occurrence kept.
  std::vector<std::string> init = ConditionTypes(Get(kPlanes[0], bk, "fed-vb1"));
  EXPECT_TRUE(InOrder(init, {"Scheduled", "Running", "VolumeBackupInitialized", "Prepare",
                             "VolumeBackupSnapshotsCreated", "Complete"}))
      << nlohmann::json(init).dump();
  EXPECT_TRUE(InOrder(init, {"VolumeBackupSnapshotsCreated", "VolumeBackupInitializeComplete"}));
  EXPECT_TRUE(InOrder(init, {"VolumeBackupSnapshotsCreated", "VolumeBackupComplete", "Complete"}));
  for (size_t i = 1; i < kPlanes.size(); ++i) {
    std::vector<std::string> other = ConditionTypes(Get(kPlanes[i], bk, "fed-vb1"));
    EXPECT_EQ(other, (std::vector<std::string>{"Scheduled", "Prepare", "Running",
                                               "VolumeBackupSnapshotsCreated",
                                               "VolumeBackupComplete", "Complete"}))
        << kPlanes[i];
  }

  // The pause happened once, through the first data plane, and ended.
  PauseInfo pause = cloud().pd.Get(kLogicalCluster);
  EXPECT_FALSE(pause.paused);
  EXPECT_EQ(pause.pause_count, 1);
  EXPECT_GT(pause.total_paused.count(), 0);
  EXPECT_TRUE(pause.holders.empty());
}

TEST_F(FederatedBackupTest, PhaseOrderOfTheInitializeMemberIsObservable) {
  // Every condition write is its own update, so a watcher sees each phase in turn.
  std::vector<std::string> phases;
  std::mutex mu;
  std::condition_variable cv;
  auto sub = store(kPlanes[0])->Subscribe(BackupsResource(), [&](const WatchEvent& e) {
    std::string phase = StringAt(e.object, "status.phase");
    std::lock_guard<std::mutex> lock(mu);
    if (!phase.empty() && (phases.empty() || phases.back() != phase)) phases.push_back(phase);
    cv.notify_all();
  });
  ASSERT_TRUE(RunFederatedBackup("vb2", ""));
  {
    // Events are delivered after the write returns: wait for the last one.
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10),
                [&] { return !phases.empty() && phases.back() == "Complete"; });
  }
  sub.reset();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(InOrder(phases, {"Scheduled", "Running", "VolumeBackupInitialized", "Scheduled",
                               "Prepare", "Running", "VolumeBackupSnapshotsCreated"}))
      << nlohmann::json(phases).dump();
  EXPECT_EQ(phases.back(), "Complete");
}

TEST_F(FederatedBackupTest, PauseStateIsServedByTheAdminEndpoint) {
  Create(kPlanes[0], BackupsResource(), BackupMember(kPlanes[0], "vb3", true, ""));
  ASSERT_TRUE(WaitCondition(kPlanes[0], BackupsResource(), "fed-vb3", "VolumeBackupInitialized"));
  for (const std::string& plane : kPlanes) {  // PD is shared: every data plane reports it
    auto [code, body] = Admin(plane, "GET", "/admin/operator/pause");
    ASSERT_EQ(code, 200) << plane;
    const nlohmann::json& c = body["clusters"][kLogicalCluster];
    EXPECT_TRUE(c["paused"].get<bool>());
    EXPECT_TRUE(c["pausedSince"].is_string());
    EXPECT_EQ(c["pauseCount"], 1);
  }
  Teardown("vb3");  // teardown deletes the initialize job: the pause ends
  auto [code, body] = Admin(kPlanes[0], "GET", "/admin/operator/pause");
  ASSERT_EQ(code, 200);
  EXPECT_FALSE(body["clusters"][kLogicalCluster]["paused"].get<bool>());
  EXPECT_EQ(StringAt(Get(kPlanes[0], BackupsResource(), "fed-vb3"), "status.phase"), "Complete");
}

TEST_F(FederatedBackupTest, InvalidSpecsAreRejected) {
  struct Case {
    const char* name;
    std::function<void(nlohmann::json&)> edit;
  } cases[] = {
      {"no-cluster", [](nlohmann::json& o) { o["spec"]["br"].erase("cluster"); }},
      {"bad-type", [](nlohmann::json& o) { o["spec"]["backupType"] = "incremental"; }},
      {"no-bucket", [](nlohmann::json& o) { o["spec"]["s3"].erase("bucket"); }},
      {"bad-endpoint", [](nlohmann::json& o) { o["spec"]["s3"]["endpoint"] = "minio:9000"; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    nlohmann::json obj = BackupMember(kPlanes[1], c.name, true, "");
    c.edit(obj);
    Create(kPlanes[1], BackupsResource(), obj);
    ASSERT_TRUE(
        WaitCondition(kPlanes[1], BackupsResource(), std::string("fed-") + c.name, "Invalid"));
    nlohmann::json got = Get(kPlanes[1], BackupsResource(), std::string("fed-") + c.name);
    EXPECT_EQ(FindCondition(got, "Invalid")->value("reason", ""), "InvalidSpec");
  }
  // A TidbCluster that does not span Kubernetes clusters.
  Mutate(kPlanes[2], TidbClustersResource(), kTc,
         [](nlohmann::json& tc) { tc["spec"]["acrossK8s"] = false; });
  Create(kPlanes[2], BackupsResource(), BackupMember(kPlanes[2], "vb4", true, ""));
  ASSERT_TRUE(WaitCondition(kPlanes[2], BackupsResource(), "fed-vb4", "Invalid"));
  EXPECT_EQ(cloud().pd.Get(kLogicalCluster).pause_count, 0);
}

TEST_F(FederatedBackupTest, MissingTidbClusterIsRetriedNotInvalid) {
  nlohmann::json obj = BackupMember(kPlanes[0], "vb5", true, "");
  obj["spec"]["br"]["cluster"] = "late";
  Create(kPlanes[0], BackupsResource(), obj);
  ASSERT_TRUE(WaitCondition(kPlanes[0], BackupsResource(), "fed-vb5", "RetryFailed"));
  // The cluster appears: the member proceeds.
  nlohmann::json tc = Get(kPlanes[0], TidbClustersResource(), kTc);
  nlohmann::json late = {{"apiVersion", "pingcap.com/v1alpha1"},
                         {"kind", "TidbCluster"},
                         {"metadata", {{"name", "late"}, {"namespace", kNs}}},
                         {"spec", tc["spec"]}};
  Create(kPlanes[0], TidbClustersResource(), late);
  ASSERT_TRUE(WaitCondition(kPlanes[0], BackupsResource(), "fed-vb5", "VolumeBackupInitialized"));
  EXPECT_TRUE(cloud().pd.Get("tidb-cluster/late").paused);
  Teardown("vb5");
}

}  // namespace
}  // namespace brfed::kubesim::op::testing
