// RestConfig: everything needed to talk to one cluster, resolved from a kubeconfig context or
// from the in-cluster service account.
//
//   ASSIGN_OR_RETURN(Kubeconfig kc, LoadKubeconfig("/etc/brfed/federation.kubeconfig"));
//   ASSIGN_OR_RETURN(RestConfig k8s1, ResolveContext(kc, "k8s-1"));
//   ASSIGN_OR_RETURN(RestConfig self, InClusterConfig(InClusterOptions::FromEnvironment()));
//
// Resolution reads the CA, client certificate and key files once, so a RestConfig is
// self-contained, except that a token file is re-read by the client (it may be rotated) and an
// exec plugin runs on demand. Secret fields are marked; never log them. Plain value type.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "brfed/status.h"
#include "kube/kubeconfig.h"

namespace brfed::kube {

struct RestConfig {
  // The context name: brfed's k8sClusterName. Used in every error and log line.
  std::string cluster_name;
  // "kubeconfig /path: context \"c\"" or "in-cluster /var/run/...": where this came from.
  std::string origin;
  std::string server;  // scheme://host[:port][/prefix], no trailing slash
  std::string default_namespace = "default";

  // TLS.
  std::string ca_pem;  // empty: the system trust store
  std::string tls_server_name;
  bool insecure_skip_tls_verify = false;

  // Credentials. Secret: token, client_key_pem, exec env values.
  std::string token;
  std::string token_file;  // read by the client, re-read periodically and after a 401
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<ExecConfig> exec;
};

// Resolves `context` (empty: current-context). Errors name the file, context and field:
//   kubeconfig /x/y: context "k8s-2": user "u" not found
// kNotFound for a missing context/cluster/user or unreadable file referenced by it;
// kInvalidArgument for an unusable value (no server, bad URL, cert without key, ...).
Result<RestConfig> ResolveContext(const Kubeconfig& kc, std::string_view context);

struct InClusterOptions {
  // Directory holding token, ca.crt and namespace.
  std::string root = "/var/run/secrets/kubernetes.io/serviceaccount";
  std::string host;  // KUBERNETES_SERVICE_HOST
  std::string port;  // KUBERNETES_SERVICE_PORT
  // The defaults above, with host and port from the environment.
  static InClusterOptions FromEnvironment();
};

// The service-account config of a pod. kFailedPrecondition when not running in a cluster
// (host/port unset), kNotFound when the token or CA file is missing.
Result<RestConfig> InClusterConfig(const InClusterOptions& options,
                                   std::string cluster_name = "in-cluster");

}  // namespace brfed::kube
