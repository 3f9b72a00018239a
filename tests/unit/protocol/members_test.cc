#include "steps/protocol/members.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "steps/protocol/member_state.h"

namespace brfed::protocol {
namespace {

using nlohmann::json;

// The worked example of FEDERATION_PROTOCOL §14.1.
json WorkedExample() {
  return json::parse(R"({
    "metadata": {"name": "vb1", "namespace": "ns-1", "labels": {"team": "db"},
                 "annotations": {"note": "x",
                                 "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
    "spec": {
      "clusters": [
        {"k8sClusterName": "dp-1", "tcName": "db-1", "tcNamespace": "ns-1"},
        {"k8sClusterName": "dp-2", "tcName": "db-2", "tcNamespace": "ns-2"},
        {"k8sClusterName": "dp-3", "tcName": "db-3", "tcNamespace": "ns-3"}],
      "template": {"br": {"concurrency": 4, "options": ["--a"]},
                   "s3": {"provider": "aws", "bucket": "b", "prefix": "p"},
                   "cleanPolicy": "Delete", "toolImage": "br:v7",
                   "automountServiceAccountToken": true,
                   "snapshotsDeleteRatio": 5}}})");
}

TEST(BuildBackupMember, InitializeMemberFollowsSection8_2) {
  json m = BuildBackupMember(WorkedExample(), 0, "uid-1", /*initialize=*/true);
  json want = json::parse(R"({
    "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
    "metadata": {"name": "fed-vb1", "namespace": "ns-1", "labels": {"team": "db"},
                 "annotations": {"note": "x", "brfed.pingcap.com/run": "uid-1"}},
    "spec": {"backupMode": "volume-snapshot", "backupType": "full",
             "federalVolumeBackupPhase": "initialize",
             "volumeBackupInitJobMaxActiveSeconds": 600,
             "cleanPolicy": "Delete", "toolImage": "br:v7", "calcSizeLevel": "all",
             "s3": {"provider": "aws", "bucket": "b", "prefix": "p-dp-1"},
             "br": {"cluster": "db-1", "clusterNamespace": "ns-1", "concurrency": 4,
                    "options": ["--a"]},
             "cleanOption": {"snapshotsDeleteRatio": 1.0}}})");
  EXPECT_EQ(m, want) << m.dump(2);
}

TEST(BuildBackupMember, ExecuteMembersOmitTheInitDeadline) {
  json m = BuildBackupMember(WorkedExample(), 2, "uid-1", /*initialize=*/false);
  EXPECT_EQ(m["spec"]["federalVolumeBackupPhase"], "execute");
  EXPECT_FALSE(m["spec"].contains("volumeBackupInitJobMaxActiveSeconds"));
  EXPECT_EQ(m["spec"]["s3"]["prefix"], "p-dp-3");
  EXPECT_EQ(m["metadata"]["namespace"], "ns-3");
  EXPECT_FALSE(m["spec"].contains("automountServiceAccountToken"));
}

TEST(ClampDeleteRatio, KeepsOnlyTheAllowedRange) {
  struct Case {
    json tmpl;
    double want;
  } cases[] = {{json::object(), 1.0},
               {{{"snapshotsDeleteRatio", 0.1}}, 0.1},
               {{{"snapshotsDeleteRatio", 2.0}}, 2.0},
               {{{"snapshotsDeleteRatio", 0}}, 1.0},
               {{{"snapshotsDeleteRatio", 2.5}}, 1.0},
               {{{"snapshotsDeleteRatio", "x"}}, 1.0}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.tmpl.dump());
    EXPECT_EQ(ClampDeleteRatio(c.tmpl), c.want);
  }
}

TEST(BuildRestoreMember, FollowsSection9_2) {
  json vrt = json::parse(R"({
    "metadata": {"name": "vr1", "namespace": "default"},
    "spec": {"clusters": [{"k8sClusterName": "k8s-2", "tcName": "basic", "tcNamespace": "tc",
                           "azName": "us-west-2b",
                           "backup": {"s3": {"provider": "aws", "prefix": "p-k8s-2"}}}],
             "template": {"br": {"sendCredToTikv": true}, "warmup": "sync",
                          "warmupImage": "w", "warmupStrategy": "fsr"}}})");
  json m = BuildRestoreMember(vrt, 0, "uid-2");
  json want = json::parse(R"({
    "apiVersion": "pingcap.com/v1alpha1", "kind": "Restore",
    "metadata": {"name": "fed-vr1", "namespace": "tc",
                 "annotations": {"brfed.pingcap.com/run": "uid-2"}},
    "spec": {"restoreMode": "volume-snapshot", "backupType": "full",
             "federalVolumeRestorePhase": "restore-volume", "volumeAZ": "us-west-2b",
             "s3": {"provider": "aws", "prefix": "p-k8s-2"},
             "br": {"cluster": "basic", "clusterNamespace": "tc", "sendCredToTikv": true},
             "warmup": "sync", "warmupImage": "w", "warmupStrategy": "fsr"}})");
  EXPECT_EQ(m, want) << m.dump(2);
}

TEST(Ownership, ForeignObjectsAreRecognised) {
  json ours = BuildBackupMember(WorkedExample(), 0, "uid-1", true);
  EXPECT_TRUE(IsOwnedBy(ours, "uid-1"));
  EXPECT_FALSE(IsOwnedBy(ours, "uid-2"));
  json foreign = {{"kind", "Backup"}, {"metadata", {{"name", "fed-vb1"}, {"namespace", "ns-1"}}}};
  EXPECT_FALSE(IsOwnedBy(foreign, "uid-1"));
  EXPECT_EQ(ForeignMemberMessage(foreign, "dp-1"),
            "Backup ns-1/fed-vb1 in data plane dp-1 exists but was not created by this run "
            "(annotation brfed.pingcap.com/run is absent); refusing to adopt it");
  EXPECT_FALSE(IsOwnedBy(json("x"), "uid-1"));
}

json Member(const char* name, const char* cluster_ns, std::vector<const char*> conditions,
            json status_extra = json::object()) {
  json conds = json::array();
  for (const char* c : conditions) conds.push_back({{"type", c}, {"status", "True"}});
  json status = {{"conditions", conds}};
  status.update(status_extra);
  return {{"metadata", {{"name", name}, {"namespace", cluster_ns}}},
          {"spec", {{"backupMode", "volume-snapshot"},
                    {"br", {{"cluster", "db"}, {"clusterNamespace", cluster_ns}}}}},
          {"status", status}};
}

TEST(ParseBackupMember, ReadsConditionsAndRejectsBadValues) {
  auto m = ParseBackupMember(
      Member("fed-vb1", "ns-1", {"VolumeBackupInitialized", "VolumeBackupSnapshotsCreated"},
             {{"backupSize", 1500}, {"commitTs", "123"}, {"phase", "Running"}}),
      "dp-1");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->initialized);
  EXPECT_TRUE(m->snapshots_created);
  EXPECT_FALSE(m->volume_complete);
  EXPECT_EQ(m->backup_size, 1500);
  EXPECT_FALSE(BackupMemberFailure(*m));

  auto bad = ParseBackupMember(Member("fed-vb1", "ns-1", {}, {{"backupSize", "big"}}), "dp-1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "Backup ns-1/fed-vb1 in dp-1: status.backupSize: must be an integer");
}

TEST(BackupMemberFailure, NamesMemberClusterAndReason) {
  json obj = Member("fed-vb1", "ns-2", {"VolumeBackupFailed"});
  obj["status"]["conditions"][0]["reason"] = "SnapshotError";
  obj["status"]["conditions"][0]["message"] = "quota";
  auto m = ParseBackupMember(obj, "dp-2");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*BackupMemberFailure(*m),
            "backup member fed-vb1 of cluster dp-2 failed: SnapshotError: quota");
}

TEST(MinCommitTs, TakesTheMinimumAndNamesABadValue) {
  std::vector<BackupMember> ms(3);
  const char* ts[] = {"124", "123", "125"};
  for (int i = 0; i < 3; ++i) {
    ms[i].name = "fed-vb1";
    ms[i].k8s_cluster_name = "dp-" + std::to_string(i + 1);
    ms[i].commit_ts = ts[i];
  }
  EXPECT_EQ(*MinCommitTs(ms), "123");
  ms[2].commit_ts = "12x";
  auto bad = MinCommitTs(ms);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "backup member fed-vb1 of cluster dp-3: status.commitTs \"12x\" is not an int64");
}

TEST(ChooseRestoreDataMember, SmallestResolvedTsEarliestOnTies) {
  std::vector<RestoreMember> ms(3);
  const char* ts[] = {"30", "20", "20"};
  for (int i = 0; i < 3; ++i) {
    ms[i].name = "fed-vr1";
    ms[i].k8s_cluster_name = "k8s-" + std::to_string(i + 1);
    ms[i].commit_ts = ts[i];
  }
  EXPECT_EQ(*ChooseRestoreDataMember(ms), 1u);
  ms[0].commit_ts = "";
  auto bad = ChooseRestoreDataMember(ms);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "commit ts in restore member fed-vr1 of cluster k8s-1 is empty");
}

}  // namespace
}  // namespace brfed::protocol
