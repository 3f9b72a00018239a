// BackupReconciler as a pure function: one condition write per call, delays as wake-ups,
// effects as data.
#include "tools/kube-sim/operator/backup_logic.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "tools/kube-sim/operator/pd_state.h"

namespace brfed::kubesim::op {
namespace {

using std::chrono::seconds;

class BackupLogicTest : public ::testing::Test {
 protected:
  void SetUp() override {
    obj_ = {{"metadata", {{"name", "fed-vb1"}, {"namespace", "ns"}, {"uid", "u1"}}},
            {"spec",
             {{"backupMode", "volume-snapshot"},
              {"federalVolumeBackupPhase", "initialize"},
              {"volumeBackupInitJobMaxActiveSeconds", 10},
              {"br", {{"cluster", "basic"}}},
              {"s3", {{"provider", "aws"}, {"bucket", "b"}, {"prefix", "p"}}}}}};
    tc_ = {{"metadata", {{"name", "basic"}, {"namespace", "ns"}}},
           {"spec", {{"acrossK8s", true}, {"tikv", {{"replicas", 2}}}}},
           {"status",
            {{"tikv",
              {{"stores", {{"1", nlohmann::json::object()}, {"2", nlohmann::json::object()}}}}}}}};
  }

  // Reconciles until nothing changes; returns the requested wake-up, if any.
  std::optional<TimePoint> Settle() {
    for (int i = 0; i < 100; ++i) {
      ReconcileContext ctx;
      ctx.data_plane = "dp";
      ctx.now = now_;
      ctx.tso = ++tso_;
      ctx.options = &options_;
      ctx.faults = &faults_;
      ctx.storage = &storage_;
      ctx.tc = &tc_;
      Decision<BackupRuntime> d = BackupReconciler(ctx, obj_, rt_).Run();
      for (const Effect& e : d.effects) effects_.push_back(e);
      for (const Effect& e : d.effects) {
        if (e.kind == Effect::Kind::kPause) pd_.Pause(e.cluster, e.holder);
        if (e.kind == Effect::Kind::kResume) pd_.Resume(e.holder);
        if (e.kind == Effect::Kind::kPutObject) storage_.Put(e.key, e.content);
      }
      bool wrote = d.object && *d.object != obj_;
      if (wrote) obj_ = *d.object;
      rt_ = d.runtime;
      if (!wrote && !d.runtime_changed && d.effects.empty()) return d.wake_at;
    }
    ADD_FAILURE() << "the reconciler never settles";
    return std::nullopt;
  }

  std::vector<std::string> Types() const {
    std::vector<std::string> out;
    for (const auto& c : obj_["status"]["conditions"]) out.push_back(c["type"]);
    return out;
  }

  nlohmann::json obj_, tc_;
  BackupRuntime rt_;
  TimePoint now_ = TimePoint(seconds(1700000000));
  uint64_t tso_ = 1000;
  OperatorOptions options_;
  std::vector<Fault> faults_;
  ObjectStorage storage_;
  PdState pd_{[this] { return now_; }};
  std::vector<Effect> effects_;
};

TEST_F(BackupLogicTest, InitializePausesGcThroughThePdOfTheLogicalCluster) {
  EXPECT_EQ(Settle(), TimePoint(seconds(1700000010)));  // the job's deadline
  EXPECT_EQ(Types(), (std::vector<std::string>{"Scheduled", "Running", "VolumeBackupInitialized"}));
  EXPECT_TRUE(pd_.Get("ns/basic").paused);
  EXPECT_EQ(pd_.Get("ns/basic").holders.count("dp/u1"), 1u);
}

TEST_F(BackupLogicTest, StepDelaysBecomeWakeUps) {
  options_.delays["initialize"] = std::chrono::milliseconds(3000);
  EXPECT_EQ(Settle(), now_ + seconds(3));
  EXPECT_EQ(Types().back(), "Running");
  now_ += seconds(3);
  Settle();
  EXPECT_EQ(Types().back(), "VolumeBackupInitialized");
}

TEST_F(BackupLogicTest, ResumeIsIgnoredBeforeSnapshotsAreCreated) {
  Settle();
  obj_["spec"]["resumeGcSchedule"] = true;
  Settle();
  EXPECT_FALSE(HasCondition(obj_, "VolumeBackupInitializeComplete"));
  EXPECT_TRUE(pd_.Get("ns/basic").paused);
  // Execute: snapshots, then the resume is honoured.
  obj_["spec"]["federalVolumeBackupPhase"] = "execute";
  Settle();
  EXPECT_TRUE(HasCondition(obj_, "VolumeBackupInitializeComplete"));
  EXPECT_TRUE(HasCondition(obj_, "VolumeBackupComplete"));
  EXPECT_FALSE(pd_.Get("ns/basic").paused);
  EXPECT_FALSE(obj_["status"]["commitTs"].get<std::string>().empty());
  EXPECT_TRUE(storage_.Exists("s3://b/p/backupmeta"));
}

TEST_F(BackupLogicTest, DeadlineOfTheInitializeJobFailsTheMemberAndResumes) {
  Settle();
  now_ += seconds(11);
  Settle();
  EXPECT_EQ(FindCondition(obj_, "VolumeBackupInitializeFailed")->value("reason", ""),
            "InitializeJobCompletedOrFailed");
  EXPECT_FALSE(pd_.Get("ns/basic").paused);
  obj_["spec"]["federalVolumeBackupPhase"] = "teardown";
  Settle();
  EXPECT_EQ(obj_["status"]["phase"], "Failed");
}

TEST_F(BackupLogicTest, NonVolumeSnapshotBackupsAreLeftAlone) {
  obj_["spec"]["backupMode"] = "snapshot";
  EXPECT_EQ(Settle(), std::nullopt);
  EXPECT_FALSE(obj_.contains("status"));
}

TEST_F(BackupLogicTest, ExistingClustermetaFailsTheExecuteMember) {
  storage_.Put("s3://b/p/clustermeta", "{}");
  obj_["spec"]["federalVolumeBackupPhase"] = "execute";
  Settle();
  EXPECT_EQ(FindCondition(obj_, "Failed")->value("reason", ""), "FileExistedInExternalStorage");
}

TEST_F(BackupLogicTest, SnapshotsPerStoreWithDeterministicIds) {
  obj_["spec"]["federalVolumeBackupPhase"] = "execute";
  Settle();
  std::vector<EbsSnapshot> snaps;
  for (const Effect& e : effects_) {
    if (e.kind == Effect::Kind::kCreateSnapshots) snaps = e.snapshots;
  }
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[0].id, SnapshotId("u1", VolumeId("dp", tc_, "1")));
  EXPECT_NE(snaps[0].id, snaps[1].id);
  EXPECT_EQ(snaps[0].tags.at("brfed.sim/backup"), "ns/fed-vb1");
}

}  // namespace
}  // namespace brfed::kubesim::op
