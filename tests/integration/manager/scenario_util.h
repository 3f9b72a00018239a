// Helpers of the manager's end-to-end scenarios (tests/integration/manager/*_test.cc): reading
// the simulated clusters in-process (immune to the network faults a scenario injects), the
// simulated operator's admin routes, and a recorder of every change of a control-plane object.
//
//   ScenarioCluster cp(sim(), "control-plane");
//   ObjectHistory history(cp.store(), VolumeBackupsKey(), "vb1");   // records from now on
//   ...
//   EXPECT_TRUE(history.SawCondition("Cleaned"));
//   EXPECT_THAT(MemberNames(*sim(), "k8s-1", BackupsKey()), ElementsAre("fed-vb1"));
//   ASSERT_TRUE(OperatorFault(plane("k8s-2"), {{"phase", "execute"}}).ok());
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "brfed/status.h"
#include "kube/client.h"
#include "tools/kube-sim/simulator.h"
#include "tools/kube-sim/store.h"

namespace brfed::manager::testing {

// The data planes of the e2e kube-sim config, in spec.clusters order.
inline const std::vector<std::string>& DataPlaneNames() {
  static const auto* names = new std::vector<std::string>{"k8s-1", "k8s-2", "k8s-3"};
  return *names;
}

inline constexpr char kTcNamespace[] = "tidb-cluster";

kubesim::ResourceKey VolumeBackupsKey();
kubesim::ResourceKey VolumeRestoresKey();
kubesim::ResourceKey BackupsKey();
kubesim::ResourceKey RestoresKey();

// Objects of `key` in namespace `ns` of `cluster`, read from its store in-process.
std::vector<nlohmann::json> StoredObjects(kubesim::Simulator& sim, const std::string& cluster,
                                          const kubesim::ResourceKey& key,
                                          const std::string& ns = kTcNamespace);
// The object, or nullopt when absent.
std::optional<nlohmann::json> StoredObject(kubesim::Simulator& sim, const std::string& cluster,
                                           const kubesim::ResourceKey& key, const std::string& ns,
                                           const std::string& name);
// Every member object (Backup/Restore) of `cluster` owned by the federation object `uid`
// (annotation brfed.pingcap.com/run).
std::vector<nlohmann::json> OwnedMembers(kubesim::Simulator& sim, const std::string& cluster,
                                         const kubesim::ResourceKey& key, const std::string& uid);

// status.conditions[].type in order.
std::vector<std::string> ConditionTypes(const nlohmann::json& obj);
// The message (reason + ": " + message) of condition `type`, "" when absent.
std::string ConditionText(const nlohmann::json& obj, const std::string& type);

// The simulated operator's admin routes (tools/kube-sim/operator/admin.h) of one data plane.
Status OperatorFault(kube::Client* plane, const nlohmann::json& fault);
Status OperatorConfig(kube::Client* plane, const nlohmann::json& config);
Status ClearOperatorFaults(kube::Client* plane);

// Adds condition `type` (status True) to a member in the store, as a data-plane job would.
Status AddMemberCondition(kubesim::Simulator& sim, const std::string& cluster,
                          const kubesim::ResourceKey& key, const std::string& name,
                          const std::string& type, const std::string& reason,
                          const std::string& message);

// Every state one object (namespace "default") of a control-plane resource goes through from
// construction on, through an in-process store subscription: no state is missed.
class ObjectHistory {
 public:
  ObjectHistory(kubesim::Store* store, const kubesim::ResourceKey& key, std::string name);
  ~ObjectHistory();
  ObjectHistory(const ObjectHistory&) = delete;
  ObjectHistory& operator=(const ObjectHistory&) = delete;

  // Whether some recorded state had condition `type` True.
  bool SawCondition(const std::string& type) const;
  // Whether a recorded state had condition `before` while still carrying `finalizer`, and a
  // later event deleted the object. Waits (up to 10 s) for the deletion event: the store
  // delivers it after the write returns, so a client may see the object gone first.
  bool DeletedAfter(const std::string& before, const std::string& finalizer) const;
  std::vector<nlohmann::json> states() const;

 private:
  const std::string name_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<std::pair<kubesim::EventType, nlohmann::json>> events_;  // GUARDED_BY(mu_)
  std::unique_ptr<kubesim::Store::Subscription> subscription_;
};

}  // namespace brfed::manager::testing
