// ClientSet: one Client per kubeconfig context, looked up by context name (= k8sClusterName).
//
//   ASSIGN_OR_RETURN(Kubeconfig kc, LoadKubeconfig(flags.federation_kubeconfig));
//   ASSIGN_OR_RETURN(std::unique_ptr<ClientSet> clients, ClientSet::Create(kc, options));
//   ASSIGN_OR_RETURN(Client* k8s1, clients->Get("k8s-1"));
//
// Every context is resolved up front, so a broken entry is reported at startup (naming file,
// context and field); clients themselves connect lazily. Thread-safe after Create. Owns the
// clients; pointers stay valid for the ClientSet's lifetime.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/status.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"

namespace brfed::kube {

class ClientSet {
 public:
  // Errors: the first context that does not resolve.
  static Result<std::unique_ptr<ClientSet>> Create(const Kubeconfig& kubeconfig,
                                                   const ClientOptions& options = {});
  // One client per given config (e.g. the in-cluster one), keyed by cluster_name.
  static Result<std::unique_ptr<ClientSet>> FromConfigs(const std::vector<RestConfig>& configs,
                                                        const ClientOptions& options = {});
  ClientSet(const ClientSet&) = delete;
  ClientSet& operator=(const ClientSet&) = delete;

  // kNotFound naming the cluster when there is no such context.
  Result<Client*> Get(std::string_view cluster) const;
  std::vector<std::string> cluster_names() const;

 private:
  ClientSet() = default;
  std::map<std::string, std::unique_ptr<Client>, std::less<>> clients_;
};

}  // namespace brfed::kube
