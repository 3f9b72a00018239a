// DataPlanes: how federation steps reach the data-plane clusters. The manager lends one to the
// engine through the ServiceMap; steps find it with ctx.services().Get<DataPlanes>().
//
//   DataPlanes* dp = ctx.services().Get<DataPlanes>();
//   ASSIGN_OR_RETURN(kube::Client* k8s2, dp->Client("k8s-2"));
//   ASSIGN_OR_RETURN(std::optional<json> member, dp->Get("k8s-2", kube::kBackups, "ns", "fed-vb1"));
//
// Get reads the manager's watch cache when it has one for the resource (no API request), and
// falls back to a GET. A step that just created an object may not see it in the cache yet; it
// then finds it on its next Reconcile, woken by the watch event. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "brfed/status.h"
#include "kube/client.h"
#include "kube/client_set.h"
#include "kube/resource.h"

namespace brfed::steps {

class DataPlanes {
 public:
  // A cache lookup: (ns, name) → the cached object, nullopt when absent. Set only for
  // resources that a synced informer watches.
  using CacheLookup =
      std::function<std::optional<nlohmann::json>(std::string_view ns, std::string_view name)>;

  // `clients` must outlive this object.
  explicit DataPlanes(const kube::ClientSet* clients) : clients_(clients) {}
  DataPlanes(const DataPlanes&) = delete;
  DataPlanes& operator=(const DataPlanes&) = delete;

  // Registers the watch cache of `resource` in `cluster`. Call before steps run.
  void SetCache(std::string_view cluster, const kube::Resource& resource, CacheLookup lookup);

  // kNotFound naming the data plane when the kubeconfig has no such context.
  Result<kube::Client*> Client(std::string_view cluster) const;

  // The object from the watch cache only (no API request): nullopt when the cache lacks it or
  // there is no cache for the resource.
  std::optional<nlohmann::json> Cached(std::string_view cluster, const kube::Resource& r,
                                       std::string_view ns, std::string_view name) const;

  // The object, or nullopt when it does not exist.
  Result<std::optional<nlohmann::json>> Get(std::string_view cluster, const kube::Resource& r,
                                            std::string_view ns, std::string_view name) const;

 private:
  const kube::ClientSet* clients_;
  std::map<std::string, CacheLookup, std::less<>> caches_;  // "<cluster>/<group-resource>"
};

}  // namespace brfed::steps
