// CredentialSource: the credential to send with the next request to one cluster, from a
// static token, a token file (re-read every minute and after a 401, since service-account
// tokens rotate), a static client certificate, or an exec plugin.
//
//   CredentialSource creds(rest_config);
//   ASSIGN_OR_RETURN(Credential c, creds.Get());
//   ... HTTP 401 ... creds.OnUnauthorized();  // the next Get() refreshes
//
// Thread-safe. Credential values are secret: never log them; Secrets() lists every secret
// string currently known so error text can be scrubbed as a last line of defence.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "brfed/status.h"
#include "kube/exec_plugin.h"
#include "kube/rest_config.h"

namespace brfed::kube {

struct Credential {
  std::string token;            // sent as "Authorization: Bearer <token>" when non-empty
  std::string client_cert_pem;  // with client_key_pem: TLS client authentication
  std::string client_key_pem;
};

class CredentialSource {
 public:
  explicit CredentialSource(const RestConfig& config);
  CredentialSource(const CredentialSource&) = delete;
  CredentialSource& operator=(const CredentialSource&) = delete;
  ~CredentialSource();

  // Errors: kUnauthenticated (token file unreadable, exec plugin failed).
  Result<Credential> Get();

  // Called after a 401: refresh what can be refreshed. Returns true when a retry may help
  // (there is an exec plugin or a token file).
  bool OnUnauthorized();

  // Every secret string currently held (token, key, exec output), for scrubbing.
  std::vector<std::string> Secrets();

  ExecCredentialProvider* exec_for_test() { return exec_.get(); }

 private:
  const std::string origin_;
  const std::string static_token_;
  const std::string token_file_;
  const std::string static_cert_;
  const std::string static_key_;
  std::unique_ptr<ExecCredentialProvider> exec_;

  std::mutex mu_;
  std::string file_token_;                                // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point file_read_at_{};  // GUARDED_BY(mu_)
  bool file_read_ = false;                                // GUARDED_BY(mu_)
  Credential last_exec_;                                  // GUARDED_BY(mu_)
};

}  // namespace brfed::kube
