// The kube/ client against FakeApiServer over HTTPS.
#include "kube/client.h"

#include <gtest/gtest.h>

#include <thread>

#include "kube/api_error.h"
#include "tests/integration/kube/test_env.h"
#include "tests/unit/kube/temp_dir.h"

namespace brfed::kube::testing {
namespace {

using json = nlohmann::json;

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() : server_(ServerOptions({"good-token"})) {}

  std::unique_ptr<Client> TokenClient(ClientOptions options = FastOptions()) {
    auto c = ClientFromKubeconfig(
        KubeconfigFor(server_.url(), Pki().ca.cert_pem, TokenUser("good-token")), options);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  FakeApiServer server_;
};

TEST_F(ClientTest, TokenCrudRoundTripsUnknownFields) {
  auto c = TokenClient();
  json thing = Thing("a");
  thing["spec"]["futureField"] = {{"nested", {1, 2, 3}}};
  Result<json> created = c->Create(kThings, "ns1", thing);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_FALSE(ResourceVersionOf(*created).empty());

  Result<json> got = c->Get(kThings, "ns1", "a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["spec"]["futureField"]["nested"][2], 3);

  json changed = *got;
  changed["spec"]["size"] = 2;
  Result<json> updated = c->Update(kThings, "ns1", changed);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ((*updated)["spec"]["futureField"], thing["spec"]["futureField"]);

  Result<json> patched = c->Patch(kThings, "ns1", "a", {{"spec", {{"size", 3}}}});
  ASSERT_TRUE(patched.ok());
  EXPECT_EQ((*patched)["spec"]["size"], 3);
  EXPECT_EQ((*patched)["spec"]["futureField"], thing["spec"]["futureField"]);

  ASSERT_TRUE(c->Delete(kThings, "ns1", "a").ok());
  Result<json> gone = c->Get(kThings, "ns1", "a");
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_NE(gone.status().message().find(
                "k8s-1: GET /apis/test.brfed.io/v1/namespaces/ns1/things/a: 404 NotFound"),
            std::string::npos)
      << gone.status().message();
}

TEST_F(ClientTest, StaleUpdateIsAbortedAndDuplicateCreateIsAlreadyExists) {
  auto c = TokenClient();
  ASSERT_TRUE(c->Create(kThings, "ns1", Thing("a")).ok());
  Result<json> dup = c->Create(kThings, "ns1", Thing("a"));
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists) << dup.status().ToString();

  json stale = *c->Get(kThings, "ns1", "a");
  ASSERT_TRUE(c->Patch(kThings, "ns1", "a", {{"spec", {{"size", 9}}}}).ok());  // someone else
  Result<json> conflict = c->Update(kThings, "ns1", stale);
  EXPECT_EQ(conflict.status().code(), StatusCode::kAborted) << conflict.status().ToString();
  EXPECT_NE(conflict.status().message().find("409 Conflict"), std::string::npos);

  json precondition = {{"metadata", {{"resourceVersion", ResourceVersionOf(stale)}}}};
  EXPECT_EQ(c->Patch(kThings, "ns1", "a", precondition).status().code(), StatusCode::kAborted);
}

TEST_F(ClientTest, ListFollowsPagesAndFillsKind) {
  auto c = TokenClient();
  for (const char* n : {"a", "b", "c", "d", "e"}) {
    json t = Thing(n);
    if (std::string(n) < "c") t["metadata"]["labels"] = {{"app", "br"}};
    ASSERT_TRUE(c->Create(kThings, "ns1", t).ok());
  }
  int before = server_.requests();
  Result<ObjectList> list = c->List(kThings, "ns1", Paged(2));
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(server_.requests() - before, 3);
  ASSERT_EQ(list->items.size(), 5u);
  EXPECT_EQ(KeyOf(list->items[4]), "ns1/e");
  EXPECT_EQ(list->items[0]["kind"], "Thing");
  EXPECT_FALSE(list->resource_version.empty());

  Result<ObjectList> labelled = c->List(kThings, "ns1", Labelled("app=br"));
  ASSERT_TRUE(labelled.ok());
  EXPECT_EQ(labelled->items.size(), 2u);
}

TEST_F(ClientTest, SequentialRequestsReuseOneConnection) {
  auto c = TokenClient();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(c->Get(kThings, "ns1", "nope").status().code(), StatusCode::kNotFound);
  }
  EXPECT_EQ(server_.connections(), 1u);
}

TEST_F(ClientTest, ConcurrentRequestsAreSafe) {
  auto c = TokenClient();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        if (c->Create(kThings, "ns1", Thing("t" + std::to_string(t) + "-" + std::to_string(i)))
                .ok()) {
          ++ok;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 40);
  EXPECT_EQ(c->List(kThings, "ns1")->items.size(), 40u);
}

TEST_F(ClientTest, WrongTokenIsUnauthenticated) {
  auto c = ClientFromKubeconfig(
      KubeconfigFor(server_.url(), Pki().ca.cert_pem, TokenUser("wrong-token")), FastOptions());
  ASSERT_TRUE(c.ok());
  Result<json> r = (*c)->Get(kThings, "ns1", "a");
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << r.status().ToString();
}

TEST_F(ClientTest, ClientCertificateAuthenticates) {
  const TestPki& pki = Pki();  // its client certificate has CN brfed-client
  FakeApiServer server(ServerOptions({}, {"brfed-client"}));
  std::string user_yaml =
      "    client-certificate-data: " + internal::Base64Encode(pki.client.cert_pem) +
      "\n    client-key-data: " + internal::Base64Encode(pki.client.key_pem) + "\n";
  auto c =
      ClientFromKubeconfig(KubeconfigFor(server.url(), pki.ca.cert_pem, user_yaml), FastOptions());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Result<json> r = (*c)->Create(kThings, "ns1", Thing("x"));
  EXPECT_TRUE(r.ok()) << r.status().ToString();

  // Without the certificate the same server says 401.
  auto anon =
      ClientFromKubeconfig(KubeconfigFor(server.url(), pki.ca.cert_pem, "    {}\n"), FastOptions());
  ASSERT_TRUE(anon.ok()) << anon.status().ToString();
  EXPECT_EQ((*anon)->Get(kThings, "ns1", "x").status().code(), StatusCode::kUnauthenticated);
}

TEST_F(ClientTest, ExecPluginTokenIsCachedAndRefreshedAfter401) {
  TempDir dir;
  dir.Write("current-token", "exec-token-1");
  std::string plugin = dir.Write(
      "plugin.sh",
      "#!/bin/sh\necho run >> \"" + dir.path() +
          "/runs\"\n"
          "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
          "\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"2200-01-01T00:00:00Z\"}}' "
          "\"$(cat \"" +
          dir.path() + "/current-token\")\"\n",
      true);
  server_.SetTokens({"exec-token-1"});
  std::string user_yaml =
      "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
      "      command: " +
      plugin + "\n      interactiveMode: Never\n";
  auto c = ClientFromKubeconfig(KubeconfigFor(server_.url(), Pki().ca.cert_pem, user_yaml),
                                FastOptions());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  for (int i = 0; i < 3; ++i) {
    Result<json> r = (*c)->Create(kThings, "ns1", Thing("x" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  EXPECT_EQ(*internal::ReadFile(dir.path() + "/runs"), "run\n");  // cached

  // The token rotates: the cached one now gets 401, the plugin runs again, the retry works.
  server_.SetTokens({"exec-token-2"});
  dir.Write("current-token", "exec-token-2");
  Result<json> r = (*c)->Get(kThings, "ns1", "x0");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*internal::ReadFile(dir.path() + "/runs"), "run\nrun\n");
}

TEST_F(ClientTest, WrongCaIsRejectedUnlessInsecure) {
  std::string kc = KubeconfigFor(server_.url(), OtherPki().ca.cert_pem, TokenUser("good-token"));
  auto c = ClientFromKubeconfig(kc, FastOptions());
  ASSERT_TRUE(c.ok());
  Result<json> r = (*c)->Get(kThings, "ns1", "a");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("certificate"), std::string::npos) << r.status().message();
  EXPECT_EQ(server_.requests(), 0);

  std::string insecure =
      "apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: " + server_.url() +
      ", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: good-token}\n"
      "contexts:\n- name: k8s-1\n  context: {cluster: c, user: u}\ncurrent-context: k8s-1\n";
  auto ic = ClientFromKubeconfig(insecure, FastOptions());
  ASSERT_TRUE(ic.ok());
  EXPECT_EQ((*ic)->Get(kThings, "ns1", "a").status().code(), StatusCode::kNotFound);
}

TEST_F(ClientTest, TlsServerNameIsUsedForVerification) {
  // The certificate names 127.0.0.1 and localhost; connect by IP but verify "localhost".
  auto ok =
      ClientFromKubeconfig(KubeconfigFor(server_.url(), Pki().ca.cert_pem, TokenUser("good-token"),
                                         "    tls-server-name: localhost\n"),
                           FastOptions());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)->Get(kThings, "ns1", "a").status().code(), StatusCode::kNotFound);

  auto bad =
      ClientFromKubeconfig(KubeconfigFor(server_.url(), Pki().ca.cert_pem, TokenUser("good-token"),
                                         "    tls-server-name: kube.example.com\n"),
                           FastOptions());
  ASSERT_TRUE(bad.ok());
  Result<json> r = (*bad)->Get(kThings, "ns1", "a");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

TEST_F(ClientTest, ServerErrorsAreRetriedHonouringRetryAfter) {
  auto c = TokenClient();
  server_.FailNext(2, 503, "1");
  int before = server_.requests();
  auto start = std::chrono::steady_clock::now();
  Result<json> r = c->Create(kThings, "ns1", Thing("a"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(server_.requests() - before, 3);
  // Two waits of Retry-After: 1s each (FastOptions' own backoff is 20 ms).
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1900));
}

TEST_F(ClientTest, ThrottlingIsRetried) {
  auto c = TokenClient();
  server_.FailNext(1, 429, "0");
  EXPECT_TRUE(c->Create(kThings, "ns1", Thing("a")).ok());
}

TEST_F(ClientTest, RetriesAreBounded) {
  ClientOptions o = FastOptions();
  o.max_attempts = 3;
  auto c = TokenClient(o);
  server_.FailNext(100, 500);
  int before = server_.requests();
  Result<json> r = c->Get(kThings, "ns1", "a");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(server_.requests() - before, 3);
  EXPECT_NE(r.status().message().find("500 InternalError: injected failure"), std::string::npos)
      << r.status().message();
}

TEST_F(ClientTest, SlowServerTimesOut) {
  ClientOptions o = FastOptions();
  o.request_timeout = std::chrono::milliseconds(200);
  auto c = TokenClient(o);
  server_.SetLatency(std::chrono::milliseconds(1500));
  Result<json> r = c->Get(kThings, "ns1", "a");
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  server_.SetLatency(std::chrono::milliseconds(0));
}

TEST_F(ClientTest, UnreachableClusterIsUnavailableAndNamed) {
  ClientOptions o = FastOptions();
  o.max_attempts = 2;
  auto c = ClientFromKubeconfig(KubeconfigFor("https://127.0.0.1:" + std::to_string(UnusedPort()),
                                              Pki().ca.cert_pem, TokenUser("good-token")),
                                o);
  ASSERT_TRUE(c.ok());
  Result<json> r = (*c)->Get(kThings, "ns1", "a");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message().rfind("k8s-1: GET ", 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find("cannot connect"), std::string::npos);
}

TEST_F(ClientTest, QpsLimitSpacesRequests) {
  ClientOptions o = FastOptions();
  o.qps = 20;
  o.burst = 1;
  auto c = TokenClient(o);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i) (void)c->Get(kThings, "ns1", "a");
  // 5 waits of 50 ms after the first token.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(240));
}

TEST_F(ClientTest, RawRequestMapsErrors) {
  auto c = TokenClient();
  Result<RawResponse> r = c->Request("GET", "/nonexistent/path");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  json body = Thing("raw");
  Result<RawResponse> created = c->Request("POST", kThingsNs1, &body);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->code, 201);
  EXPECT_EQ(created->body["metadata"]["name"], "raw");
}

}  // namespace
}  // namespace brfed::kube::testing
