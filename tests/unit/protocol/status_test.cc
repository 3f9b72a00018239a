#include "steps/protocol/status.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "steps/protocol/conditions.h"

namespace brfed::protocol {
namespace {

using nlohmann::json;

const TimePoint kT0 = FromUnixMillis(1714521600000);  // 2024-05-01T00:00:00Z

TEST(SetCondition, PhaseFollowsOrderKeptTimeKeptWhenAlreadyTrue) {
  json status;
  SetCondition(&status, "Running", "", "", kT0);
  SetCondition(&status, "SnapshotsCreated", "", "", kT0 + std::chrono::seconds(5));
  SetCondition(&status, "Running", "", "", kT0 + std::chrono::seconds(9));
  EXPECT_EQ(status["phase"], "Running");
  ASSERT_EQ(status["conditions"].size(), 2u);
  EXPECT_EQ(status["conditions"][0]["type"], "Running");
  EXPECT_EQ(status["conditions"][0]["lastTransitionTime"], "2024-05-01T00:00:00Z");
  EXPECT_EQ(status["conditions"][1]["type"], "SnapshotsCreated");
}

BackupMember Done(const char* cluster, const char* ts, int64_t size) {
  BackupMember m;
  m.name = "fed-vb1";
  m.k8s_cluster_name = cluster;
  m.tc_name = "db";
  m.tc_namespace = "ns";
  m.phase = "Complete";
  m.commit_ts = ts;
  m.backup_size = size;
  m.backup_path = std::string("s3://b/p-") + cluster;
  return m;
}

TEST(BackupStatus, WorkedExampleEndsCompleteWithMinimumCommitTs) {
  json status;
  MarkRunning(&status, kT0);
  std::vector<BackupMember> ms = {Done("dp-1", "124", 1000), Done("dp-2", "123", 2000),
                                  Done("dp-3", "125", 500)};
  for (const auto& m : ms) UpsertMemberEntry(&status, BackupEntry(m));
  UpsertMemberEntry(&status, BackupEntry(ms[1]));  // a refresh replaces, never duplicates
  SetCondition(&status, "SnapshotsCreated", "", "", kT0 + std::chrono::seconds(30));
  WriteBackupComplete(&status, ms, *MinCommitTs(ms), kT0 + std::chrono::seconds(62));
  json want = json::parse(R"({
    "phase": "Complete", "timeStarted": "2024-05-01T00:00:00Z",
    "timeCompleted": "2024-05-01T00:01:02Z", "timeTaken": "1m2s",
    "backupSize": 3500, "backupSizeReadable": "3.5 kB", "commitTs": "123",
    "backups": [
      {"k8sClusterName": "dp-1", "tcName": "db", "tcNamespace": "ns", "backupName": "fed-vb1",
       "phase": "Complete", "commitTs": "124", "backupPath": "s3://b/p-dp-1", "backupSize": 1000},
      {"k8sClusterName": "dp-2", "tcName": "db", "tcNamespace": "ns", "backupName": "fed-vb1",
       "phase": "Complete", "commitTs": "123", "backupPath": "s3://b/p-dp-2", "backupSize": 2000},
      {"k8sClusterName": "dp-3", "tcName": "db", "tcNamespace": "ns", "backupName": "fed-vb1",
       "phase": "Complete", "commitTs": "125", "backupPath": "s3://b/p-dp-3", "backupSize": 500}],
    "conditions": [
      {"type": "Running", "status": "True", "lastTransitionTime": "2024-05-01T00:00:00Z"},
      {"type": "SnapshotsCreated", "status": "True", "lastTransitionTime": "2024-05-01T00:00:30Z"},
      {"type": "Complete", "status": "True", "lastTransitionTime": "2024-05-01T00:01:02Z"}]})");
  EXPECT_EQ(status, want) << status.dump(2);
}

TEST(BackupStatus, FailedKeepsCommitTsUnsetAndCarriesTheReason) {
  json status;
  MarkRunning(&status, kT0);
  std::vector<BackupMember> ms = {Done("dp-1", "1", 10)};
  WriteBackupFailed(&status, ms, kBackupMemberFailedReason,
                    "backup member fed-vb1 of cluster dp-1 failed", kT0 + std::chrono::seconds(3));
  EXPECT_EQ(status["phase"], "Failed");
  EXPECT_FALSE(status.contains("commitTs"));
  EXPECT_EQ(status["timeTaken"], "3s");
  EXPECT_EQ(status["conditions"][1]["reason"], "VolumeBackupMemberFailed");
}

TEST(RestoreSteps, StartIsOnceFinishIsOnce) {
  json status;
  StartRestoreStep(&status, "RestoreVolume", kT0);
  StartRestoreStep(&status, "RestoreVolume", kT0 + std::chrono::seconds(1));
  FinishRestoreStep(&status, "RestoreVolume", kT0 + std::chrono::seconds(45));
  FinishRestoreStep(&status, "RestoreVolume", kT0 + std::chrono::seconds(99));
  FinishRestoreStep(&status, "StartTiKV", kT0);  // never started: nothing happens
  json want = json::parse(R"([{"stepName": "RestoreVolume",
    "timeStarted": "2024-05-01T00:00:00Z", "timeCompleted": "2024-05-01T00:00:45Z",
    "timeTaken": "45s"}])");
  EXPECT_EQ(status["steps"], want);
}

}  // namespace
}  // namespace brfed::protocol
