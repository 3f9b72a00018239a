// ExecCredentialProvider: runs a client-go credential plugin (kubeconfig users[].user.exec) and
// caches what it prints until its expirationTimestamp.
//
//   ExecCredentialProvider plugin(*rest_config.exec, rest_config);
//   ASSIGN_OR_RETURN(ExecCredential cred, plugin.Get());
//   ... on HTTP 401: plugin.Invalidate(); then Get() runs the plugin again.
//
// The plugin gets the caller's environment plus the configured `env` and KUBERNETES_EXEC_INFO,
// no stdin, and 30 s to finish. Its stdout must be an ExecCredential of the configured
// apiVersion. Its stdout and stderr are secret: they never appear in errors or logs (an error
// says only how many bytes were withheld).
//
// Thread-safe. Concurrent Get() calls while the plugin runs wait for that one run.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "brfed/status.h"
#include "kube/kubeconfig.h"
#include "kube/rest_config.h"

namespace brfed::kube {

// The secret a plugin returned. Either a token or a client certificate and key (or both).
struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<std::chrono::system_clock::time_point> expiration;
};

class ExecCredentialProvider {
 public:
  // `cluster` names the cluster in errors and, with provideClusterInfo, is passed to the plugin.
  ExecCredentialProvider(ExecConfig config, const RestConfig& cluster,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ExecCredentialProvider(const ExecCredentialProvider&) = delete;
  ExecCredentialProvider& operator=(const ExecCredentialProvider&) = delete;
  ~ExecCredentialProvider();

  // The cached credential while it has not expired, else a fresh one from the plugin.
  // Errors: kUnauthenticated when the plugin fails, times out or prints something unusable.
  Result<ExecCredential> Get();

  // Drops the cached credential (after a 401).
  void Invalidate();

  // How many times the plugin has run. For tests.
  int runs_for_test() const;

 private:
  struct State;
  Result<ExecCredential> Run();

  const ExecConfig config_;
  const std::string prefix_;  // "kubeconfig ...: context \"c\": exec plugin \"cmd\": "
  const std::string exec_info_;
  const std::chrono::milliseconds timeout_;
  std::unique_ptr<State> state_;
};

namespace internal {
// Parses a plugin's stdout. `want_api_version` must match the document's apiVersion.
// Errors never quote `text`.
Result<ExecCredential> ParseExecCredential(std::string_view text,
                                           std::string_view want_api_version);
}  // namespace internal

}  // namespace brfed::kube
