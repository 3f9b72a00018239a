#include "tools/kube-sim/operator/operator_hook.h"

#include <map>
#include <mutex>
#include <utility>

#include "tools/kube-sim/operator/admin.h"
#include "tools/kube-sim/operator/operator.h"

namespace brfed::kubesim::op {
namespace {

// Keeps the shared cloud alive while the operator runs.
class AttachedOperator final : public Controller {
 public:
  AttachedOperator(std::shared_ptr<SimCloud> cloud, std::unique_ptr<DataPlaneOperator> op)
      : cloud_(std::move(cloud)), op_(std::move(op)) {}
  ~AttachedOperator() override { op_->Stop(); }
  void Stop() override { op_->Stop(); }

 private:
  std::shared_ptr<SimCloud> cloud_;  // shared by the operators of all data planes
  std::unique_ptr<DataPlaneOperator> op_;
};

bool IsDataPlane(const std::string& role) { return role == "data-plane" || role == "dataplane"; }

Result<std::unique_ptr<Controller>> Attach(
    ClusterContext& cluster, std::shared_ptr<SimCloud> cloud,
    const std::function<void(DataPlaneOperator*)>& on_attach) {
  if (!IsDataPlane(cluster.role())) return std::unique_ptr<Controller>();
  // Defaults from the top-level `operator:` mapping, then the cluster's (role defaults are
  // already merged into it).
  OperatorOptions behaviour;
  const nlohmann::json& global = cluster.global_config();
  if (global.is_object() && global.contains("operator")) {
    Status s = MergeOperatorOptions(global["operator"], &behaviour);
    if (!s.ok()) return s.WithContext("kube-sim config");
  }
  const nlohmann::json& config = cluster.config();
  if (config.is_object() && config.contains("operator")) {
    Status s = MergeOperatorOptions(config["operator"], &behaviour);
    if (!s.ok()) return s.WithContext("clusters[" + cluster.name() + "]");
  }
  DataPlaneOperator::Options options;
  options.data_plane = cluster.name();
  options.behaviour = std::move(behaviour);
  auto op = std::make_unique<DataPlaneOperator>(cluster.store(), cloud.get(), std::move(options));
  AddOperatorAdminRoutes(cluster, op.get(), cloud.get());
  op->Start();
  if (on_attach) on_attach(op.get());
  return std::unique_ptr<Controller>(
      std::make_unique<AttachedOperator>(std::move(cloud), std::move(op)));
}

}  // namespace

ClusterHook MakeOperatorHook(std::shared_ptr<SimCloud> cloud,
                             std::function<void(DataPlaneOperator*)> on_attach) {
  return [cloud, on_attach](ClusterContext& cluster) { return Attach(cluster, cloud, on_attach); };
}

void RegisterOperatorGlobalHook() {
  static std::once_flag once;
  std::call_once(once, [] {
    RegisterGlobalClusterHook([](ClusterContext& cluster) -> Result<std::unique_ptr<Controller>> {
      // One cloud per Simulator: its clusters share the address of the global config.
      static std::mutex mu;
      static std::map<const void*, std::weak_ptr<SimCloud>> clouds;
      std::shared_ptr<SimCloud> cloud;
      {
        std::lock_guard<std::mutex> lock(mu);
        for (auto it = clouds.begin(); it != clouds.end();) {
          it = it->second.expired() ? clouds.erase(it) : std::next(it);
        }
        std::weak_ptr<SimCloud>& slot = clouds[&cluster.global_config()];
        cloud = slot.lock();
        if (!cloud) {
          cloud = std::make_shared<SimCloud>();
          slot = cloud;
        }
      }
      return Attach(cluster, std::move(cloud), nullptr);
    });
  });
}

}  // namespace brfed::kubesim::op
