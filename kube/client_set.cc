#include "kube/client_set.h"

#include "kube/rest_config.h"

namespace brfed::kube {

Result<std::unique_ptr<ClientSet>> ClientSet::Create(const Kubeconfig& kubeconfig,
                                                     const ClientOptions& options) {
  std::vector<RestConfig> configs;
  for (const auto& [name, ctx] : kubeconfig.contexts) {
    ASSIGN_OR_RETURN(RestConfig rc, ResolveContext(kubeconfig, name));
    configs.push_back(std::move(rc));
  }
  return FromConfigs(configs, options);
}

Result<std::unique_ptr<ClientSet>> ClientSet::FromConfigs(const std::vector<RestConfig>& configs,
                                                          const ClientOptions& options) {
  std::unique_ptr<ClientSet> set(new ClientSet());
  for (const RestConfig& rc : configs) {
    ASSIGN_OR_RETURN(std::unique_ptr<Client> c, Client::Create(rc, options));
    if (!set->clients_.emplace(rc.cluster_name, std::move(c)).second) {
      return InvalidArgumentError("kube: two configs for cluster \"" + rc.cluster_name + "\"");
    }
  }
  return set;
}

Result<Client*> ClientSet::Get(std::string_view cluster) const {
  auto it = clients_.find(cluster);
  if (it == clients_.end()) {
    return NotFoundError("kube: no kubeconfig context for cluster \"" + std::string(cluster) +
                         "\"");
  }
  return it->second.get();
}

std::vector<std::string> ClientSet::cluster_names() const {
  std::vector<std::string> names;
  for (const auto& [name, c] : clients_) names.push_back(name);
  return names;
}

}  // namespace brfed::kube
