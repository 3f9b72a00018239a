// Simulator: N virtual Kubernetes clusters served on loopback, described by a YAML config.
//
//   SimulatorOptions options;
//   options.config_path = "examples/sim/federation.yaml";
//   options.cluster_hooks.push_back([](ClusterContext& c) -> Result<std::unique_ptr<Controller>> {
//     if (c.role() != "data-plane") return std::unique_ptr<Controller>();  // nothing to attach
//     return std::make_unique<MyOperator>(c);  // reads/writes c.store()
//   });
//   ASSIGN_OR_RETURN(std::unique_ptr<Simulator> sim, Simulator::Start(std::move(options)));
//   std::string kubeconfig = sim->kubeconfig();       // one context per cluster
//   Store* dp1 = sim->cluster("k8s-1")->store();
//   sim->SetFaults("k8s-1", FaultSpec{.error_rate = 0.5});
//   sim->Stop();                                      // or let the destructor do it
//
// Every cluster listens on 127.0.0.1 (port from the config; 0 picks a free one) with HTTPS
// (server certificate signed by a CA generated at start, SAN IP:127.0.0.1 and DNS:localhost,
// bearer tokens and client certificates) or plain HTTP. The config format is documented in
// tools/kube-sim/README.md.
//
// Thread-safety: Start/Stop from one thread; the accessors and SetFaults from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "brfed/status.h"
#include "tools/kube-sim/store.h"

namespace brfed::kubesim {

// Faults of one cluster, applied to every API request except /admin/* (see README).
struct FaultSpec {
  std::chrono::milliseconds latency{0};  // added before each request is handled
  double error_rate = 0;                 // fraction answered 500 InternalError (or error_code)
  int error_code = 500;                  // 500, 502, 503 or 504
  double throttle_rate = 0;              // fraction answered 429 TooManyRequests
  int retry_after_seconds = 1;           // Retry-After of the 429 answers
  double reset_rate = 0;                 // fraction whose connection is reset without answer
  // Every open watch stream is ended once it is this old (0: never). Applies to new and open
  // streams.
  std::chrono::milliseconds drop_watches_every{0};
  // "" (reachable), "reset" (every request's connection is reset), "hang" (requests are read
  // but never answered until the fault is cleared), "refuse" (the listening socket is closed:
  // connection refused; reopened on the same port when cleared).
  std::string unreachable;
  // The faults clear themselves after this long (0: until cleared).
  std::chrono::milliseconds duration{0};

  nlohmann::json ToJson() const;
  // Parses {"latency":"50ms","errorRate":0.1,...}; unknown keys are kInvalidArgument.
  static Result<FaultSpec> FromJson(const nlohmann::json& j);
};

// A request to an admin route added by a hook.
struct AdminRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the part after /admin/, e.g. "ebs/snapshots"
  std::multimap<std::string, std::string> query;
  std::string body;
};
struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};
using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

// What a hook sees of one cluster. Owned by the Simulator; valid until Stop() returns.
class ClusterContext {
 public:
  virtual ~ClusterContext() = default;
  virtual const std::string& name() const = 0;  // "k8s-1"
  virtual const std::string& role() const = 0;  // "control-plane", "data-plane", ...
  virtual Store* store() = 0;
  // The cluster's entry of the config (after merging its role defaults), as JSON; hooks read
  // their own keys from it (e.g. "operator").
  virtual const nlohmann::json& config() const = 0;
  // The whole config file as JSON.
  virtual const nlohmann::json& global_config() const = 0;
  // Serves `handler` at /admin/<path> of this cluster (exact match, any method), with the
  // same authentication as the built-in admin routes. REQUIRES: called from the hook.
  virtual void AddAdminRoute(const std::string& path, AdminHandler handler) = 0;
  virtual FaultSpec faults() const = 0;
};

// Something a hook attaches to a cluster (e.g. the simulated tidb-operator). Created after the
// cluster's store is seeded and before it serves; Stop() is called before the servers stop and
// must stop every thread the controller started. Destroyed after Stop().
class Controller {
 public:
  virtual ~Controller() = default;
  virtual void Stop() = 0;
};

// Returns nullptr when it has nothing to attach to this cluster.
using ClusterHook = std::function<Result<std::unique_ptr<Controller>>(ClusterContext&)>;

// Hooks registered process-wide (e.g. from a static initializer of the operator library)
// are run by every Simulator started with use_global_hooks. Thread-safe.
void RegisterGlobalClusterHook(ClusterHook hook);

struct SimulatorOptions {
  // The config: YAML text, or a file path (relative paths in it are relative to the file).
  std::string config_yaml;
  std::string config_path;
  // Directory that relative paths in config_yaml are resolved against (default: cwd).
  std::string base_dir;
  // Optional: writes ca.crt, ca.key, kubeconfig (the kubeconfigUser's) and kubeconfig-<user>
  // for every user here, and reuses an existing CA from it.
  std::string state_dir;
  std::vector<ClusterHook> cluster_hooks;
  bool use_global_hooks = true;
};

struct ClusterEndpoint {
  std::string name;
  std::string role;
  std::string url;  // "https://127.0.0.1:34567"
  int port = 0;
  std::string namespace_;  // the kubeconfig context namespace
};

class Simulator {
 public:
  // Parses the config, creates and seeds every cluster, runs the hooks and starts serving.
  // kInvalidArgument names the config place that is wrong.
  static Result<std::unique_ptr<Simulator>> Start(SimulatorOptions options);

  virtual ~Simulator() = default;  // stops
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  virtual std::vector<ClusterEndpoint> endpoints() const = 0;
  // kubeconfig YAML: a cluster, user and context per virtual cluster (context name = cluster
  // name, with its namespace), current-context = the first cluster. Credentials are those of
  // the config's `kubeconfigUser` (default: the first user).
  virtual std::string kubeconfig() const = 0;
  // The same, for another configured user (token or client certificate, inline data).
  virtual Result<std::string> KubeconfigForUser(const std::string& user) const = 0;
  virtual ClusterContext* cluster(const std::string& name) = 0;  // nullptr if unknown
  // PEM of the CA that signed the serving certificates ("" over plain HTTP).
  virtual std::string ca_pem() const = 0;

  virtual Status SetFaults(const std::string& cluster, const FaultSpec& faults) = 0;
  virtual Status ClearFaults(const std::string& cluster) = 0;
  // Ends every open watch stream of the cluster now.
  virtual Status DropWatches(const std::string& cluster) = 0;

  // Stops the controllers, then every server and thread. Idempotent.
  virtual void Stop() = 0;

 protected:
  Simulator() = default;
};

// `kubeconfig` (as Simulator::kubeconfig() writes it) without the context `drop`; the current
// context becomes the first one left. The manager's federation kubeconfig is the simulator's
// without the control plane. kInvalidArgument when it is not such a kubeconfig or nothing is
// left.
Result<std::string> KubeconfigWithout(const std::string& kubeconfig, const std::string& drop);

}  // namespace brfed::kubesim
