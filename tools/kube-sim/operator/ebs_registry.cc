#include "tools/kube-sim/operator/ebs_registry.h"

#include "tools/kube-sim/store.h"

namespace brfed::kubesim::op {

nlohmann::json EbsSnapshot::ToJson() const {
  return {{"id", id},
          {"dataPlane", data_plane},
          {"volumeId", volume_id},
          {"sizeBytes", size_bytes},
          {"created", FormatTime(created)},
          {"tags", tags}};
}

bool EbsRegistry::Create(const EbsSnapshot& snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshots_.emplace(snapshot.id, snapshot).second;
}

bool EbsRegistry::Delete(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshots_.erase(id) > 0;
}

std::vector<EbsSnapshot> EbsRegistry::List(const std::string& data_plane) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<EbsSnapshot> out;
  for (const auto& [id, s] : snapshots_) {
    if (data_plane.empty() || s.data_plane == data_plane) out.push_back(s);
  }
  return out;
}

size_t EbsRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshots_.size();
}

nlohmann::json EbsRegistry::ToJson(const std::string& data_plane) const {
  nlohmann::json list = nlohmann::json::array();
  for (const EbsSnapshot& s : List(data_plane)) list.push_back(s.ToJson());
  return {{"snapshots", list}};
}

}  // namespace brfed::kubesim::op
