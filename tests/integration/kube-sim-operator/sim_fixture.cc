#include "tests/integration/kube-sim-operator/sim_fixture.h"

#include <httplib.h>

#include <algorithm>

#include "tools/kube-sim/operator/conditions.h"
#include "tools/kube-sim/operator/operator_hook.h"

namespace brfed::kubesim::op::testing {

void OperatorSimTest::SetUp() {
  cloud_ = std::make_shared<SimCloud>();
  SimulatorOptions options;
  options.config_path = std::string(BRFED_SOURCE_DIR) +
                        "/tests/integration/kube-sim-operator/testdata/federation.yaml";
  options.use_global_hooks = false;
  options.cluster_hooks.push_back(MakeOperatorHook(cloud_, [this](DataPlaneOperator* o) {
    std::lock_guard<std::mutex> lock(ops_mu_);
    ops_[o->data_plane()] = o;
  }));
  Result<std::unique_ptr<Simulator>> sim = Simulator::Start(std::move(options));
  ASSERT_TRUE(sim.ok()) << sim.status().ToString();
  sim_ = std::move(*sim);
  for (const std::string& plane : kPlanes) {
    ASSERT_NE(op(plane), nullptr) << plane;
    // The operator reports the TiKV stores of the seeded TidbCluster.
    ASSERT_TRUE(WaitFor(plane, TidbClustersResource(), kTc, [](const nlohmann::json& tc) {
      const nlohmann::json* stores = ValueAt(tc, "status.tikv.stores");
      return stores != nullptr && stores->size() == 3;
    }));
  }
}

void OperatorSimTest::TearDown() {
  if (cloud_) {
    for (const auto& [name, info] : cloud_->pd.All()) {
      EXPECT_FALSE(info.paused) << "GC and PD scheduling of " << name << " left paused";
    }
  }
  if (sim_) sim_->Stop();
}

Store* OperatorSimTest::store(const std::string& plane) {
  ClusterContext* c = sim_->cluster(plane);
  return c == nullptr ? nullptr : c->store();
}

DataPlaneOperator* OperatorSimTest::op(const std::string& plane) {
  std::lock_guard<std::mutex> lock(ops_mu_);
  auto it = ops_.find(plane);
  return it == ops_.end() ? nullptr : it->second;
}

nlohmann::json OperatorSimTest::BackupMember(const std::string& plane, const std::string& vb,
                                             bool initialize,
                                             const std::string& clean_policy) const {
  nlohmann::json spec = {
      {"backupMode", "volume-snapshot"},
      {"backupType", "full"},
      {"federalVolumeBackupPhase", initialize ? "initialize" : "execute"},
      {"br", {{"cluster", kTc}, {"clusterNamespace", kNs}}},
      {"s3", {{"provider", "aws"}, {"bucket", "bucket-1"}, {"prefix", vb + "-" + plane}}},
      {"calcSizeLevel", "all"},
      {"cleanOption", {{"snapshotsDeleteRatio", 1.0}}}};
  if (!clean_policy.empty()) spec["cleanPolicy"] = clean_policy;
  if (initialize) spec["volumeBackupInitJobMaxActiveSeconds"] = 600;
  return {{"apiVersion", "pingcap.com/v1alpha1"},
          {"kind", "Backup"},
          {"metadata", {{"name", "fed-" + vb}, {"namespace", kNs}}},
          {"spec", spec}};
}

nlohmann::json OperatorSimTest::RestoreMember(const std::string& plane, const std::string& vr,
                                              const std::string& vb, const std::string& warmup,
                                              const std::string& strategy) const {
  nlohmann::json spec = {
      {"restoreMode", "volume-snapshot"},
      {"backupType", "full"},
      {"federalVolumeRestorePhase", "restore-volume"},
      {"volumeAZ", "us-west-2" + plane.substr(plane.size() - 1)},
      {"br", {{"cluster", kTc}, {"clusterNamespace", kNs}}},
      {"s3", {{"provider", "aws"}, {"bucket", "bucket-1"}, {"prefix", vb + "-" + plane}}}};
  if (!warmup.empty()) {
    spec["warmup"] = warmup;
    spec["warmupImage"] = "pingcap/warmup:latest";
  }
  if (!strategy.empty()) spec["warmupStrategy"] = strategy;
  return {{"apiVersion", "pingcap.com/v1alpha1"},
          {"kind", "Restore"},
          {"metadata", {{"name", "fed-" + vr}, {"namespace", kNs}}},
          {"spec", spec}};
}

void OperatorSimTest::Create(const std::string& plane, const ResourceKey& r,
                             const nlohmann::json& obj) {
  Result<nlohmann::json> created = store(plane)->Create(r, kNs, obj);
  ASSERT_TRUE(created.ok()) << plane << ": " << created.status().ToString();
}

void OperatorSimTest::Mutate(const std::string& plane, const ResourceKey& r,
                             const std::string& name,
                             const std::function<void(nlohmann::json&)>& edit) {
  // A whole-object PUT with resourceVersion, like the manager; retried on conflict.
  for (int attempt = 0; attempt < 50; ++attempt) {
    Result<nlohmann::json> cur = store(plane)->Get(r, kNs, name);
    ASSERT_TRUE(cur.ok()) << cur.status().ToString();
    nlohmann::json obj = *cur;
    edit(obj);
    Result<nlohmann::json> w = store(plane)->Update(r, kNs, name, obj, {});
    if (w.ok()) return;
    ASSERT_EQ(w.status().code(), StatusCode::kAborted) << w.status().ToString();
  }
  FAIL() << "too many conflicts updating " << plane << "/" << name;
}

nlohmann::json OperatorSimTest::Get(const std::string& plane, const ResourceKey& r,
                                    const std::string& name) {
  Result<nlohmann::json> got = store(plane)->Get(r, kNs, name);
  return got.ok() ? *got : nlohmann::json();
}

bool OperatorSimTest::WaitFor(const std::string& plane, const ResourceKey& r,
                              const std::string& name,
                              const std::function<bool(const nlohmann::json&)>& pred,
                              std::chrono::milliseconds timeout) {
  Store* s = store(plane);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    uint64_t rv = s->resource_version();
    Result<nlohmann::json> obj = s->Get(r, kNs, name);
    if (pred(obj.ok() ? *obj : nlohmann::json())) return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "timed out on " << plane << "/" << name << ": "
                    << (obj.ok() ? obj->dump() : obj.status().ToString());
      return false;
    }
    s->WaitForChange(rv, deadline, [] { return false; });
  }
}

bool OperatorSimTest::WaitCondition(const std::string& plane, const ResourceKey& r,
                                    const std::string& name, const std::string& type) {
  return WaitFor(plane, r, name, [&](const nlohmann::json& o) { return HasTrue(o, type); });
}

bool OperatorSimTest::WaitGone(const std::string& plane, const ResourceKey& r,
                               const std::string& name) {
  return WaitFor(plane, r, name, [](const nlohmann::json& o) { return o.is_null(); });
}

bool OperatorSimTest::RunFederatedBackup(const std::string& vb, const std::string& clean_policy) {
  const std::string member = "fed-" + vb;
  const ResourceKey& bk = BackupsResource();
  auto failed = [](const nlohmann::json& o) {
    return HasTrue(o, "VolumeBackupInitializeFailed") || HasTrue(o, "VolumeBackupFailed") ||
           HasTrue(o, "Failed") || HasTrue(o, "Invalid");
  };
  // 1. The initialize member in the first data plane.
  Create(kPlanes[0], bk, BackupMember(kPlanes[0], vb, true, clean_policy));
  if (!WaitFor(kPlanes[0], bk, member, [&](const nlohmann::json& o) {
        return HasTrue(o, "VolumeBackupInitialized") || failed(o);
      })) {
    return false;
  }
  if (failed(Get(kPlanes[0], bk, member))) {
    Teardown(vb);
    return false;
  }
  EXPECT_TRUE(cloud_->pd.Get(kLogicalCluster).paused);
  // 2. Execute everywhere.
  Mutate(kPlanes[0], bk, member,
         [](nlohmann::json& o) { o["spec"]["federalVolumeBackupPhase"] = "execute"; });
  for (size_t i = 1; i < kPlanes.size(); ++i) {
    Create(kPlanes[i], bk, BackupMember(kPlanes[i], vb, false, clean_policy));
  }
  bool any_failed = false;
  for (const std::string& plane : kPlanes) {
    WaitFor(plane, bk, member, [&](const nlohmann::json& o) {
      return HasTrue(o, "VolumeBackupSnapshotsCreated") || failed(o);
    });
    any_failed = any_failed || failed(Get(plane, bk, member));
  }
  if (any_failed) {
    Teardown(vb);
    return false;
  }
  // 3. Resume GC and scheduling through the initialized member.
  Mutate(kPlanes[0], bk, member, [](nlohmann::json& o) { o["spec"]["resumeGcSchedule"] = true; });
  WaitFor(kPlanes[0], bk, member, [&](const nlohmann::json& o) {
    return HasTrue(o, "VolumeBackupInitializeComplete") || failed(o);
  });
  EXPECT_FALSE(cloud_->pd.Get(kLogicalCluster).paused);
  // 4. Every member's snapshots complete, then teardown.
  for (const std::string& plane : kPlanes) {
    WaitFor(plane, bk, member, [&](const nlohmann::json& o) {
      return HasTrue(o, "VolumeBackupComplete") || failed(o);
    });
    any_failed = any_failed || failed(Get(plane, bk, member));
  }
  Teardown(vb);
  return !any_failed;
}

void OperatorSimTest::Teardown(const std::string& vb) {
  const std::string member = "fed-" + vb;
  const ResourceKey& bk = BackupsResource();
  std::vector<std::string> present;
  for (const std::string& plane : kPlanes) {
    if (Get(plane, bk, member).is_null()) continue;
    present.push_back(plane);
    Mutate(plane, bk, member, [](nlohmann::json& o) {
      if (HasTrue(o, "VolumeBackupInitialized")) o["spec"]["resumeGcSchedule"] = true;
      o["spec"]["federalVolumeBackupPhase"] = "teardown";
    });
  }
  for (const std::string& plane : present) {
    WaitFor(plane, bk, member, [](const nlohmann::json& o) {
      return HasTrue(o, "Complete") || HasTrue(o, "Failed") || HasTrue(o, "Invalid");
    });
  }
}

std::pair<int, nlohmann::json> OperatorSimTest::Admin(const std::string& plane,
                                                      const std::string& method,
                                                      const std::string& path,
                                                      const std::string& body) {
  int port = 0;
  for (const ClusterEndpoint& e : sim_->endpoints()) {
    if (e.name == plane) port = e.port;
  }
  httplib::Client client("127.0.0.1", port);
  client.set_bearer_token_auth("kube-sim-admin-token");
  httplib::Result res = method == "GET"    ? client.Get(path)
                        : method == "POST" ? client.Post(path, body, "application/json")
                                           : client.Delete(path);
  if (!res) return {0, nullptr};
  return {res->status, nlohmann::json::parse(res->body, nullptr, false)};
}

std::vector<std::string> ConditionTypes(const nlohmann::json& obj) {
  std::vector<std::string> out;
  const nlohmann::json* conds = ValueAt(obj, "status.conditions");
  if (conds == nullptr || !conds->is_array()) return out;
  for (const nlohmann::json& c : *conds) out.push_back(c.value("type", ""));
  return out;
}

bool HasTrue(const nlohmann::json& obj, const std::string& type) { return HasCondition(obj, type); }

bool InOrder(const std::vector<std::string>& seq, const std::vector<std::string>& sub) {
  size_t j = 0;
  for (const std::string& s : seq) {
    if (j < sub.size() && s == sub[j]) ++j;
  }
  return j == sub.size();
}

}  // namespace brfed::kubesim::op::testing
