// The simulated tidb-operator's handling of a `TidbCluster`: it reports one TiKV store per
// `spec.tikv.replicas` in `status.tikv.stores` (what the Backup/Restore validation reads).
// Store ids are stable and distinct between data planes, as PD hands them out.
// `spec.acrossK8s` and `spec.recoveryMode` are read by the Backup/Restore reconcilers;
// restore-finish turns recoveryMode off (restore_logic.h).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tools/kube-sim/operator/decision.h"

namespace brfed::kubesim::op {

// The TidbCluster with its status brought up to date, or nullopt when it already is.
std::optional<nlohmann::json> ReconcileTidbCluster(const nlohmann::json& tc,
                                                   const std::string& data_plane, TimePoint now);

}  // namespace brfed::kubesim::op
