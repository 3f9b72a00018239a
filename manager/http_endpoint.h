// HttpEndpoint: /healthz, /readyz and /metrics (FEDERATION_PROTOCOL §12.5), served by every
// replica whether it leads or not.
//
//   HttpEndpoint http({.addr = ":6060", .ready = [&] { return synced; }, .metrics = &metrics});
//   RETURN_IF_ERROR(http.Start());   // http.port() is the bound port (":0" picks one)
//
// One listener thread, stopped by Stop() or the destructor.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "brfed/status.h"
#include "manager/metrics.h"

namespace brfed::manager {

struct HttpEndpointOptions {
  std::string addr = ":6060";     // "[host]:port"; an empty host listens on every address
  std::function<bool()> ready;    // /readyz answers 200 when true, else 503
  Metrics* metrics = nullptr;     // not owned
};

class HttpEndpoint {
 public:
  explicit HttpEndpoint(HttpEndpointOptions options);
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;
  ~HttpEndpoint();

  // Binds and starts serving. kInvalidArgument for a bad address, kUnavailable when the port
  // cannot be bound.
  Status Start();
  void Stop();
  int port() const { return port_; }

 private:
  struct Server;
  HttpEndpointOptions options_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace brfed::manager
