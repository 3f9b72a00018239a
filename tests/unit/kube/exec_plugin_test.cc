#include "kube/exec_plugin.h"

#include <gtest/gtest.h>

#include "kube/credentials.h"
#include "kube/util.h"
#include "tests/unit/kube/temp_dir.h"

namespace brfed::kube {
namespace {

using testing::TempDir;

constexpr char kV1[] = "client.authentication.k8s.io/v1";
constexpr char kV1beta1[] = "client.authentication.k8s.io/v1beta1";

RestConfig Cluster() {
  RestConfig rc;
  rc.cluster_name = "k8s-1";
  rc.origin = "kubeconfig /x: context \"k8s-1\"";
  rc.server = "https://127.0.0.1:6443";
  rc.ca_pem = "CA";
  return rc;
}

// A plugin that counts its runs in <dir>/runs, records its environment and arguments, and
// prints an ExecCredential whose token is "tok-$A-$1" expiring at `expiry`.
std::string WriteTokenPlugin(TempDir& dir, const std::string& expiry) {
  std::string status = "\"token\":\"tok-$A-$1\"";
  if (!expiry.empty()) status += ",\"expirationTimestamp\":\"" + expiry + "\"";
  return dir.Write("plugin.sh",
                   "#!/bin/sh\n"
                   "echo run >> \"" +
                       dir.path() +
                       "/runs\"\n"
                       "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"" +
                       dir.path() +
                       "/info\"\n"
                       "cat <<EOF\n{\"apiVersion\":\"" +
                       std::string(kV1) + "\",\"kind\":\"ExecCredential\",\"status\":{" + status +
                       "}}\nEOF\n",
                   /*executable=*/true);
}

ExecConfig Config(const std::string& command) {
  ExecConfig e;
  e.api_version = kV1;
  e.command = command;
  e.args = {"arg1"};
  e.env = {{"A", "envA"}};
  e.provide_cluster_info = true;
  return e;
}

TEST(ExecPluginTest, RunsPluginWithEnvArgsAndClusterInfo) {
  TempDir dir;
  ExecCredentialProvider p(Config(WriteTokenPlugin(dir, "")), Cluster());
  Result<ExecCredential> c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, "tok-envA-arg1");
  EXPECT_FALSE(c->expiration);
  nlohmann::json info = nlohmann::json::parse(*internal::ReadFile(dir.path() + "/info"));
  EXPECT_EQ(info["kind"], "ExecCredential");
  EXPECT_EQ(info["apiVersion"], kV1);
  EXPECT_EQ(info["spec"]["interactive"], false);
  EXPECT_EQ(info["spec"]["cluster"]["server"], "https://127.0.0.1:6443");
  EXPECT_EQ(info["spec"]["cluster"]["certificate-authority-data"], "Q0E=");
}

TEST(ExecPluginTest, CachesUntilExpiryAndRerunsAfterInvalidate) {
  TempDir dir;
  ExecCredentialProvider p(Config(WriteTokenPlugin(dir, "2999-01-01T00:00:00Z")), Cluster());
  ASSERT_TRUE(p.Get().ok());
  ASSERT_TRUE(p.Get().ok());
  EXPECT_EQ(p.runs_for_test(), 1);
  p.Invalidate();
  ASSERT_TRUE(p.Get().ok());
  EXPECT_EQ(p.runs_for_test(), 2);
}

TEST(ExecPluginTest, ExpiredCredentialIsFetchedAgain) {
  TempDir dir;
  ExecCredentialProvider p(Config(WriteTokenPlugin(dir, "2000-01-01T00:00:00Z")), Cluster());
  ASSERT_TRUE(p.Get().ok());
  ASSERT_TRUE(p.Get().ok());
  EXPECT_EQ(p.runs_for_test(), 2);
  EXPECT_EQ(*internal::ReadFile(dir.path() + "/runs"), "run\nrun\n");
}

TEST(ExecPluginTest, V1beta1ClientCertificate) {
  TempDir dir;
  std::string cmd =
      dir.Write("cert.sh",
                "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
                "\"kind\":\"ExecCredential\",\"status\":{\"clientCertificateData\":\"CERT\","
                "\"clientKeyData\":\"KEY\"}}'\n",
                true);
  ExecConfig e = Config(cmd);
  e.api_version = kV1beta1;
  ExecCredentialProvider p(e, Cluster());
  Result<ExecCredential> c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->client_cert_pem, "CERT");
  EXPECT_EQ(c->client_key_pem, "KEY");
  EXPECT_TRUE(c->token.empty());
}

TEST(ExecPluginTest, FailingPluginErrorHidesItsOutput) {
  TempDir dir;
  std::string cmd = dir.Write("fail.sh",
                              "#!/bin/sh\necho 'leaked-stdout-token-XYZ'\n"
                              "echo 'error: token leaked-stderr-token-ABC expired' >&2\nexit 3\n",
                              true);
  ExecCredentialProvider p(Config(cmd), Cluster());
  Result<ExecCredential> c = p.Get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnauthenticated);
  const std::string m = c.status().message();
  EXPECT_EQ(m.rfind("kubeconfig /x: context \"k8s-1\": exec plugin \"" + cmd +
                        "\": exited with "
                        "status 3",
                    0),
            0u)
      << m;
  EXPECT_EQ(m.find("leaked"), std::string::npos) << m;
}

TEST(ExecPluginTest, BadOutputsAreRejectedWithoutQuotingThem) {
  struct Case {
    const char* name;
    std::string output;
    std::string want;
  } cases[] = {
      {"not json", "secret-ish garbage", "output is not a JSON object"},
      {"wrong kind", R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"Other"})",
       "output kind is \"Other\""},
      {"wrong version",
       R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t"}})",
       "output apiVersion is \"client.authentication.k8s.io/v1beta1\""},
      {"no status", R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"})",
       "output has no status"},
      {"empty status",
       R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}})",
       "neither status.token nor a client certificate"},
      {"cert without key",
       R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"C"}})",
       "only one of"},
      {"bad expiry",
       R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t","expirationTimestamp":"tomorrow"}})",
       "is not RFC 3339"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<ExecCredential> r = internal::ParseExecCredential(c.output, kV1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("garbage"), std::string::npos);
  }
}

TEST(ExecPluginTest, MissingCommandShowsInstallHint) {
  ExecConfig e = Config("/nonexistent/kube-login");
  e.install_hint = "install kube-login from example.com";
  ExecCredentialProvider p(e, Cluster());
  Result<ExecCredential> c = p.Get();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("exec plugin \"/nonexistent/kube-login\""),
            std::string::npos);
  EXPECT_NE(c.status().message().find("install kube-login from example.com"), std::string::npos)
      << c.status().message();
}

TEST(ExecPluginTest, HangingPluginIsKilledAfterTimeout) {
  TempDir dir;
  std::string cmd = dir.Write("hang.sh", "#!/bin/sh\nexec sleep 30\n", true);
  ExecCredentialProvider p(Config(cmd), Cluster(), std::chrono::milliseconds(200));
  Result<ExecCredential> c = p.Get();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("timed out after 200 ms"), std::string::npos);
}

TEST(CredentialSourceTest, TokenFileIsReadAndRereadAfterUnauthorized) {
  TempDir dir;
  std::string file = dir.Write("token", "first\n");
  RestConfig rc = Cluster();
  rc.token_file = file;
  CredentialSource creds(rc);
  EXPECT_EQ(creds.Get()->token, "first");
  dir.Write("token", "second\n");
  EXPECT_EQ(creds.Get()->token, "first");  // cached for a minute
  EXPECT_TRUE(creds.OnUnauthorized());
  EXPECT_EQ(creds.Get()->token, "second");
  EXPECT_EQ(creds.Secrets(), std::vector<std::string>{"second"});
}

TEST(CredentialSourceTest, StaticCredentialsCannotBeRefreshed) {
  RestConfig rc = Cluster();
  rc.token = "static-token";
  CredentialSource creds(rc);
  EXPECT_EQ(creds.Get()->token, "static-token");
  EXPECT_FALSE(creds.OnUnauthorized());
}

}  // namespace
}  // namespace brfed::kube
