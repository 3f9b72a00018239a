#include "steps/data_planes.h"

namespace brfed::steps {

namespace {
std::string CacheKey(std::string_view cluster, const kube::Resource& r) {
  return std::string(cluster) + "/" + r.GroupResource();
}
}  // namespace

void DataPlanes::SetCache(std::string_view cluster, const kube::Resource& resource,
                          CacheLookup lookup) {
  caches_[CacheKey(cluster, resource)] = std::move(lookup);
}

Result<kube::Client*> DataPlanes::Client(std::string_view cluster) const {
  Result<kube::Client*> c = clients_->Get(cluster);
  if (!c.ok()) {
    return NotFoundError("data plane \"" + std::string(cluster) +
                         "\" is not a context of the data-plane kubeconfig");
  }
  return c;
}

std::optional<nlohmann::json> DataPlanes::Cached(std::string_view cluster, const kube::Resource& r,
                                                 std::string_view ns, std::string_view name) const {
  auto cache = caches_.find(CacheKey(cluster, r));
  if (cache == caches_.end()) return std::nullopt;
  return cache->second(ns, name);
}

Result<std::optional<nlohmann::json>> DataPlanes::Get(std::string_view cluster,
                                                      const kube::Resource& r,
                                                      std::string_view ns,
                                                      std::string_view name) const {
  auto cache = caches_.find(CacheKey(cluster, r));
  if (cache != caches_.end()) {
    if (std::optional<nlohmann::json> hit = cache->second(ns, name)) return hit;
  }
  ASSIGN_OR_RETURN(kube::Client * client, Client(cluster));
  Result<nlohmann::json> obj = client->Get(r, ns, name);
  if (obj.ok()) return std::optional<nlohmann::json>(std::move(*obj));
  if (obj.status().code() == StatusCode::kNotFound) return std::optional<nlohmann::json>();
  return obj.status();
}

}  // namespace brfed::steps
