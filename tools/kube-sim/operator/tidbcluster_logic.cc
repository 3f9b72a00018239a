#include "tools/kube-sim/operator/tidbcluster_logic.h"

#include <cstdint>

#include "tools/kube-sim/operator/conditions.h"
#include "tools/kube-sim/store.h"

namespace brfed::kubesim::op {
namespace {

// PD store ids for one data plane start at a base derived from its name.
int64_t StoreIdBase(const std::string& data_plane) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : data_plane) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<int64_t>(h % 900 + 1) * 1000;
}

}  // namespace

std::optional<nlohmann::json> ReconcileTidbCluster(const nlohmann::json& tc,
                                                   const std::string& data_plane, TimePoint now) {
  const nlohmann::json* replicas_json = ValueAt(tc, "spec.tikv.replicas");
  int64_t replicas = replicas_json != nullptr && replicas_json->is_number_integer()
                         ? replicas_json->get<int64_t>()
                         : 0;
  if (replicas < 0) replicas = 0;
  std::string name = StringAt(tc, "metadata.name");
  nlohmann::json stores = nlohmann::json::object();
  int64_t base = StoreIdBase(data_plane);
  const nlohmann::json* old = ValueAt(tc, "status.tikv.stores");
  for (int64_t i = 0; i < replicas; ++i) {
    std::string id = std::to_string(base + i + 1);
    if (old != nullptr && old->is_object() && old->contains(id)) {
      stores[id] = (*old)[id];
      continue;
    }
    stores[id] = {{"id", id},
                  {"podName", name + "-tikv-" + std::to_string(i)},
                  {"ip", name + "-tikv-" + std::to_string(i) + "." + name + "-tikv-peer." +
                             StringAt(tc, "metadata.namespace") + ".svc"},
                  {"leaderCount", 0},
                  {"state", "Up"},
                  {"lastTransitionTime", FormatTime(now)}};
  }
  nlohmann::json out = tc;
  nlohmann::json& tikv = out["status"]["tikv"];
  tikv["stores"] = stores;
  tikv["phase"] = "Normal";
  if (out == tc) return std::nullopt;
  return out;
}

}  // namespace brfed::kubesim::op
