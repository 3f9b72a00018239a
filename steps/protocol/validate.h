// Validation of federation objects before any side effect (issue 4 §3, FEDERATION_PROTOCOL §13
// items 12–17): an invalid object gets an `Invalid` condition naming the field, instead of a
// crash or an endless retry.
//
//   std::optional<Invalid> bad = ValidateVolumeBackup(vbk, contexts);
//   if (bad) SetCondition(&status, "Invalid", bad->reason, bad->message, now);
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>

namespace brfed::protocol {

inline constexpr const char kInvalidSpecReason[] = "InvalidSpec";

struct Invalid {
  std::string reason = kInvalidSpecReason;
  std::string message;  // "spec.clusters[1].k8sClusterName: ..." — the field path first
};

// `contexts`: the context names of the data-plane kubeconfig. Never throws, for any JSON.
std::optional<Invalid> ValidateVolumeBackup(const nlohmann::json& vbk,
                                            const std::set<std::string>& contexts);
std::optional<Invalid> ValidateVolumeRestore(const nlohmann::json& vrt,
                                             const std::set<std::string>& contexts);

// The TidbCluster a restore member targets must be `acrossK8s` and in `recoveryMode` (§9.6);
// checked by the manager before creating members, so the user learns it at once.
std::optional<Invalid> ValidateRestoreTarget(const std::string& k8s_cluster_name,
                                             const nlohmann::json& tc);

}  // namespace brfed::protocol
