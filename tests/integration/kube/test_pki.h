// TestPki: a throwaway CA with a server certificate for 127.0.0.1/localhost and a client
// certificate, generated with OpenSSL at test start. PEM strings only.
#pragma once

#include <string>

namespace brfed::kube::testing {

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

struct TestPki {
  KeyPair ca;
  KeyPair server;  // SAN IP:127.0.0.1, DNS:localhost; signed by ca
  KeyPair client;  // CN=<client_cn>, O=system:masters; signed by ca
};

// Aborts the test binary on OpenSSL failure (test-only code).
TestPki MakeTestPki(const std::string& ca_name, const std::string& client_cn = "brfed-client");

}  // namespace brfed::kube::testing
