#include "manager/http_endpoint.h"

#include <httplib.h>

#include <charconv>

namespace brfed::manager {

struct HttpEndpoint::Server {
  httplib::Server http;
};

HttpEndpoint::HttpEndpoint(HttpEndpointOptions options) : options_(std::move(options)) {}

HttpEndpoint::~HttpEndpoint() { Stop(); }

Status HttpEndpoint::Start() {
  size_t colon = options_.addr.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgumentError("health address \"" + options_.addr + "\": want [host]:port");
  }
  std::string host = options_.addr.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port_text = options_.addr.substr(colon + 1);
  int port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return InvalidArgumentError("health address \"" + options_.addr + "\": bad port");
  }
  server_ = std::make_unique<Server>();
  httplib::Server& s = server_->http;
  s.set_tcp_nodelay(true);
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    bool ok = !options_.ready || options_.ready();
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok\n" : "not ready\n", "text/plain");
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::string body = options_.metrics != nullptr ? options_.metrics->Render() : "";
    res.set_content(body, "text/plain; version=0.0.4; charset=utf-8");
  });
  port_ = port == 0 ? s.bind_to_any_port(host) : (s.bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    server_.reset();
    return UnavailableError("health address " + options_.addr + ": cannot listen");
  }
  thread_ = std::thread([this] { server_->http.listen_after_bind(); });
  return Status::OK();
}

void HttpEndpoint::Stop() {
  if (server_) server_->http.stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace brfed::manager
