#include "manager/projection.h"

#include <gtest/gtest.h>

#include "steps/protocol/format.h"

namespace brfed::manager {
namespace {

using nlohmann::json;

const TimePoint kT0 = FromUnixMillis(1714521600000);  // 2024-05-01T00:00:00Z

TimePoint At(int seconds) { return kT0 + std::chrono::seconds(seconds); }

InstanceView Instance(const char* step, InstanceState state, int started, int finished,
                      Value outputs = Value::Map{}) {
  InstanceView i;
  i.step_id = step;
  i.state = state;
  i.attempt = state == InstanceState::kPending ? 0 : 1;
  i.started_at = At(started);
  i.finished_at = At(finished);
  i.outputs = std::move(outputs);
  return i;
}

json Vbk() {
  return json::parse(
      R"({"kind": "VolumeBackup", "metadata": {"name": "vb1", "namespace": "ns", "uid": "u1"},
    "spec": {"clusters": [{"k8sClusterName": "k8s-1", "tcName": "db", "tcNamespace": "tc"}]}})");
}

json Member(const char* phase, const char* ts) {
  return {{"metadata", {{"name", "fed-vb1"}, {"namespace", "tc"}}},
          {"spec",
           {{"backupMode", "volume-snapshot"},
            {"br", {{"cluster", "db"}, {"clusterNamespace", "tc"}}}}},
          {"status",
           {{"phase", phase},
            {"commitTs", ts},
            {"backupSize", 1500},
            {"backupPath", "s3://b/p-k8s-1"}}}};
}

TEST(ProjectBackupStatus, RunningThenSnapshotsCreatedThenCompleteWithJournaledTimes) {
  RunView run;
  run.run_id = "u1";
  run.workflow_name = "volume-backup";
  run.started_at = At(0);
  run.instances = {Instance("initialize", InstanceState::kSucceeded, 0, 2),
                   Instance("resume-gc", InstanceState::kRunning, 3, 0)};
  MemberObjects members = {Member("Running", "")};

  json s1 = ProjectBackupStatus(Vbk(), &run, members);
  EXPECT_EQ(s1["phase"], "Running");
  EXPECT_EQ(s1["timeStarted"], "2024-05-01T00:00:00Z");
  ASSERT_EQ(s1["backups"].size(), 1u);
  EXPECT_EQ(s1["backups"][0]["backupName"], "fed-vb1");

  run.instances[1] = Instance("resume-gc", InstanceState::kSucceeded, 3, 5);
  json vbk = Vbk();
  vbk["status"] = s1;
  json s2 = ProjectBackupStatus(vbk, &run, members);
  EXPECT_EQ(s2["phase"], "SnapshotsCreated");
  EXPECT_EQ(ProjectBackupStatus(vbk, &run, members), s2) << "projection is deterministic";

  run.state = RunState::kSucceeded;
  run.finished_at = At(62);
  run.instances.push_back(Instance("finalize", InstanceState::kSucceeded, 60, 62,
                                   Value::Map{{"commitTs", "123"}, {"backupSize", 1500}}));
  vbk["status"] = s2;
  json s3 = ProjectBackupStatus(vbk, &run, {Member("Complete", "123")});
  EXPECT_EQ(s3["phase"], "Complete");
  EXPECT_EQ(s3["commitTs"], "123");
  EXPECT_EQ(s3["timeTaken"], "1m2s");
  EXPECT_EQ(s3["backupSizeReadable"], "1.5 kB");
  EXPECT_EQ(s3["timeStarted"], "2024-05-01T00:00:00Z") << "a restart never moves timeStarted";
}

TEST(ProjectBackupStatus, CompleteListsTheMembersTheFinalizeStepJournaledNotTheCache) {
  json vbk = Vbk();
  vbk["spec"]["clusters"].push_back(
      {{"k8sClusterName", "k8s-2"}, {"tcName", "db"}, {"tcNamespace", "tc"}});
  RunView run;
  run.run_id = "u1";
  run.started_at = At(0);
  run.state = RunState::kSucceeded;
  run.finished_at = At(10);
  Value entries = Value::List{Value::Map{{"backupName", "fed-vb1"},
                                         {"k8sClusterName", "k8s-1"},
                                         {"tcName", "db"},
                                         {"tcNamespace", "tc"},
                                         {"phase", "Complete"},
                                         {"commitTs", "123"},
                                         {"backupSize", 1500}},
                              Value::Map{{"backupName", "fed-vb1"},
                                         {"k8sClusterName", "k8s-2"},
                                         {"tcName", "db"},
                                         {"tcNamespace", "tc"},
                                         {"phase", "Complete"},
                                         {"commitTs", "120"},
                                         {"backupSize", 2500}}};
  run.instances = {
      Instance("finalize", InstanceState::kSucceeded, 8, 10,
               Value::Map{{"commitTs", "120"}, {"backupSize", 4000}, {"backups", entries}})};
  // k8s-2's watch cache has not seen its member (its watch broke just after the create).
  json s = ProjectBackupStatus(vbk, &run, {Member("Complete", "123"), std::nullopt});
  EXPECT_EQ(s["phase"], "Complete");
  ASSERT_EQ(s["backups"].size(), 2u) << s.dump(2);
  EXPECT_EQ(s["backups"][1]["k8sClusterName"], "k8s-2");
  EXPECT_EQ(s["backups"][1]["commitTs"], "120");
  EXPECT_EQ(s["backupSize"], 4000);
  EXPECT_EQ(s["commitTs"], "120");
}

TEST(ProjectBackupStatus, FailureNamesTheStepsOwnWords) {
  RunView run;
  run.started_at = At(0);
  run.state = RunState::kFailed;
  run.finished_at = At(9);
  InstanceView failed = Instance("execute", InstanceState::kFailed, 1, 9);
  failed.last_error = FailedPreconditionError("backup member fed-vb1 of cluster k8s-2 failed");
  run.instances = {failed};
  json s = ProjectBackupStatus(Vbk(), &run, {std::nullopt});
  EXPECT_EQ(s["phase"], "Failed");
  EXPECT_EQ(s["conditions"].back()["reason"], "VolumeBackupMemberFailed");
  EXPECT_EQ(s["conditions"].back()["message"], "backup member fed-vb1 of cluster k8s-2 failed");
  EXPECT_FALSE(s.contains("commitTs"));
}

TEST(RunFailure, TakesALeadingReasonToken) {
  RunView run;
  run.state = RunState::kFailed;
  InstanceView failed = Instance("data", InstanceState::kFailed, 1, 2);
  failed.last_error = FailedPreconditionError(
      "VolumeRestoreMemberResolvedTsInvalid: commit ts in restore member x of cluster y is empty");
  run.instances = {failed};
  FailureText f = RunFailure(run, "VolumeRestoreMemberFailed");
  EXPECT_EQ(f.reason, "VolumeRestoreMemberResolvedTsInvalid");
  EXPECT_EQ(f.message, "commit ts in restore member x of cluster y is empty");
  run.state = RunState::kCancelled;
  run.message = "VolumeBackup is being deleted";
  EXPECT_EQ(RunFailure(run, "x").reason, "Cancelled");
}

TEST(ProjectRestoreStatus, CompleteListsTheMembersTheStepsJournaledNotTheCache) {
  json vrt = json::parse(R"({"metadata": {"name": "vr1", "namespace": "ns"},
    "spec": {"clusters": [{"k8sClusterName": "k8s-1", "tcName": "db", "tcNamespace": "tc"},
                          {"k8sClusterName": "k8s-2", "tcName": "db", "tcNamespace": "tc"}]}})");
  auto entry = [](const char* cluster, const char* phase) {
    return Value::Map{{"restoreName", "fed-vr1"},
                      {"k8sClusterName", cluster},
                      {"tcName", "db"},
                      {"tcNamespace", "tc"},
                      {"phase", phase}};
  };
  RunView run;
  run.started_at = At(0);
  run.state = RunState::kSucceeded;
  run.finished_at = At(50);
  run.instances = {Instance("volume", InstanceState::kSucceeded, 1, 10,
                            Value::Map{{"member", entry("k8s-1", "Running")}}),
                   Instance("volume", InstanceState::kSucceeded, 1, 11,
                            Value::Map{{"member", entry("k8s-2", "Running")}}),
                   Instance("finish", InstanceState::kSucceeded, 40, 50,
                            Value::Map{{"member", entry("k8s-1", "Complete")}}),
                   Instance("finish", InstanceState::kSucceeded, 40, 49,
                            Value::Map{{"member", entry("k8s-2", "Complete")}})};
  // Neither watch cache holds its member.
  json s = ProjectRestoreStatus(vrt, &run, {std::nullopt, std::nullopt});
  EXPECT_EQ(s["phase"], "Complete");
  ASSERT_EQ(s["restores"].size(), 2u) << s.dump(2);
  for (const json& e : s["restores"]) EXPECT_EQ(e["phase"], "Complete") << e.dump();
}

TEST(ProjectRestoreStatus, StepsFollowTheWarmUpMode) {
  json vrt = json::parse(R"({"metadata": {"name": "vr1", "namespace": "ns"},
    "spec": {"clusters": [{"k8sClusterName": "k8s-1", "tcName": "db", "tcNamespace": "tc"}],
             "template": {"warmup": "sync"}}})");
  RunView run;
  run.started_at = At(0);
  run.state = RunState::kSucceeded;
  run.finished_at = At(50);
  run.instances = {
      Instance("volume", InstanceState::kSucceeded, 1, 10),
      Instance("warmup", InstanceState::kSucceeded, 10, 20),
      Instance("tikv", InstanceState::kSucceeded, 20, 30),
      Instance("data", InstanceState::kSucceeded, 30, 40, Value::Map{{"commitTs", "77"}}),
      Instance("finish", InstanceState::kSucceeded, 40, 50),
      Instance("warmup-async", InstanceState::kSucceeded, 50, 50)};
  json s = ProjectRestoreStatus(vrt, &run, {std::nullopt});
  std::vector<std::string> conditions, steps;
  for (const json& c : s["conditions"]) conditions.push_back(c["type"]);
  for (const json& st : s["steps"]) steps.push_back(st["stepName"]);
  EXPECT_EQ(conditions, (std::vector<std::string>{"Running", "VolumeComplete", "WarmUpStarted",
                                                  "WarmUpComplete", "TikvComplete", "DataComplete",
                                                  "Complete"}));
  EXPECT_EQ(steps, (std::vector<std::string>{"RestoreVolume", "WarmUp", "StartTiKV", "RestoreData",
                                             "RestartTiKV"}));
  EXPECT_EQ(s["commitTs"], "77");
  EXPECT_EQ(s["timeTaken"], "50s");
}

}  // namespace
}  // namespace brfed::manager
