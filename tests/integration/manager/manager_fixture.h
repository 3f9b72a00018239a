// End-to-end fixture: kube-sim (control plane + three data planes with simulated
// tidb-operators, HTTPS, bearer token) and a br-federation-manager, both in-process.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "brfed/status.h"
#include "kube/client.h"
#include "kube/stop_signal.h"
#include "manager/manager.h"
#include "tools/kube-sim/operator/sim_cloud.h"
#include "tools/kube-sim/simulator.h"

namespace brfed::manager::testing {

class ManagerTest : public ::testing::Test {
 public:
  // The options of an in-process manager on this test's simulator, named `identity`, with its
  // journal in `journal_dir`.
  ManagerOptions Options(const std::string& identity, const std::string& journal_dir) const;

 protected:
  void SetUp() override;
  // Stops the manager and the simulator; asserts no TiDB cluster is left with GC paused.
  void TearDown() override;

  // Starts (or restarts) the manager with a journal in `journal_dir_`.
  void StartManager();
  void StopManager();

  // A VolumeBackup of the three data planes (or `clusters`) with this clean policy.
  nlohmann::json Backup(const std::string& name, const std::string& clean_policy = "Delete",
                        std::vector<std::string> clusters = {"k8s-1", "k8s-2", "k8s-3"}) const;
  nlohmann::json Restore(const std::string& name, const std::string& backup_prefix) const;

  nlohmann::json Create(const kube::Resource& r, const nlohmann::json& obj);
  // Waits until `pred` holds for default/<name> of `r` in the control plane; returns the object
  // (or fails the test and returns the last seen one).
  nlohmann::json WaitFor(const kube::Resource& r, const std::string& name,
                         const std::function<bool(const nlohmann::json&)>& pred,
                         std::chrono::seconds timeout = std::chrono::seconds(60));
  nlohmann::json WaitPhase(const kube::Resource& r, const std::string& name,
                           const std::string& phase,
                           std::chrono::seconds timeout = std::chrono::seconds(60));
  bool WaitGone(const kube::Resource& r, const std::string& name,
                std::chrono::seconds timeout = std::chrono::seconds(60));

  kube::Client* control() { return control_.get(); }
  kube::Client* plane(const std::string& name);
  kubesim::Simulator* sim() { return sim_.get(); }
  kubesim::op::SimCloud& cloud() { return *cloud_; }

  std::string dir_;  // per-test temporary directory
  std::string journal_dir_;
  std::string kubeconfig_path_;  // control plane (current context)
  std::string federation_path_;  // data planes only
  std::shared_ptr<kubesim::op::SimCloud> cloud_;
  std::unique_ptr<kubesim::Simulator> sim_;
  std::unique_ptr<kube::Client> control_;
  std::map<std::string, std::unique_ptr<kube::Client>> planes_;
  std::unique_ptr<Manager> manager_;
  std::unique_ptr<kube::StopSignal> stop_;
  std::thread manager_thread_;
  Status manager_result_;
};

std::string Phase(const nlohmann::json& obj);

}  // namespace brfed::manager::testing
