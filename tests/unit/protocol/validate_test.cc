#include "steps/protocol/validate.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace brfed::protocol {
namespace {

using nlohmann::json;

json ValidBackup() {
  return json::parse(R"({
    "apiVersion": "federation.pingcap.com/v1alpha1", "kind": "VolumeBackup",
    "metadata": {"name": "vb1", "namespace": "default"},
    "spec": {
      "clusters": [
        {"k8sClusterName": "k8s-1", "tcName": "basic", "tcNamespace": "tidb-cluster"},
        {"k8sClusterName": "k8s-2", "tcName": "basic", "tcNamespace": "tidb-cluster"}],
      "template": {"br": {"sendCredToTikv": false},
                   "s3": {"provider": "aws", "bucket": "b", "prefix": "p"},
                   "cleanPolicy": "Delete"}}})");
}

json ValidRestore() {
  return json::parse(R"({
    "metadata": {"name": "vr1", "namespace": "default"},
    "spec": {
      "clusters": [
        {"k8sClusterName": "k8s-1", "tcName": "basic", "tcNamespace": "tidb-cluster",
         "azName": "us-west-2a", "backup": {"s3": {"provider": "aws", "prefix": "p-k8s-1"}}}],
      "template": {"br": {}, "warmup": "sync", "warmupImage": "img"}}})");
}

const std::set<std::string> kContexts = {"k8s-1", "k8s-2", "k8s-3"};

TEST(ValidateVolumeBackup, AcceptsAValidObject) {
  EXPECT_FALSE(ValidateVolumeBackup(ValidBackup(), kContexts));
}

TEST(ValidateVolumeBackup, RejectsEachProblemNamingTheField) {
  struct Case {
    const char* name;
    std::function<void(json&)> mutate;
    const char* want;
  } cases[] = {
      {"no spec", [](json& o) { o.erase("spec"); }, "spec: required"},
      {"empty clusters", [](json& o) { o["spec"]["clusters"] = json::array(); },
       "spec.clusters: must name at least one data plane"},
      {"clusters not a list", [](json& o) { o["spec"]["clusters"] = "k8s-1"; },
       "spec.clusters: must be a list"},
      {"duplicate cluster",
       [](json& o) { o["spec"]["clusters"][1]["k8sClusterName"] = "k8s-1"; },
       "spec.clusters[1].k8sClusterName: duplicate \"k8s-1\" (also spec.clusters[0])"},
      {"unknown cluster",
       [](json& o) { o["spec"]["clusters"][1]["k8sClusterName"] = "k8s-9"; },
       "spec.clusters[1].k8sClusterName: \"k8s-9\" is not a context of the data-plane "
       "kubeconfig"},
      {"missing tcNamespace", [](json& o) { o["spec"]["clusters"][0].erase("tcNamespace"); },
       "spec.clusters[0].tcNamespace: required"},
      {"name of wrong type", [](json& o) { o["spec"]["clusters"][0]["tcName"] = 7; },
       "spec.clusters[0].tcName: must be a string"},
      {"missing br", [](json& o) { o["spec"]["template"].erase("br"); },
       "spec.template.br: required"},
      {"missing s3", [](json& o) { o["spec"]["template"].erase("s3"); },
       "spec.template.s3: required"},
      {"s3 without provider", [](json& o) { o["spec"]["template"]["s3"].erase("provider"); },
       "spec.template.s3.provider: required"},
      {"bad clean policy", [](json& o) { o["spec"]["template"]["cleanPolicy"] = "Sometimes"; },
       "spec.template.cleanPolicy: \"Sometimes\" is not one of \"\", Retain, OnFailure, Delete"},
      {"ratio not a number",
       [](json& o) { o["spec"]["template"]["snapshotsDeleteRatio"] = "fast"; },
       "spec.template.snapshotsDeleteRatio: must be a number"},
      {"template missing", [](json& o) { o["spec"].erase("template"); },
       "spec.template: required"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    json o = ValidBackup();
    c.mutate(o);
    auto bad = ValidateVolumeBackup(o, kContexts);
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->reason, "InvalidSpec");
    EXPECT_EQ(bad->message, c.want);
  }
}

TEST(ValidateVolumeBackup, NeverThrowsOnArbitraryShapes) {
  for (const char* text : {"null", "[]", "1", "\"x\"", R"({"spec": []})",
                           R"({"spec": {"clusters": [1, null]}})",
                           R"({"spec": {"clusters": [{"k8sClusterName": null}]}})"}) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(ValidateVolumeBackup(json::parse(text), kContexts));
    EXPECT_TRUE(ValidateVolumeRestore(json::parse(text), kContexts));
  }
}

TEST(ValidateVolumeRestore, RejectsEachProblemNamingTheField) {
  struct Case {
    const char* name;
    std::function<void(json&)> mutate;
    const char* want;
  } cases[] = {
      {"no backup location", [](json& o) { o["spec"]["clusters"][0].erase("backup"); },
       "spec.clusters[0].backup: required"},
      {"warmup without image", [](json& o) { o["spec"]["template"].erase("warmupImage"); },
       "spec.template.warmupImage: required when spec.template.warmup is set"},
      {"bad warmup", [](json& o) { o["spec"]["template"]["warmup"] = "later"; },
       "spec.template.warmup: \"later\" is not one of \"\", sync, async"},
      {"async wal check",
       [](json& o) {
         o["spec"]["template"]["warmup"] = "async";
         o["spec"]["template"]["warmupStrategy"] = "check-wal-only";
       },
       "spec.template.warmupStrategy: check-wal-only needs spec.template.warmup: sync"},
  };
  EXPECT_FALSE(ValidateVolumeRestore(ValidRestore(), kContexts));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    json o = ValidRestore();
    c.mutate(o);
    auto bad = ValidateVolumeRestore(o, kContexts);
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->message, c.want);
  }
}

TEST(ValidateRestoreTarget, NeedsAcrossK8sAndRecoveryMode) {
  json tc = {{"spec", {{"acrossK8s", true}, {"recoveryMode", true}}}};
  EXPECT_FALSE(ValidateRestoreTarget("k8s-1", tc));
  tc["spec"]["recoveryMode"] = false;
  auto bad = ValidateRestoreTarget("k8s-1", tc);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->message,
            "TidbCluster of data plane \"k8s-1\": spec.recoveryMode must be true before the "
            "restore starts");
  EXPECT_TRUE(ValidateRestoreTarget("k8s-1", json()));
}

}  // namespace
}  // namespace brfed::protocol
