// The kube/ client against kube-sim (tools/kube-sim) over HTTPS: the scenarios of issue 3 §6.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

#include "kube/api_error.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "kube/rest_config.h"
#include "tests/integration/kube/test_env.h"
#include "tests/unit/kube/temp_dir.h"
#include "tools/kube-sim/simulator.h"

namespace brfed::kube::testing {
namespace {

using json = nlohmann::json;
constexpr auto kWait = std::chrono::seconds(20);  // generous: only reached when failing
const kubesim::ResourceKey kLeaseKey{"coordination.k8s.io", "v1", "leases"};

constexpr char kConfig[] = R"(
historyLimit: 8
users:
- {name: admin, token: sim-admin-token, admin: true}
- {name: cert-admin, clientCertificate: true, admin: true}
clusters:
- {name: k8s-1, namespace: ns1, namespaces: [ns1]}
)";

json Lease(const std::string& name) {
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", {{"name", name}, {"namespace", "ns1"}}},
          {"spec", {{"holderIdentity", "a"}, {"leaseDurationSeconds", 15}}}};
}

class KubeSimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kubesim::SimulatorOptions o;
    o.config_yaml = kConfig;
    o.use_global_hooks = false;
    auto sim = kubesim::Simulator::Start(std::move(o));
    ASSERT_TRUE(sim.ok()) << sim.status().ToString();
    sim_ = std::move(*sim);
  }

  Result<RestConfig> Config(const std::string& user = "") {
    std::string text;
    if (user.empty()) {
      text = sim_->kubeconfig();
    } else {
      ASSIGN_OR_RETURN(text, sim_->KubeconfigForUser(user));
    }
    ASSIGN_OR_RETURN(Kubeconfig kc, ParseKubeconfig(text, "/sim/kubeconfig"));
    return ResolveContext(kc, "k8s-1");
  }

  std::unique_ptr<Client> MakeClient(const RestConfig& rc, ClientOptions o = FastOptions()) {
    auto c = Client::Create(rc, o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  kubesim::Store* store() { return sim_->cluster("k8s-1")->store(); }

  std::unique_ptr<kubesim::Simulator> sim_;
};

TEST_F(KubeSimTest, TokenCrudAndStaleUpdateConflict) {
  Result<RestConfig> rc = Config();
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->default_namespace, "ns1");
  auto c = MakeClient(*rc);
  json lease = Lease("l1");
  lease["spec"]["x-unknown"] = {{"kept", true}};
  ASSERT_TRUE(c->Create(kLeases, "ns1", lease).ok());
  EXPECT_EQ(c->Create(kLeases, "ns1", lease).status().code(), StatusCode::kAlreadyExists);
  json stale = *c->Get(kLeases, "ns1", "l1");
  json fresh = stale;
  fresh["spec"]["holderIdentity"] = "b";
  ASSERT_TRUE(c->Update(kLeases, "ns1", fresh).ok());
  Result<json> conflict = c->Update(kLeases, "ns1", stale);
  EXPECT_EQ(conflict.status().code(), StatusCode::kAborted) << conflict.status().ToString();
  Result<ObjectList> list = c->List(kLeases, "ns1", Paged(1));
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0]["kind"], "Lease");
  ASSERT_TRUE(c->Delete(kLeases, "ns1", "l1").ok());
  EXPECT_EQ(c->Get(kLeases, "ns1", "l1").status().code(), StatusCode::kNotFound);
}

TEST_F(KubeSimTest, ClientCertificateAuthenticates) {
  Result<RestConfig> rc = Config("cert-admin");
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  ASSERT_FALSE(rc->client_cert_pem.empty());
  EXPECT_TRUE(rc->token.empty());
  auto c = MakeClient(*rc);
  EXPECT_TRUE(c->Create(kLeases, "ns1", Lease("l1")).ok());
}

TEST_F(KubeSimTest, ExecPluginAuthenticates) {
  TempDir dir;
  std::string plugin =
      dir.Write("plugin.sh",
                "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
                "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"sim-admin-token\"}}'\n",
                true);
  RestConfig rc = *Config();
  rc.token.clear();
  ExecConfig e;
  e.api_version = "client.authentication.k8s.io/v1";
  e.command = plugin;
  rc.exec = e;
  auto c = MakeClient(rc);
  EXPECT_TRUE(c->Create(kLeases, "ns1", Lease("l1")).ok());

  rc.exec.reset();
  rc.token = "wrong";
  EXPECT_EQ(MakeClient(rc)->Get(kLeases, "ns1", "l1").status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(KubeSimTest, WrongCaIsRejected) {
  RestConfig rc = *Config();
  rc.ca_pem = OtherPki().ca.cert_pem;
  Result<json> r = MakeClient(rc)->Get(kLeases, "ns1", "l1");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("certificate"), std::string::npos) << r.status().message();
}

TEST_F(KubeSimTest, ServerErrorsAreRetriedAndBounded) {
  RestConfig rc = *Config();
  kubesim::FaultSpec always;
  always.error_rate = 1.0;
  always.error_code = 503;
  ASSERT_TRUE(sim_->SetFaults("k8s-1", always).ok());
  ClientOptions few = FastOptions();
  few.max_attempts = 3;
  Result<json> r = MakeClient(rc, few)->Get(kLeases, "ns1", "l1");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();

  // Half the requests fail: with 40 attempts each, every call gets through.
  kubesim::FaultSpec half;
  half.error_rate = 0.5;
  ASSERT_TRUE(sim_->SetFaults("k8s-1", half).ok());
  ClientOptions many = FastOptions();
  many.max_attempts = 40;
  many.max_backoff = std::chrono::milliseconds(20);
  auto c = MakeClient(rc, many);
  for (int i = 0; i < 20; ++i) {
    Result<json> created = c->Create(kLeases, "ns1", Lease("l" + std::to_string(i)));
    // A create whose first answer was lost may find its own object on the retry.
    EXPECT_TRUE(created.ok() || created.status().code() == StatusCode::kAlreadyExists)
        << created.status().ToString();
  }
  EXPECT_GT(c->requests_sent(), 20);  // some were retried
  ASSERT_TRUE(sim_->ClearFaults("k8s-1").ok());
  EXPECT_EQ(c->List(kLeases, "ns1")->items.size(), 20u);
}

TEST_F(KubeSimTest, UnreachableClusterIsReported) {
  RestConfig rc = *Config();
  kubesim::FaultSpec refuse;
  refuse.unreachable = "refuse";
  ASSERT_TRUE(sim_->SetFaults("k8s-1", refuse).ok());
  ClientOptions o = FastOptions();
  o.max_attempts = 2;
  Result<json> r = MakeClient(rc, o)->Get(kLeases, "ns1", "l1");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message().rfind("k8s-1: GET", 0), 0u) << r.status().message();
}

// Informer events as strings ("added ns1/x"), with a wait.
class Recorder {
 public:
  void operator()(const InformerEvent& e) {
    std::lock_guard<std::mutex> lock(mu_);
    const char* t = e.type == InformerEventType::kAdded     ? "added"
                    : e.type == InformerEventType::kUpdated ? "updated"
                                                            : "deleted";
    events_.push_back(std::string(t) + " " + KeyOf(e.object));
    cv_.notify_all();
  }
  bool WaitFor(const std::string& want) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] {
      return std::find(events_.begin(), events_.end(), want) != events_.end();
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

class KubeSimInformerTest : public KubeSimTest {
 protected:
  void SetUp() override {
    KubeSimTest::SetUp();
    client_ = MakeClient(*Config());
    InformerOptions o;
    o.resource = kLeases;
    o.ns = "ns1";
    o.initial_backoff = std::chrono::milliseconds(20);
    o.max_backoff = std::chrono::milliseconds(100);
    informer_ = std::make_unique<Informer>(client_.get(), o, std::ref(rec_));
    informer_->Start();
    ASSERT_TRUE(informer_->WaitForSync(kWait));
  }
  void TearDown() override {
    informer_.reset();  // before the simulator
  }

  // Cuts the cluster off (open watches drop, every request's connection is reset) while
  // `changes` runs.
  void WhileDisconnected(const std::function<void()>& changes) {
    kubesim::FaultSpec reset;
    reset.unreachable = "reset";
    ASSERT_TRUE(sim_->SetFaults("k8s-1", reset).ok());
    changes();
    ASSERT_TRUE(sim_->ClearFaults("k8s-1").ok());
  }

  Recorder rec_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Informer> informer_;
};

TEST_F(KubeSimInformerTest, WatchResumesAfterDroppedConnection) {
  ASSERT_TRUE(client_->Create(kLeases, "ns1", Lease("live")).ok());
  ASSERT_TRUE(rec_.WaitFor("added ns1/live"));
  WhileDisconnected([&] {
    ASSERT_TRUE(store()->Create(kLeaseKey, "ns1", Lease("offline")).ok());
    ASSERT_TRUE(store()->Delete(kLeaseKey, "ns1", "live", {}).ok());
  });
  EXPECT_TRUE(rec_.WaitFor("added ns1/offline"));
  EXPECT_TRUE(rec_.WaitFor("deleted ns1/live"));
  EXPECT_EQ(informer_->lists(), 1);  // resumed from its resourceVersion

  ASSERT_TRUE(sim_->DropWatches("k8s-1").ok());
  ASSERT_TRUE(client_->Create(kLeases, "ns1", Lease("after-drop")).ok());
  EXPECT_TRUE(rec_.WaitFor("added ns1/after-drop"));
}

TEST_F(KubeSimInformerTest, ExpiredHistoryRelists) {
  ASSERT_TRUE(client_->Create(kLeases, "ns1", Lease("goes")).ok());
  ASSERT_TRUE(rec_.WaitFor("added ns1/goes"));
  WhileDisconnected([&] {
    ASSERT_TRUE(store()->Delete(kLeaseKey, "ns1", "goes", {}).ok());
    // More changes than the history keeps (historyLimit: 8): the resume point is gone.
    for (int i = 0; i < 12; ++i) {
      ASSERT_TRUE(store()->Create(kLeaseKey, "ns1", Lease("n" + std::to_string(i))).ok());
    }
  });
  EXPECT_TRUE(rec_.WaitFor("deleted ns1/goes"));
  EXPECT_TRUE(rec_.WaitFor("added ns1/n11"));
  EXPECT_GE(informer_->lists(), 2);
  EXPECT_EQ(informer_->List().size(), 12u);
}

}  // namespace
}  // namespace brfed::kube::testing
