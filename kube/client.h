// Client: the REST and watch client for one Kubernetes cluster (one kubeconfig context).
//
//   ASSIGN_OR_RETURN(Kubeconfig kc, LoadKubeconfig(path));
//   ASSIGN_OR_RETURN(RestConfig rc, ResolveContext(kc, "k8s-1"));
//   ASSIGN_OR_RETURN(std::unique_ptr<Client> k8s1, Client::Create(rc, ClientOptions{}));
//
//   Result<nlohmann::json> b = k8s1->Get(kBackups, "ns1", "fed-backup-1");
//   if (b.status().code() == StatusCode::kNotFound) {
//     ASSIGN_OR_RETURN(b, k8s1->Create(kBackups, "ns1", MakeBackup()));
//   }
//   ASSIGN_OR_RETURN(ObjectList list, k8s1->List(kBackups, "ns1", {.label_selector = "a=b"}));
//   ASSIGN_OR_RETURN(auto patched, k8s1->Patch(kBackups, "ns1", "b1", {{"spec", {{"x", 1}}}}));
//
// Objects are nlohmann::json and round-trip untouched: fields brfed does not know survive a
// Get → modify → Update cycle.
//
// Errors follow api_error.h (404 kNotFound, 409 kAlreadyExists or kAborted, 410 IsGone(), 422
// kInvalidArgument, ...) and read "k8s-1: GET /apis/...: 404 NotFound: ..." . 429 and 5xx
// answers and refused connections are retried up to max_attempts times with exponential
// backoff, honouring Retry-After; a 401 makes the credential refresh (token file, exec plugin)
// and the request run once more. Every request, retries included, first takes a token from
// the QPS/burst bucket. Secrets never appear in returned errors or logs.
//
// Thread-safe: any number of threads may call any method concurrently. Blocking.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/status.h"
#include "kube/rate_limiter.h"
#include "kube/resource.h"
#include "kube/rest_config.h"
#include "kube/stop_signal.h"
#include "kube/watch.h"

namespace brfed::kube {

class CredentialSource;
class Transport;

struct ClientOptions {
  double qps = 50;  // <= 0: unlimited
  int burst = 100;
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds connect_timeout{10000};
  int max_attempts = 5;  // for 429, 5xx and refused connections
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds max_retry_after{30000};  // cap on a server's Retry-After
  std::string user_agent = "brfed/0.1";
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 500;           // page size; pages are followed until the end. 0: no paging
  std::string resource_version;  // "" or "0": current state
};

struct ObjectList {
  std::vector<nlohmann::json> items;  // each with apiVersion and kind filled in
  std::string resource_version;       // where a watch continuing this list starts
};

enum class PatchType { kMerge, kJson, kStrategicMerge };

struct DeleteOptions {
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
  std::string propagation_policy = "Background";
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // "" or "0": synthetic ADDED for the current state first
  bool allow_bookmarks = true;
  std::chrono::seconds timeout{0};  // server-side timeoutSeconds; 0: none
};

struct RawResponse {
  int code = 0;
  nlohmann::json body;  // null for an empty body
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> Create(const RestConfig& config,
                                                ClientOptions options = {});
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // The context name (k8sClusterName).
  const std::string& cluster_name() const { return config_.cluster_name; }
  // The context's namespace ("default" if none).
  const std::string& default_namespace() const { return config_.default_namespace; }

  Result<nlohmann::json> Get(const Resource& r, std::string_view ns, std::string_view name);
  // Lists every page. A 410 on a continue token restarts the list once from the beginning.
  Result<ObjectList> List(const Resource& r, std::string_view ns, const ListOptions& options = {});
  // POST. The name comes from the object (or its generateName).
  Result<nlohmann::json> Create(const Resource& r, std::string_view ns,
                                const nlohmann::json& object);
  // PUT of the whole object; metadata.name and metadata.resourceVersion come from `object`.
  Result<nlohmann::json> Update(const Resource& r, std::string_view ns,
                                const nlohmann::json& object);
  Result<nlohmann::json> Patch(const Resource& r, std::string_view ns, std::string_view name,
                               const nlohmann::json& patch, PatchType type = PatchType::kMerge);
  // Returns the response body: the object (CRs) or a Status (built-in kinds).
  Result<nlohmann::json> Delete(const Resource& r, std::string_view ns, std::string_view name,
                                const DeleteOptions& options = {});

  // Any request. `path` starts with "/" and may carry a query. Non-2xx answers are errors.
  Result<RawResponse> Request(std::string_view method, std::string_view path,
                              const nlohmann::json* body = nullptr,
                              std::string_view content_type = "application/json");

  // One watch stream. Calls `on_event` for each event, in order, on the calling thread, until:
  //  - the server ends the stream, or on_event returns false: OK;
  //  - `stop` fires: kCancelled;
  //  - a 410 (HTTP or an ERROR event with code 410): a Status with IsGone() true;
  //  - another ERROR event: its Status mapped like an HTTP error;
  //  - the connection breaks or times out: kUnavailable / kDeadlineExceeded.
  // ERROR events are not passed to on_event. Reconnecting is the caller's job (see Informer).
  Status Watch(const Resource& r, std::string_view ns, const WatchOptions& options,
               const std::function<bool(const WatchEvent&)>& on_event, StopSignal* stop = nullptr);

  // Requests actually sent, retries included. For tests and metrics.
  int64_t requests_sent() const;

 private:
  Client(RestConfig config, ClientOptions options);
  // Sends with rate limiting, credential refresh and retries; maps non-2xx to Status.
  Result<RawResponse> Do(std::string_view method, const std::string& path, std::string body,
                         std::string_view content_type);
  void WaitForToken();
  std::chrono::milliseconds Backoff(int attempt) const;
  std::string Context(std::string_view method, std::string_view path) const;
  Status Scrubbed(const Status& s);

  const RestConfig config_;
  const ClientOptions options_;
  std::unique_ptr<CredentialSource> credentials_;
  std::unique_ptr<Transport> transport_;
  TokenBucket bucket_;
  std::atomic<int64_t> requests_sent_{0};
};

}  // namespace brfed::kube
