// Transport: one cluster's HTTP(S) connections over libcurl. Internal to kube/; use Client.
//
//   ASSIGN_OR_RETURN(auto t, Transport::Create(rest_config, {}));
//   ASSIGN_OR_RETURN(HttpResponse r, t->Perform({"GET", "/api/v1/namespaces"}, credential));
//
// Keeps a pool of curl easy handles; each keeps its connections alive, so sequential requests
// reuse a connection and concurrent ones get their own. TLS is verified against the
// RestConfig's CA (the system store if none) unless insecure_skip_tls_verify; tls_server_name
// overrides the name used for SNI and certificate checks. Credentials are passed per request
// and never logged (curl's verbose mode is never enabled).
//
// Thread-safe. No retries here: one call, one HTTP exchange (Client retries).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "brfed/status.h"
#include "kube/credentials.h"
#include "kube/rest_config.h"
#include "kube/stop_signal.h"

namespace brfed::kube {

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // "/apis/...?..." relative to the server URL (its prefix is added)
  std::string body;
  std::string content_type;  // set when body is non-empty
  // Whole-request timeout for Perform; for Stream, the longest silence tolerated. 0: none.
  std::chrono::milliseconds timeout{0};
};

struct HttpResponse {
  int code = 0;
  std::string body;         // Perform: the whole body; Stream: only for non-2xx answers
  std::string retry_after;  // the Retry-After header, if any
};

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::string user_agent = "brfed/0.1";
  size_t max_idle_handles = 8;
};

class Transport {
 public:
  static Result<std::unique_ptr<Transport>> Create(const RestConfig& config,
                                                   TransportOptions options);
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  ~Transport();

  // One request/response. Non-2xx answers are returned, not turned into errors.
  // Errors (message without the request context): kUnavailable (cannot connect, TLS failure,
  // connection reset), kDeadlineExceeded (timeout), kInvalidArgument (unusable client cert).
  // `*connect_failed` (optional) is set when nothing was sent, so a retry is always safe.
  Result<HttpResponse> Perform(const HttpRequest& request, const Credential& credential,
                               bool* connect_failed = nullptr);

  // Like Perform, but a 2xx body is passed to `on_data` piece by piece as it arrives instead of
  // being collected. Returning false from on_data ends the transfer (result OK). Returns
  // kCancelled when `stop` fires first.
  Result<HttpResponse> Stream(const HttpRequest& request, const Credential& credential,
                              const std::function<bool(std::string_view)>& on_data,
                              StopSignal* stop, bool* connect_failed = nullptr);

  const std::string& base_url() const { return base_url_; }

 private:
  struct Handle;
  Transport(const RestConfig& config, TransportOptions options);
  std::unique_ptr<Handle> Acquire();
  void Release(std::unique_ptr<Handle> h);
  // Applies connection, TLS and request options. Returns the header list to free after use.
  Status Prepare(Handle& h, const HttpRequest& request, const Credential& credential);

  const TransportOptions options_;
  const std::string cluster_name_;
  std::string base_url_;    // scheme://host:port[/prefix] as curl sees it
  std::string server_url_;  // as configured, for messages
  std::string connect_to_;  // CURLOPT_CONNECT_TO entry for tls-server-name, or empty
  std::string ca_pem_;
  bool insecure_ = false;

  std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;  // GUARDED_BY(mu_)
};

}  // namespace brfed::kube
