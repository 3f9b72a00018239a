#include "tests/integration/manager/manager_fixture.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "kube/kubeconfig.h"
#include "kube/resource.h"
#include "kube/rest_config.h"
#include "steps/protocol/conditions.h"
#include "tools/kube-sim/operator/operator_hook.h"

namespace brfed::manager::testing {

using nlohmann::json;

namespace {

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

}  // namespace

std::string Phase(const json& obj) { return protocol::StringAt(obj, {"status", "phase"}); }

void ManagerTest::SetUp() {
  char tmpl[] = "/tmp/brfed-e2e-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  journal_dir_ = dir_ + "/journal";
  cloud_ = std::make_shared<kubesim::op::SimCloud>();
  kubesim::SimulatorOptions options;
  options.config_path =
      std::string(BRFED_SOURCE_DIR) + "/tests/integration/manager/testdata/federation.yaml";
  options.use_global_hooks = false;
  options.cluster_hooks.push_back(kubesim::op::MakeOperatorHook(cloud_));
  Result<std::unique_ptr<kubesim::Simulator>> sim = kubesim::Simulator::Start(std::move(options));
  ASSERT_TRUE(sim.ok()) << sim.status().ToString();
  sim_ = std::move(*sim);
  kubeconfig_path_ = dir_ + "/kubeconfig";
  federation_path_ = dir_ + "/federation-kubeconfig";
  WriteFile(kubeconfig_path_, sim_->kubeconfig());
  Result<std::string> federation = kubesim::KubeconfigWithout(sim_->kubeconfig(), "control-plane");
  ASSERT_TRUE(federation.ok()) << federation.status().ToString();
  WriteFile(federation_path_, *federation);
  Result<kube::Kubeconfig> kc = kube::LoadKubeconfig(kubeconfig_path_);
  ASSERT_TRUE(kc.ok()) << kc.status().ToString();
  for (const char* name : {"control-plane", "k8s-1", "k8s-2", "k8s-3"}) {
    Result<kube::RestConfig> rc = kube::ResolveContext(*kc, name);
    ASSERT_TRUE(rc.ok()) << rc.status().ToString();
    Result<std::unique_ptr<kube::Client>> c = kube::Client::Create(*rc);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    if (std::string(name) == "control-plane") {
      control_ = std::move(*c);
    } else {
      planes_[name] = std::move(*c);
    }
  }
}

void ManagerTest::TearDown() {
  StopManager();
  if (cloud_) {
    EXPECT_FALSE(cloud_->pd.AnyPaused()) << "a TiDB cluster was left with GC/PD paused";
  }
  // Close our keep-alive connections first: a server stops faster with no idle client.
  control_.reset();
  planes_.clear();
  if (sim_) sim_->Stop();
  // BRFED_E2E_KEEP=1 keeps the journal and kubeconfigs for `brfedctl inspect`.
  if (getenv("BRFED_E2E_KEEP") != nullptr) {
    std::cerr << "kept " << dir_ << "\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

ManagerOptions ManagerTest::Options(const std::string& identity,
                                    const std::string& journal_dir) const {
  ManagerOptions o;
  o.ns = "br-federation";
  o.kubeconfig = kubeconfig_path_;
  o.federation_kubeconfig_path = federation_path_;
  o.journal_dir = journal_dir;
  o.health_addr = "127.0.0.1:0";
  o.identity = identity;
  o.kube_client_qps = 1000;
  o.kube_client_burst = 1000;
  o.leader_retry_period = std::chrono::milliseconds(200);
  return o;
}

void ManagerTest::StartManager() {
  Result<std::unique_ptr<Manager>> m =
      Manager::Create(Options("e2e-manager", journal_dir_), Env::Default());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  manager_ = std::move(*m);
  stop_ = std::make_unique<kube::StopSignal>();
  manager_thread_ = std::thread([this] { manager_result_ = manager_->Run(stop_.get()); });
}

void ManagerTest::StopManager() {
  if (!manager_) return;
  stop_->Stop();
  manager_thread_.join();
  EXPECT_TRUE(manager_result_.ok()) << manager_result_.ToString();
  manager_.reset();
}

kube::Client* ManagerTest::plane(const std::string& name) { return planes_.at(name).get(); }

json ManagerTest::Backup(const std::string& name, const std::string& clean_policy,
                         std::vector<std::string> clusters) const {
  json list = json::array();
  for (const std::string& c : clusters) {
    list.push_back({{"k8sClusterName", c}, {"tcName", "basic"}, {"tcNamespace", "tidb-cluster"}});
  }
  return {
      {"apiVersion", "federation.pingcap.com/v1alpha1"},
      {"kind", "VolumeBackup"},
      {"metadata", {{"name", name}, {"namespace", "default"}}},
      {"spec",
       {{"clusters", list},
        {"template",
         {{"br", {{"sendCredToTikv", true}}},
          {"s3", {{"provider", "aws"}, {"region", "us-west-2"}, {"bucket", "b"}, {"prefix", name}}},
          {"toolImage", "pingcap/br:v7.5.0"},
          {"cleanPolicy", clean_policy}}}}}};
}

json ManagerTest::Restore(const std::string& name, const std::string& backup_prefix) const {
  json list = json::array();
  for (const char* c : {"k8s-1", "k8s-2", "k8s-3"}) {
    list.push_back({{"k8sClusterName", c},
                    {"tcName", "basic"},
                    {"tcNamespace", "tidb-cluster"},
                    {"azName", std::string("us-west-2-") + c},
                    {"backup",
                     {{"s3",
                       {{"provider", "aws"},
                        {"region", "us-west-2"},
                        {"bucket", "b"},
                        {"prefix", backup_prefix + "-" + c}}}}}});
  }
  return {
      {"apiVersion", "federation.pingcap.com/v1alpha1"},
      {"kind", "VolumeRestore"},
      {"metadata", {{"name", name}, {"namespace", "default"}}},
      {"spec", {{"clusters", list}, {"template", {{"br", json::object()}, {"toolImage", "br"}}}}}};
}

json ManagerTest::Create(const kube::Resource& r, const json& obj) {
  Result<json> created = control_->Create(r, "default", obj);
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  return created.ok() ? *created : json();
}

json ManagerTest::WaitFor(const kube::Resource& r, const std::string& name,
                          const std::function<bool(const json&)>& pred,
                          std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  json last;
  while (std::chrono::steady_clock::now() < deadline) {
    Result<json> obj = control_->Get(r, "default", name);
    if (obj.ok()) {
      last = *obj;
      if (pred(last)) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "timed out waiting on " << name << "; last seen: " << last.dump(2);
  return last;
}

json ManagerTest::WaitPhase(const kube::Resource& r, const std::string& name,
                            const std::string& phase, std::chrono::seconds timeout) {
  return WaitFor(
      r, name, [&](const json& o) { return Phase(o) == phase; }, timeout);
}

bool ManagerTest::WaitGone(const kube::Resource& r, const std::string& name,
                           std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    Result<json> obj = control_->Get(r, "default", name);
    if (!obj.ok() && obj.status().code() == StatusCode::kNotFound) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace brfed::manager::testing
