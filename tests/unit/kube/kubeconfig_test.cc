#include "kube/kubeconfig.h"

#include <gtest/gtest.h>

#include "kube/rest_config.h"
#include "kube/util.h"
#include "tests/unit/kube/temp_dir.h"

namespace brfed::kube {
namespace {

using testing::TempDir;

const char kFull[] = R"(
apiVersion: v1
kind: Config
preferences: {}
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: Q0EtUEVN
    tls-server-name: kube.internal
- name: c2
  cluster:
    server: https://10.0.0.2:443
    certificate-authority: certs/ca.pem
    insecure-skip-tls-verify: true
    extensions: [{name: x, extension: {}}]
users:
- name: token-user
  user: {token: tok-123}
- name: file-user
  user: {tokenFile: token.txt}
- name: cert-user
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
- name: cert-file-user
  user: {client-certificate: certs/c.crt, client-key: /abs/c.key}
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: bin/get-token
      args: [--cluster, c1]
      env: [{name: A, value: "1"}]
      provideClusterInfo: true
      interactiveMode: Never
- name: path-exec-user
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}
contexts:
- name: k8s-1
  context: {cluster: c1, user: token-user, namespace: tidb}
- name: k8s-2
  context: {cluster: c2, user: file-user}
current-context: k8s-1
)";

TEST(KubeconfigParseTest, ReadsEveryField) {
  Result<Kubeconfig> r = ParseKubeconfig(kFull, "/cfg/dir/config");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Kubeconfig& kc = *r;
  EXPECT_EQ(kc.current_context, "k8s-1");
  EXPECT_EQ(kc.current_context_file, "/cfg/dir/config");

  const KubeconfigCluster& c1 = kc.clusters.at("c1");
  EXPECT_EQ(c1.server, "https://127.0.0.1:6443/");
  EXPECT_EQ(c1.certificate_authority_data, "CA-PEM");
  EXPECT_EQ(c1.tls_server_name, "kube.internal");
  EXPECT_FALSE(c1.insecure_skip_tls_verify);
  const KubeconfigCluster& c2 = kc.clusters.at("c2");
  EXPECT_EQ(c2.certificate_authority, "/cfg/dir/certs/ca.pem");
  EXPECT_TRUE(c2.insecure_skip_tls_verify);

  EXPECT_EQ(kc.users.at("token-user").token, "tok-123");
  EXPECT_EQ(kc.users.at("file-user").token_file, "/cfg/dir/token.txt");
  EXPECT_EQ(kc.users.at("cert-user").client_certificate_data, "CERT");
  EXPECT_EQ(kc.users.at("cert-user").client_key_data, "KEY");
  EXPECT_EQ(kc.users.at("cert-file-user").client_certificate, "/cfg/dir/certs/c.crt");
  EXPECT_EQ(kc.users.at("cert-file-user").client_key, "/abs/c.key");
  const ExecConfig& e = *kc.users.at("exec-user").exec;
  EXPECT_EQ(e.api_version, "client.authentication.k8s.io/v1beta1");
  EXPECT_EQ(e.command, "/cfg/dir/bin/get-token");
  EXPECT_EQ(e.args, (std::vector<std::string>{"--cluster", "c1"}));
  ASSERT_EQ(e.env.size(), 1u);
  EXPECT_EQ(e.env[0], (std::pair<std::string, std::string>{"A", "1"}));
  EXPECT_TRUE(e.provide_cluster_info);
  EXPECT_EQ(e.interactive_mode, "Never");
  EXPECT_EQ(kc.users.at("path-exec-user").exec->command, "aws");  // PATH lookup, not resolved

  EXPECT_EQ(kc.contexts.at("k8s-1").namespace_, "tidb");
  EXPECT_EQ(kc.contexts.at("k8s-2").user, "file-user");
}

TEST(KubeconfigParseTest, EmptyFileIsEmptyConfig) {
  Result<Kubeconfig> r = ParseKubeconfig("", "/x");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->contexts.empty());
}

TEST(KubeconfigParseTest, ErrorsNameFileEntryFieldAndLine) {
  struct Case {
    const char* yaml;
    const char* want;  // substring of the message
  } cases[] = {
      {"clusters: [", "kubeconfig /k/cfg: line "},
      {"- a\n- b\n", "kubeconfig /k/cfg: expected a mapping at the top"},
      {"clusters: {a: 1}", "kubeconfig /k/cfg: clusters: expected a list"},
      {"clusters:\n- cluster: {server: x}\n", "clusters[0]: name: missing"},
      {"clusters:\n- name: c\n  cluster: {server: [1]}\n",
       "kubeconfig /k/cfg: clusters[0] \"c\": server: expected a string (line 3"},
      {"clusters:\n- name: c\n  cluster: {insecure-skip-tls-verify: maybe}\n",
       "clusters[0] \"c\": insecure-skip-tls-verify: expected true or false"},
      {"clusters:\n- name: c\n  cluster: {certificate-authority-data: '!!!'}\n",
       "clusters[0] \"c\": certificate-authority-data: illegal base64 data"},
      {"users:\n- name: u\n  user: {client-key-data: 'not*base64'}\n",
       "users[0] \"u\": client-key-data: illegal base64 data"},
      {"users:\n- name: u\n  user: {exec: {command: x}}\n",
       "users[0] \"u\": exec: apiVersion: \"\" is not supported"},
      {"users:\n- name: u\n  user: {exec: {apiVersion: client.authentication.k8s.io/v1}}\n",
       "users[0] \"u\": exec: command: missing"},
      {"users:\n- name: u\n  user: {exec: {apiVersion: client.authentication.k8s.io/v1, "
       "command: x, env: [{value: v}]}}\n",
       "users[0] \"u\": exec: env[0]: name: missing"},
      {"contexts:\n- name: a\n  context: {}\n- name: a\n  context: {}\n",
       "contexts[1] \"a\": duplicate context name"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    Result<Kubeconfig> r = ParseKubeconfig(c.yaml, "/k/cfg");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
  }
}

TEST(KubeconfigParseTest, BadBase64ErrorDoesNotQuoteTheValue) {
  Result<Kubeconfig> r = ParseKubeconfig(
      "users:\n- name: u\n  user: {client-key-data: 'SECRET*KEY*MATERIAL'}\n", "/k");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("SECRET"), std::string::npos) << r.status().message();
}

TEST(KubeconfigMergeTest, FirstFileWinsPerNameAndForCurrentContext) {
  TempDir dir;
  std::string a = dir.Write("a/config", R"(
clusters: [{name: shared, cluster: {server: "https://a:1"}}]
users: [{name: u, user: {token: token-from-a}}]
contexts: [{name: ctx-a, context: {cluster: shared, user: u}},
           {name: both, context: {cluster: shared, user: u, namespace: from-a}}]
)");
  std::string b = dir.Write("b/config", R"(
clusters: [{name: shared, cluster: {server: "https://b:1"}},
           {name: only-b, cluster: {server: "https://b:2", certificate-authority: ca.crt}}]
users: [{name: u, user: {token: token-from-b}}]
contexts: [{name: both, context: {cluster: only-b, user: u, namespace: from-b}}]
current-context: both
)");
  Result<Kubeconfig> r = LoadKubeconfig(a + ":" + dir.path() + "/missing:" + b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->clusters.at("shared").server, "https://a:1");
  EXPECT_EQ(r->clusters.at("only-b").certificate_authority, dir.path() + "/b/ca.crt");
  EXPECT_EQ(r->users.at("u").token, "token-from-a");
  EXPECT_EQ(r->contexts.at("both").namespace_, "from-a");
  EXPECT_EQ(r->current_context, "both");
  EXPECT_EQ(r->current_context_file, b);
  EXPECT_EQ(ContextNames(*r), (std::vector<std::string>{"both", "ctx-a"}));
}

TEST(KubeconfigMergeTest, SingleMissingFileIsAnErrorNamingIt) {
  Result<Kubeconfig> r = LoadKubeconfig("/nonexistent/kubeconfig");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/kubeconfig"), std::string::npos);
}

TEST(ResolveContextTest, ResolvesFilesAndDefaults) {
  TempDir dir;
  dir.Write("certs/ca.pem", "CA FROM FILE");
  dir.Write("certs/c.crt", "CERT FROM FILE");
  dir.Write("certs/c.key", "KEY FROM FILE");
  dir.Write("token.txt", "file-token\n");
  std::string path = dir.Write("config", R"(
clusters:
- {name: c, cluster: {server: "https://127.0.0.1:6443/", certificate-authority: certs/ca.pem, tls-server-name: kube}}
users:
- {name: certs, user: {client-certificate: certs/c.crt, client-key: certs/c.key}}
- {name: tf, user: {tokenFile: token.txt}}
- {name: both, user: {token: inline, tokenFile: token.txt}}
contexts:
- {name: with-certs, context: {cluster: c, user: certs, namespace: ns1}}
- {name: with-token-file, context: {cluster: c, user: tf}}
- {name: token-wins, context: {cluster: c, user: both}}
- {name: anonymous, context: {cluster: c}}
current-context: with-certs
)");
  ASSERT_TRUE(LoadKubeconfig(path).ok());
  Kubeconfig kc = *LoadKubeconfig(path);

  Result<RestConfig> certs = ResolveContext(kc, "");
  ASSERT_TRUE(certs.ok()) << certs.status().ToString();
  EXPECT_EQ(certs->cluster_name, "with-certs");
  EXPECT_EQ(certs->server, "https://127.0.0.1:6443");
  EXPECT_EQ(certs->ca_pem, "CA FROM FILE");
  EXPECT_EQ(certs->tls_server_name, "kube");
  EXPECT_EQ(certs->client_cert_pem, "CERT FROM FILE");
  EXPECT_EQ(certs->client_key_pem, "KEY FROM FILE");
  EXPECT_EQ(certs->default_namespace, "ns1");

  Result<RestConfig> tf = ResolveContext(kc, "with-token-file");
  ASSERT_TRUE(tf.ok());
  EXPECT_EQ(tf->token_file, dir.path() + "/token.txt");
  EXPECT_EQ(tf->default_namespace, "default");

  Result<RestConfig> both = ResolveContext(kc, "token-wins");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->token, "inline");
  EXPECT_EQ(both->token_file, "");

  Result<RestConfig> anon = ResolveContext(kc, "anonymous");
  ASSERT_TRUE(anon.ok());
  EXPECT_TRUE(anon->token.empty() && anon->client_cert_pem.empty() && !anon->exec);
}

TEST(ResolveContextTest, ErrorsNameFileContextAndField) {
  TempDir dir;
  std::string path = dir.Write("fed.yaml", R"(
clusters:
- {name: good, cluster: {server: "https://127.0.0.1:1"}}
- {name: no-server, cluster: {}}
- {name: ftp, cluster: {server: "ftp://x"}}
- {name: missing-ca, cluster: {server: "https://x:1", certificate-authority: nope.pem}}
users:
- {name: key-only, user: {client-key-data: S0VZ}}
- {name: missing-token-file, user: {tokenFile: nope.token}}
- {name: provider, user: {auth-provider: {name: gcp}}}
contexts:
- {name: k8s-1, context: {cluster: good, user: u}}
- {name: k8s-2, context: {cluster: nope}}
- {name: k8s-3, context: {cluster: no-server}}
- {name: k8s-4, context: {cluster: ftp}}
- {name: k8s-5, context: {cluster: missing-ca}}
- {name: k8s-6, context: {cluster: good, user: key-only}}
- {name: k8s-7, context: {cluster: good, user: missing-token-file}}
- {name: k8s-8, context: {cluster: good, user: provider}}
- {name: k8s-9, context: {user: key-only}}
)");
  Kubeconfig kc = *LoadKubeconfig(path);
  const std::string f = "kubeconfig " + path + ": ";
  struct Case {
    const char* context;
    StatusCode code;
    std::string want;
  } cases[] = {
      {"k8s-1", StatusCode::kNotFound, f + "context \"k8s-1\": user \"u\" not found"},
      {"k8s-2", StatusCode::kNotFound, f + "context \"k8s-2\": cluster \"nope\" not found"},
      {"k8s-3", StatusCode::kInvalidArgument,
       f + "context \"k8s-3\": cluster \"no-server\": server: missing"},
      {"k8s-4", StatusCode::kInvalidArgument,
       f + "context \"k8s-4\": cluster \"ftp\": server: \"ftp://x\" is not an http"},
      {"k8s-5", StatusCode::kNotFound,
       f + "context \"k8s-5\": cluster \"missing-ca\": certificate-authority: cannot read " +
           dir.path() + "/nope.pem"},
      {"k8s-6", StatusCode::kInvalidArgument,
       f + "context \"k8s-6\": user \"key-only\": client-key given without client-certificate"},
      {"k8s-7", StatusCode::kNotFound,
       f + "context \"k8s-7\": user \"missing-token-file\": tokenFile: cannot read"},
      {"k8s-8", StatusCode::kInvalidArgument,
       f + "context \"k8s-8\": user \"provider\": auth-provider: not supported"},
      {"k8s-9", StatusCode::kInvalidArgument, f + "context \"k8s-9\": cluster: missing"},
      {"nope", StatusCode::kNotFound, f + "context \"nope\" not found"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.context);
    Result<RestConfig> r = ResolveContext(kc, c.context);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    EXPECT_EQ(r.status().message().rfind(c.want, 0), 0u) << r.status().message();
  }
  Result<RestConfig> no_current = ResolveContext(kc, "");
  ASSERT_FALSE(no_current.ok());
  EXPECT_NE(no_current.status().message().find("current-context is not set"), std::string::npos);
}

TEST(InClusterConfigTest, ReadsServiceAccountDirectory) {
  TempDir dir;
  dir.Write("token", "sa-token\n");
  dir.Write("ca.crt", "SA CA");
  dir.Write("namespace", "br-fed\n");
  InClusterOptions o;
  o.root = dir.path();
  o.host = "10.96.0.1";
  o.port = "443";
  Result<RestConfig> r = InClusterConfig(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->server, "https://10.96.0.1:443");
  EXPECT_EQ(r->token_file, dir.path() + "/token");
  EXPECT_TRUE(r->token.empty());  // re-read from the file by the client
  EXPECT_EQ(r->ca_pem, "SA CA");
  EXPECT_EQ(r->default_namespace, "br-fed");
  EXPECT_EQ(r->cluster_name, "in-cluster");

  o.host = "fd00::1";
  EXPECT_EQ(InClusterConfig(o)->server, "https://[fd00::1]:443");
}

TEST(InClusterConfigTest, ErrorsOutsideAPodOrWithoutFiles) {
  TempDir dir;
  InClusterOptions o;
  o.root = dir.path();
  EXPECT_EQ(InClusterConfig(o).status().code(), StatusCode::kFailedPrecondition);
  o.host = "10.0.0.1";
  o.port = "443";
  Result<RestConfig> r = InClusterConfig(o);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(dir.path() + "/token"), std::string::npos);
  dir.Write("token", "t");
  r = InClusterConfig(o);
  EXPECT_NE(r.status().message().find("ca.crt"), std::string::npos);
  dir.Write("ca.crt", "CA");
  r = InClusterConfig(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->default_namespace, "default");  // no namespace file
}

}  // namespace
}  // namespace brfed::kube
