// ClusterServer: the HTTP(S) API server of one virtual cluster, over a Store.
//
// Owns its listener threads; Stop() (or the destructor) ends every watch stream and joins
// every thread. Thread-safe. Internal to kube-sim: the public API is simulator.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "brfed/status.h"
#include "tools/kube-sim/internal.h"
#include "tools/kube-sim/simulator.h"
#include "tools/kube-sim/store.h"

namespace brfed::kubesim::internal {

// One RBAC-like rule; an empty list means "any".
struct AccessRule {
  std::vector<std::string> verbs;       // get, list, watch, create, update, patch, delete, ...
  std::vector<std::string> api_groups;  // "" is the core group
  std::vector<std::string> resources;   // "backups", "backups/status"
  std::vector<std::string> namespaces;
  std::vector<std::string> clusters;    // cluster names this rule applies to
  bool Matches(const std::string& cluster, const std::string& verb, const std::string& group,
               const std::string& resource, const std::string& ns) const;
};

struct SimUser {
  std::string name;
  std::string token;                  // bearer token ("" = none)
  bool client_cert = false;           // gets a client certificate from the CA
  std::string group;                  // O= of the client certificate
  bool admin = false;                 // may use /admin/*
  std::vector<AccessRule> rules;      // empty = allow everything
  CertKey cert;                       // filled when client_cert
  bool Allows(const std::string& cluster, const std::string& verb, const std::string& api_group,
              const std::string& resource, const std::string& ns) const;
};

struct ClusterServerOptions {
  std::string name;
  int port = 0;
  bool tls = true;
  bool server_cert_san = true;
  CertKey ca;
  CertKey server_cert;
  std::vector<SimUser> users;
  Store* store = nullptr;                 // not owned; outlives the server
  std::chrono::milliseconds bookmark_interval{std::chrono::seconds(5)};
  size_t threads = 64;
  size_t request_log_limit = 2000;
};

class ClusterServer {
 public:
  static Result<std::unique_ptr<ClusterServer>> Start(ClusterServerOptions options);
  ~ClusterServer();
  ClusterServer(const ClusterServer&) = delete;
  ClusterServer& operator=(const ClusterServer&) = delete;

  int port() const;
  std::string url() const;
  void SetFaults(const FaultSpec& faults);
  FaultSpec faults() const;
  void DropWatches();
  // REQUIRES: before traffic that uses it (called from hooks, before Start returns to users).
  void AddAdminRoute(const std::string& path, AdminHandler handler);
  void Stop();

  struct Impl;

 private:
  explicit ClusterServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sends `method` `path` with `body` to the server of `context` in the kubeconfig file, with its
// credentials (token or client certificate) and CA. Used by `kube-sim fault`.
struct HttpAnswer {
  int status = 0;
  std::string body;
};
Result<HttpAnswer> KubeconfigRequest(const std::string& kubeconfig_path,
                                     const std::string& context, const std::string& method,
                                     const std::string& path, const std::string& body);

}  // namespace brfed::kubesim::internal
