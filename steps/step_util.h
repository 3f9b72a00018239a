// Helpers shared by the federation steps: inputs, member objects, results.
//
//   ASSIGN_OR_RETURN_FAIL(json vbk, InputObject(ctx, "object"));
//   Result<json> member = EnsureMember(dp, "k8s-1", kube::kBackups, desired, ctx.run_id());
//   return WaitOn("k8s-1", kube::kBackups, member, "k8s-1 fed-vb1: initializing");
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "brfed/step.h"
#include "kube/resource.h"
#include "steps/data_planes.h"

namespace brfed::steps {

// How long a waiting step sleeps when no watch event comes: polling is only a safety net.
inline constexpr Duration kSafetyRecheck = std::chrono::seconds(30);

// A failed Status as a step result: retryable exactly when the code says so (unavailable,
// deadline, resource exhausted, conflict); everything else fails the step at once.
Fail FailFrom(const Status& status);

// `with.<key>` as JSON. kInvalidArgument naming the key when absent.
Result<nlohmann::json> InputJson(const StepContext& ctx, std::string_view key);
// `with.<key>` as a non-empty string.
Result<std::string> InputString(const StepContext& ctx, std::string_view key);

// The DataPlanes service. kFailedPrecondition when the program did not provide one.
Result<DataPlanes*> GetDataPlanes(const StepContext& ctx);

// The member `desired` names in `cluster`: created when absent, then checked to be ours.
// kFailedPrecondition (not retryable) for an object of that name made by someone else.
Result<nlohmann::json> EnsureMember(DataPlanes* dp, std::string_view cluster,
                                    const kube::Resource& r, const nlohmann::json& desired,
                                    std::string_view run_id);

// The existing member, or nullopt; a foreign object of that name is kFailedPrecondition.
Result<std::optional<nlohmann::json>> FindOwnMember(DataPlanes* dp, std::string_view cluster,
                                                    const kube::Resource& r, std::string_view ns,
                                                    std::string_view name, std::string_view run_id);

// Applies `mutate` to `member` and writes it with its resourceVersion when it changed; on a
// conflict re-reads and re-applies (a few times). Returns the object as stored.
Result<nlohmann::json> UpdateMember(DataPlanes* dp, std::string_view cluster,
                                    const kube::Resource& r, nlohmann::json member,
                                    const std::function<void(nlohmann::json*)>& mutate);

// Wait for a change of `member` (and re-check after kSafetyRecheck).
Wait WaitOn(std::string_view cluster, const kube::Resource& r, const nlohmann::json& member,
            std::string observed);

// ObjectRef of an object in a cluster.
ObjectRef RefOf(std::string_view cluster, const kube::Resource& r, const nlohmann::json& obj);

// The federation object's spec.clusters[i] fields.
struct MemberCluster {
  std::string k8s_cluster_name;
  std::string tc_name;
  std::string tc_namespace;
};
Result<MemberCluster> ClusterAt(const nlohmann::json& fed, size_t index);
Result<size_t> ClusterCount(const nlohmann::json& fed);

// The run that owns the members of a federation object: its metadata.uid (so the delete run
// of a VolumeBackup recognises the members its backup run made), else the current run id.
std::string OwnerOf(const StepContext& ctx, const nlohmann::json& fed);

// The federation object's name (metadata.name).
std::string FederationName(const nlohmann::json& fed);

// JSON → Value (for outputs).
Value ToValue(const nlohmann::json& j);
// Value → JSON (inputs and journaled outputs); a discarded json if it does not parse.
nlohmann::json FromValue(const Value& v);

}  // namespace brfed::steps
