#include "tests/integration/manager/scenario_util.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "steps/protocol/conditions.h"
#include "steps/protocol/format.h"
#include "steps/protocol/members.h"

namespace brfed::manager::testing {

using nlohmann::json;

kubesim::ResourceKey VolumeBackupsKey() {
  return {"federation.pingcap.com", "v1alpha1", "volumebackups"};
}
kubesim::ResourceKey VolumeRestoresKey() {
  return {"federation.pingcap.com", "v1alpha1", "volumerestores"};
}
kubesim::ResourceKey BackupsKey() { return {"pingcap.com", "v1alpha1", "backups"}; }
kubesim::ResourceKey RestoresKey() { return {"pingcap.com", "v1alpha1", "restores"}; }

std::vector<json> StoredObjects(kubesim::Simulator& sim, const std::string& cluster,
                                const kubesim::ResourceKey& key, const std::string& ns) {
  kubesim::ClusterContext* c = sim.cluster(cluster);
  if (c == nullptr) {
    ADD_FAILURE() << "no cluster " << cluster;
    return {};
  }
  Result<kubesim::Store::ListResult> list = c->store()->List(key, ns, {});
  if (!list.ok()) {
    ADD_FAILURE() << cluster << ": list " << key.plural << ": " << list.status().ToString();
    return {};
  }
  return list->items;
}

std::optional<json> StoredObject(kubesim::Simulator& sim, const std::string& cluster,
                                 const kubesim::ResourceKey& key, const std::string& ns,
                                 const std::string& name) {
  kubesim::ClusterContext* c = sim.cluster(cluster);
  if (c == nullptr) return std::nullopt;
  Result<json> obj = c->store()->Get(key, ns, name);
  if (!obj.ok()) return std::nullopt;
  return *obj;
}

std::vector<json> OwnedMembers(kubesim::Simulator& sim, const std::string& cluster,
                               const kubesim::ResourceKey& key, const std::string& uid) {
  std::vector<json> out;
  for (json& o : StoredObjects(sim, cluster, key)) {
    if (protocol::IsOwnedBy(o, uid)) out.push_back(std::move(o));
  }
  return out;
}

std::vector<std::string> ConditionTypes(const json& obj) {
  std::vector<std::string> types;
  const json* conds =
      obj.contains("status") && obj["status"].is_object() && obj["status"].contains("conditions")
          ? &obj["status"]["conditions"]
          : nullptr;
  if (conds == nullptr || !conds->is_array()) return types;
  for (const json& c : *conds) types.push_back(c.value("type", ""));
  return types;
}

std::string ConditionText(const json& obj, const std::string& type) {
  std::optional<json> c = protocol::FindCondition(obj, type);
  if (!c) return "";
  return c->value("reason", "") + ": " + c->value("message", "");
}

namespace {

Status AdminCall(kube::Client* plane, std::string_view method, std::string_view path,
                 const json* body) {
  Result<kube::RawResponse> r = plane->Request(method, path, body);
  return r.status();
}

}  // namespace

Status OperatorFault(kube::Client* plane, const json& fault) {
  return AdminCall(plane, "POST", "/admin/operator/fail", &fault);
}

Status OperatorConfig(kube::Client* plane, const json& config) {
  return AdminCall(plane, "POST", "/admin/operator/config", &config);
}

Status ClearOperatorFaults(kube::Client* plane) {
  return AdminCall(plane, "DELETE", "/admin/operator/fail", nullptr);
}

Status AddMemberCondition(kubesim::Simulator& sim, const std::string& cluster,
                          const kubesim::ResourceKey& key, const std::string& name,
                          const std::string& type, const std::string& reason,
                          const std::string& message) {
  kubesim::ClusterContext* c = sim.cluster(cluster);
  if (c == nullptr) return NotFoundError("no cluster " + cluster);
  Result<json> written = c->store()->Mutate(key, kTcNamespace, name, [&](json& obj) {
    json& status = obj["status"];
    if (!status.is_object()) status = json::object();
    if (!status["conditions"].is_array()) status["conditions"] = json::array();
    status["conditions"].push_back(
        {{"type", type},
         {"status", "True"},
         {"lastTransitionTime",
          protocol::FormatKubeTime(
              std::chrono::time_point_cast<std::chrono::milliseconds>(Clock::now()))},
         {"reason", reason},
         {"message", message}});
    status["phase"] = type;
    return Status::OK();
  });
  return written.status();
}

ObjectHistory::ObjectHistory(kubesim::Store* store, const kubesim::ResourceKey& key,
                             std::string name)
    : name_(std::move(name)) {
  subscription_ = store->Subscribe(key, [this](const kubesim::WatchEvent& e) {
    if (protocol::StringAt(e.object, {"metadata", "name"}) != name_) return;
    std::lock_guard<std::mutex> l(mu_);
    events_.emplace_back(e.type, e.object);
    cv_.notify_all();
  });
}

ObjectHistory::~ObjectHistory() { subscription_.reset(); }

bool ObjectHistory::SawCondition(const std::string& type) const {
  std::lock_guard<std::mutex> l(mu_);
  return std::any_of(events_.begin(), events_.end(),
                     [&](const auto& e) { return protocol::IsConditionTrue(e.second, type); });
}

bool ObjectHistory::DeletedAfter(const std::string& before, const std::string& finalizer) const {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, std::chrono::seconds(10), [&] {
    return std::any_of(events_.begin(), events_.end(),
                       [](const auto& e) { return e.first == kubesim::EventType::kDeleted; });
  });
  bool seen = false;
  for (const auto& [type, obj] : events_) {
    if (type == kubesim::EventType::kDeleted) return seen;
    const json& fins = obj["metadata"].value("finalizers", json::array());
    bool has_finalizer = std::find(fins.begin(), fins.end(), finalizer) != fins.end();
    if (has_finalizer && protocol::IsConditionTrue(obj, before)) seen = true;
  }
  return false;
}

std::vector<json> ObjectHistory::states() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<json> out;
  for (const auto& e : events_) out.push_back(e.second);
  return out;
}

}  // namespace brfed::manager::testing
