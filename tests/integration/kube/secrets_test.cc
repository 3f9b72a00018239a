// Secrets (tokens, keys, exec plugin output) never appear in errors or logs, even when the
// server echoes them back or a plugin prints them while failing.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include "kube/client.h"
#include "tests/integration/kube/test_env.h"
#include "tests/unit/kube/temp_dir.h"

namespace brfed::kube::testing {
namespace {

using json = nlohmann::json;

// Captures every glog line at every verbosity while alive.
class LogCapture : public google::LogSink {
 public:
  LogCapture() : old_v_(FLAGS_v) {
    FLAGS_v = 3;
    google::AddLogSink(this);
  }
  ~LogCapture() override {
    google::RemoveLogSink(this);
    FLAGS_v = old_v_;
  }
  void send(google::LogSeverity, const char*, const char*, int, const google::LogMessageTime&,
            const char* message, size_t len) override {
    std::lock_guard<std::mutex> lock(mu_);
    text_.append(message, len).append("\n");
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  int old_v_;
  std::mutex mu_;
  std::string text_;
};

TEST(SecretsTest, NeverInErrorsOrLogs) {
  const std::string static_token = "s3cr3t-static-token-AAAA";
  const std::string leaked_exec = "s3cr3t-exec-token-BBBB";
  const std::string rejected_exec = "s3cr3t-exec-token-CCCC";
  const std::string tls_token = "s3cr3t-tls-token-DDDD";
  const std::string retry_token = "s3cr3t-retry-token-EEEE";
  const std::string key_marker = "PRIVATE KEY";
  const std::vector<std::string> secrets = {static_token, leaked_exec, rejected_exec,
                                            tls_token,    retry_token, key_marker};

  LogCapture logs;
  FakeApiServer server(ServerOptions({retry_token}, {}, /*echo=*/true));
  TempDir dir;
  std::vector<Status> errors;
  auto collect = [&](const Status& s) {
    EXPECT_FALSE(s.ok());
    errors.push_back(s);
  };
  ClientOptions o = FastOptions();
  o.max_attempts = 3;

  // 1. A wrong static token, echoed back by a careless server.
  auto c1 = ClientFromKubeconfig(
      KubeconfigFor(server.url(), Pki().ca.cert_pem, TokenUser(static_token)), o);
  ASSERT_TRUE(c1.ok());
  collect((*c1)->Get(kThings, "ns1", "a").status());
  collect((*c1)->Watch(kThings, "ns1", {}, [](const WatchEvent&) { return true; }));

  // 2. An exec plugin that prints its token to stdout and stderr, then fails.
  std::string failing = dir.Write("failing.sh",
                                  "#!/bin/sh\necho " + leaked_exec + "\necho 'cannot refresh " +
                                      leaked_exec + "' >&2\nexit 1\n",
                                  true);
  auto c2 = ClientFromKubeconfig(
      KubeconfigFor(server.url(), Pki().ca.cert_pem,
                    "    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: " +
                        failing + "}\n"),
      o);
  ASSERT_TRUE(c2.ok());
  collect((*c2)->Get(kThings, "ns1", "a").status());

  // 3. An exec plugin whose token the server rejects (and echoes), even after a refresh.
  std::string rejected =
      dir.Write("rejected.sh",
                "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
                "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"" +
                    rejected_exec + "\"}}'\n",
                true);
  auto c3 = ClientFromKubeconfig(
      KubeconfigFor(
          server.url(), Pki().ca.cert_pem,
          "    exec: {apiVersion: client.authentication.k8s.io/v1, command: " + rejected + "}\n"),
      o);
  ASSERT_TRUE(c3.ok());
  collect((*c3)->Get(kThings, "ns1", "a").status());

  // 4. A CA that did not sign the server certificate, and a client key from another CA.
  std::string user4 =
      TokenUser(tls_token) +
      "    client-certificate-data: " + internal::Base64Encode(OtherPki().client.cert_pem) +
      "\n    client-key-data: " + internal::Base64Encode(OtherPki().client.key_pem) + "\n";
  auto c4 = ClientFromKubeconfig(KubeconfigFor(server.url(), OtherPki().ca.cert_pem, user4), o);
  ASSERT_TRUE(c4.ok());
  collect((*c4)->Get(kThings, "ns1", "a").status());
  auto c5 = ClientFromKubeconfig(KubeconfigFor(server.url(), Pki().ca.cert_pem, user4), o);
  ASSERT_TRUE(c5.ok());
  collect((*c5)->Get(kThings, "ns1", "a").status());

  // 5. Retried server errors (logged as warnings) with a valid token.
  auto c6 = ClientFromKubeconfig(
      KubeconfigFor(server.url(), Pki().ca.cert_pem, TokenUser(retry_token)), o);
  ASSERT_TRUE(c6.ok());
  server.FailNext(100, 503, "0");
  collect((*c6)->Get(kThings, "ns1", "a").status());

  ASSERT_EQ(errors.size(), 7u);
  for (const Status& s : errors) {
    for (const std::string& secret : secrets) {
      EXPECT_EQ(s.message().find(secret), std::string::npos)
          << "secret \"" << secret << "\" in: " << s.message();
    }
  }
  std::string log_text = logs.text();
  EXPECT_NE(log_text.find("retrying"), std::string::npos) << "capture works";
  for (const std::string& secret : secrets) {
    EXPECT_EQ(log_text.find(secret), std::string::npos) << "secret \"" << secret << "\" in logs";
  }
  // The careless server did echo the token; the client scrubbed it.
  EXPECT_NE(errors[0].message().find("[redacted]"), std::string::npos) << errors[0].message();
}

}  // namespace
}  // namespace brfed::kube::testing
