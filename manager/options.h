// ManagerOptions: everything the daemon is configured with, from upstream-compatible flags
// (Go `flag` syntax: -name=value, -name value, --name, bools as -name or -name=false) and the
// environment (NAMESPACE, HELM_RELEASE, KUBECONFIG), FEDERATION_PROTOCOL §12.2–12.3.
//
//   Result<ManagerOptions> o = ParseManagerFlags(argc, argv, getenv);
#pragma once

#include <functional>
#include <string>

#include "brfed/env.h"
#include "brfed/status.h"

namespace brfed::manager {

struct ManagerOptions {
  bool print_version = false;
  int workers = 5;
  bool cluster_scoped = true;
  Duration resync{std::chrono::seconds(30)};  // accepted; brfed reacts by watch
  Duration leader_lease{std::chrono::seconds(15)};
  Duration leader_renew_deadline{std::chrono::seconds(10)};
  Duration leader_retry_period{std::chrono::seconds(2)};
  std::string leader_resource_lock = "leases";
  double kube_client_qps = 0;  // 0: client default (5, as upstream)
  int kube_client_burst = 0;   // 0: client default (10)
  std::string federation_kubeconfig_path = "/etc/br-federation/federation-kubeconfig/kubeconfig";
  int verbosity = 0;  // -v
  // brfed's own.
  std::string journal_dir = "/var/lib/brfed/journal";
  std::string workflows_dir;  // "": the built-in workflows
  std::string health_addr = ":6060";
  // From the environment.
  std::string ns;            // NAMESPACE (required)
  std::string helm_release;  // HELM_RELEASE
  std::string kubeconfig;    // KUBECONFIG: the control plane ("" = in-cluster)
  std::string identity;      // host name: the leader-election identity

  // "br-federation-manager" or "br-federation-manager-<HELM_RELEASE>".
  std::string LockName() const;
};

// Parses flags and environment. kInvalidArgument naming the flag for an unknown flag or a bad
// value; NAMESPACE missing is an error (upstream: fatal), unless -V/-version is given.
Result<ManagerOptions> ParseManagerFlags(int argc, const char* const* argv,
                                         const std::function<const char*(const char*)>& getenv);

// The flag list with defaults, for -h.
std::string ManagerUsage();

}  // namespace brfed::manager
