#include "steps/step_util.h"

#include "steps/protocol/conditions.h"
#include "steps/protocol/members.h"

namespace brfed::steps {

using nlohmann::json;

Fail FailFrom(const Status& status) { return Fail{status, status.IsRetryable()}; }

Result<json> InputJson(const StepContext& ctx, std::string_view key) {
  const Value* v = ctx.with().Find(key);
  if (v == nullptr || v->is_null()) {
    return InvalidArgumentError("step input `" + std::string(key) + "` is missing");
  }
  json j = FromValue(*v);
  if (j.is_discarded()) return InternalError("step input `" + std::string(key) + "` is not JSON");
  return j;
}

Result<std::string> InputString(const StepContext& ctx, std::string_view key) {
  const Value* v = ctx.with().Find(key);
  if (v == nullptr || !v->is_string() || v->as_string().empty()) {
    return InvalidArgumentError("step input `" + std::string(key) + "` must be a non-empty string");
  }
  return v->as_string();
}

Result<DataPlanes*> GetDataPlanes(const StepContext& ctx) {
  DataPlanes* dp = ctx.services().Get<DataPlanes>();
  if (dp == nullptr) {
    return FailedPreconditionError("no data planes are configured for federation steps");
  }
  return dp;
}

Result<std::optional<json>> FindOwnMember(DataPlanes* dp, std::string_view cluster,
                                          const kube::Resource& r, std::string_view ns,
                                          std::string_view name, std::string_view run_id) {
  ASSIGN_OR_RETURN(std::optional<json> obj, dp->Get(cluster, r, ns, name));
  if (obj && !protocol::IsOwnedBy(*obj, run_id)) {
    return FailedPreconditionError(protocol::ForeignMemberMessage(*obj, cluster));
  }
  return obj;
}

Result<json> EnsureMember(DataPlanes* dp, std::string_view cluster, const kube::Resource& r,
                          const json& desired, std::string_view run_id) {
  std::string ns = protocol::StringAt(desired, {"metadata", "namespace"});
  std::string name = protocol::StringAt(desired, {"metadata", "name"});
  ASSIGN_OR_RETURN(std::optional<json> existing, FindOwnMember(dp, cluster, r, ns, name, run_id));
  if (existing) return *existing;
  ASSIGN_OR_RETURN(kube::Client * client, dp->Client(cluster));
  Result<json> created = client->Create(r, ns, desired);
  if (created.ok()) return created;
  if (created.status().code() != StatusCode::kAlreadyExists) return created.status();
  // Created by an earlier attempt whose answer was lost, or by someone else: look again.
  Result<json> again = client->Get(r, ns, name);
  if (!again.ok()) return again.status();
  if (!protocol::IsOwnedBy(*again, run_id)) {
    return FailedPreconditionError(protocol::ForeignMemberMessage(*again, cluster));
  }
  return again;
}

Result<json> UpdateMember(DataPlanes* dp, std::string_view cluster, const kube::Resource& r,
                          json member, const std::function<void(json*)>& mutate) {
  ASSIGN_OR_RETURN(kube::Client * client, dp->Client(cluster));
  std::string ns = protocol::StringAt(member, {"metadata", "namespace"});
  std::string name = protocol::StringAt(member, {"metadata", "name"});
  constexpr int kTries = 4;
  Status last;
  for (int i = 0; i < kTries; ++i) {
    json changed = member;
    mutate(&changed);
    if (changed == member) return member;
    Result<json> written = client->Update(r, ns, changed);
    if (written.ok()) return written;
    last = written.status();
    if (last.code() != StatusCode::kAborted) return last;
    Result<json> fresh = client->Get(r, ns, name);  // the cache may lag: read the server
    if (!fresh.ok()) return fresh.status();
    member = std::move(*fresh);
  }
  return last;
}

ObjectRef RefOf(std::string_view cluster, const kube::Resource& r, const json& obj) {
  return ObjectRef{std::string(cluster), r.GroupResource(),
                   protocol::StringAt(obj, {"metadata", "namespace"}),
                   protocol::StringAt(obj, {"metadata", "name"})};
}

Wait WaitOn(std::string_view cluster, const kube::Resource& r, const json& member,
            std::string observed) {
  return Wait{.wake_on = {RefOf(cluster, r, member)},
              .recheck_after = kSafetyRecheck,
              .observed = std::move(observed)};
}

Result<size_t> ClusterCount(const json& fed) {
  if (!fed.is_object() || !fed.contains("spec") || !fed["spec"].is_object() ||
      !fed["spec"].contains("clusters") || !fed["spec"]["clusters"].is_array()) {
    return InvalidArgumentError("spec.clusters: must be a list");
  }
  return fed["spec"]["clusters"].size();
}

Result<MemberCluster> ClusterAt(const json& fed, size_t index) {
  ASSIGN_OR_RETURN(size_t n, ClusterCount(fed));
  std::string path = "spec.clusters[" + std::to_string(index) + "]";
  if (index >= n) return InvalidArgumentError(path + ": out of range");
  const json& c = fed["spec"]["clusters"][index];
  MemberCluster m{protocol::StringAt(c, {"k8sClusterName"}), protocol::StringAt(c, {"tcName"}),
                  protocol::StringAt(c, {"tcNamespace"})};
  if (m.k8s_cluster_name.empty() || m.tc_namespace.empty()) {
    return InvalidArgumentError(path + ": k8sClusterName and tcNamespace are required");
  }
  return m;
}

std::string OwnerOf(const StepContext& ctx, const json& fed) {
  std::string uid = protocol::StringAt(fed, {"metadata", "uid"});
  return uid.empty() ? ctx.run_id() : uid;
}

std::string FederationName(const json& fed) {
  return protocol::StringAt(fed, {"metadata", "name"});
}

json FromValue(const Value& v) {
  return json::parse(v.ToJson(), nullptr, /*allow_exceptions=*/false);
}

Value ToValue(const json& j) {
  Result<Value> v = Value::FromJson(j.dump());
  return v.ok() ? std::move(*v) : Value();
}

}  // namespace brfed::steps
