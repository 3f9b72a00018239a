// Shared fixtures for the client integration tests: a PKI, a FakeApiServer, and kubeconfig
// text for it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/rest_config.h"
#include "kube/util.h"
#include "tests/integration/kube/fake_apiserver.h"
#include "tests/integration/kube/test_pki.h"

namespace brfed::kube::testing {

inline const Resource kThings{"test.brfed.io", "v1", "things", true};
inline const std::string kThingsNs1 = "/apis/test.brfed.io/v1/namespaces/ns1/things";

inline const TestPki& Pki() {
  static const TestPki* pki = new TestPki(MakeTestPki("brfed-test-ca"));
  return *pki;
}
inline const TestPki& OtherPki() {
  static const TestPki* pki = new TestPki(MakeTestPki("some-other-ca"));
  return *pki;
}

// A kubeconfig with one context "k8s-1" for `server_url`; `user_yaml` is the body of
// users[0].user, `cluster_extra` extra lines of clusters[0].cluster.
inline std::string KubeconfigFor(const std::string& server_url, const std::string& ca_pem,
                                 const std::string& user_yaml,
                                 const std::string& cluster_extra = "") {
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " +
         server_url + "\n    certificate-authority-data: " + internal::Base64Encode(ca_pem) + "\n" +
         cluster_extra + "users:\n- name: u\n  user:\n" + user_yaml +
         "contexts:\n- name: k8s-1\n  context: {cluster: c, user: u, namespace: ns1}\n"
         "current-context: k8s-1\n";
}

inline std::string TokenUser(const std::string& token) { return "    token: " + token + "\n"; }

inline Result<std::unique_ptr<Client>> ClientFromKubeconfig(const std::string& text,
                                                            ClientOptions options = {}) {
  ASSIGN_OR_RETURN(Kubeconfig kc, ParseKubeconfig(text, "/test/kubeconfig"));
  ASSIGN_OR_RETURN(RestConfig rc, ResolveContext(kc, ""));
  return Client::Create(rc, options);
}

inline ClientOptions FastOptions() {
  ClientOptions o;
  o.qps = 0;
  o.initial_backoff = std::chrono::milliseconds(20);
  o.max_backoff = std::chrono::milliseconds(200);
  o.request_timeout = std::chrono::seconds(20);
  return o;
}

// Server options without designated initializers (-Wmissing-field-initializers).
inline FakeApiServer::Options ServerOptions(std::set<std::string> tokens,
                                            std::set<std::string> client_cns = {},
                                            bool echo = false) {
  FakeApiServer::Options o;
  o.pki = Pki();
  o.tokens = std::move(tokens);
  o.client_cns = std::move(client_cns);
  o.echo_credentials_in_errors = echo;
  return o;
}

inline ListOptions Paged(int64_t limit) {
  ListOptions o;
  o.limit = limit;
  return o;
}

inline ListOptions Labelled(std::string selector) {
  ListOptions o;
  o.label_selector = std::move(selector);
  return o;
}

inline WatchOptions From(std::string resource_version) {
  WatchOptions o;
  o.resource_version = std::move(resource_version);
  return o;
}

inline nlohmann::json Thing(const std::string& name) {
  return {{"apiVersion", "test.brfed.io/v1"},
          {"kind", "Thing"},
          {"metadata", {{"name", name}, {"namespace", "ns1"}}},
          {"spec", {{"size", 1}}}};
}

}  // namespace brfed::kube::testing
