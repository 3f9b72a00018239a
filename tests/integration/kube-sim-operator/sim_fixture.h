// A kube-sim Simulator with three data planes and their simulated tidb-operators, and helpers
// that write data-plane objects the way the federation manager does (FEDERATION_PROTOCOL §8,
// §9), so the tests drive the simulator by hand.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/kube-sim/operator/operator.h"
#include "tools/kube-sim/operator/sim_cloud.h"
#include "tools/kube-sim/simulator.h"

namespace brfed::kubesim::op::testing {

inline const std::vector<std::string> kPlanes = {"k8s-1", "k8s-2", "k8s-3"};
inline constexpr char kNs[] = "tidb-cluster";
inline constexpr char kTc[] = "basic";
inline constexpr char kLogicalCluster[] = "tidb-cluster/basic";

class OperatorSimTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // Checks the safety invariant — no TiDB cluster is left with GC paused — then stops.
  void TearDown() override;

  Store* store(const std::string& plane);
  DataPlaneOperator* op(const std::string& plane);
  SimCloud& cloud() { return *cloud_; }

  // The member Backup of VolumeBackup `vb` for `plane`, as the manager builds it (§8.2).
  nlohmann::json BackupMember(const std::string& plane, const std::string& vb, bool initialize,
                              const std::string& clean_policy) const;
  // The member Restore of VolumeRestore `vr` for `plane`, reading backup `vb`'s data (§9.2).
  nlohmann::json RestoreMember(const std::string& plane, const std::string& vr,
                               const std::string& vb, const std::string& warmup,
                               const std::string& strategy) const;

  void Create(const std::string& plane, const ResourceKey& r, const nlohmann::json& obj);
  // Read-modify-write of one object (retries conflicts with the operator).
  void Mutate(const std::string& plane, const ResourceKey& r, const std::string& name,
              const std::function<void(nlohmann::json&)>& edit);
  nlohmann::json Get(const std::string& plane, const ResourceKey& r, const std::string& name);
  // Waits (on store changes, no sleeping) until `pred` holds for the object or `timeout`.
  bool WaitFor(const std::string& plane, const ResourceKey& r, const std::string& name,
               const std::function<bool(const nlohmann::json&)>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(20));
  bool WaitCondition(const std::string& plane, const ResourceKey& r, const std::string& name,
                     const std::string& type);
  // Waits until the object is gone.
  bool WaitGone(const std::string& plane, const ResourceKey& r, const std::string& name);

  // The manager's steps of a whole federated backup up to all members terminal: initialize on
  // the first plane, execute everywhere, resumeGcSchedule, teardown. Stops early (returning
  // false) when a member fails, after tearing everything down as the manager does.
  bool RunFederatedBackup(const std::string& vb, const std::string& clean_policy);
  // Tears down every member of `vb` (resumeGcSchedule on initialized ones, phase teardown) and
  // waits until each is Complete or Failed.
  void Teardown(const std::string& vb);

  // An admin call on `plane`'s HTTP endpoint; returns the status and the JSON body.
  std::pair<int, nlohmann::json> Admin(const std::string& plane, const std::string& method,
                                       const std::string& path, const std::string& body = "");

  std::shared_ptr<SimCloud> cloud_;
  std::unique_ptr<Simulator> sim_;
  std::mutex ops_mu_;
  std::map<std::string, DataPlaneOperator*> ops_;
};

// Types of obj.status.conditions, in stored order.
std::vector<std::string> ConditionTypes(const nlohmann::json& obj);
bool HasTrue(const nlohmann::json& obj, const std::string& type);
// True when `sub` appears in `seq` in order (not necessarily adjacent).
bool InOrder(const std::vector<std::string>& seq, const std::vector<std::string>& sub);

}  // namespace brfed::kubesim::op::testing
