// FakeApiServer: a tiny in-process Kubernetes API server over HTTPS (cpp-httplib) for the
// client tests, with the fault knobs they need. Not a simulator: namespaced resources only,
// merge patch only, label selectors of the form k=v only.
//
//   FakeApiServer server(ServerOptions({"t0k3n"}));   // test_env.h
//   server.FailNext(2, 503, "1");            // two 503s with Retry-After: 1
//   server.DropWatches();                    // every open watch stream ends abruptly
//
// Listens on 127.0.0.1 with a port chosen at run time; the destructor stops every thread.
// Thread-safe.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/kube/test_pki.h"

namespace brfed::kube::testing {

class FakeApiServer {
 public:
  struct Options {
    TestPki pki;
    std::set<std::string> tokens;             // accepted bearer tokens
    std::set<std::string> client_cns;         // accepted client certificate common names
    bool echo_credentials_in_errors = false;  // a careless server, for the scrubbing test
  };

  explicit FakeApiServer(Options options);
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;
  ~FakeApiServer();

  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }

  void SetTokens(std::set<std::string> tokens);
  // The next `n` non-watch requests get `code` (with Retry-After if non-empty).
  void FailNext(int n, int code, std::string retry_after = "");
  void SetLatency(std::chrono::milliseconds latency);
  // Ends every open watch stream without the final chunk (a dropped connection).
  void DropWatches();
  // While paused, watch streams send nothing (events queue up).
  void PauseWatches(bool paused);
  // Watches from a resourceVersion older than the current one get an in-stream 410.
  void Compact();
  // Watch requests are answered with HTTP 410 instead of a stream.
  void set_watch_http_410(bool on);

  // Changes made "by someone else", with watch events. `collection` is a collection path.
  nlohmann::json Upsert(const std::string& collection, nlohmann::json object);
  void Remove(const std::string& collection, const std::string& name);

  int requests() const { return requests_.load(); }
  int watch_requests() const { return watch_requests_.load(); }
  // Distinct client connections seen (by remote port).
  size_t connections() const;
  int open_watches() const { return open_watches_.load(); }

 private:
  struct Event {
    int64_t rv;
    std::string collection;
    std::string type;
    nlohmann::json object;
  };
  void Handle(const std::string& method, const httplib::Request& req, httplib::Response& res);
  bool Authenticate(const httplib::Request& req, httplib::Response& res);
  void Crud(const std::string& method, const std::string& collection, const std::string& name,
            const httplib::Request& req, httplib::Response& res);
  void Watch(const std::string& collection, const httplib::Request& req, httplib::Response& res);
  // REQUIRES: mu_ held.
  nlohmann::json CommitLocked(const std::string& collection, const std::string& type,
                              nlohmann::json object);

  Options options_;
  httplib::SSLServer server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<int> watch_requests_{0};
  std::atomic<int> open_watches_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<int> remote_ports_;
  std::map<std::string, std::map<std::string, nlohmann::json>> store_;
  std::vector<Event> events_;
  int64_t rv_ = 100;
  int64_t compacted_rv_ = 0;
  int fail_remaining_ = 0;
  int fail_code_ = 0;
  std::string fail_retry_after_;
  std::chrono::milliseconds latency_{0};
  uint64_t drop_generation_ = 0;
  bool paused_ = false;
  bool watch_http_410_ = false;
  bool stopping_ = false;
};

// A loopback port with nothing listening (connection refused).
int UnusedPort();

}  // namespace brfed::kube::testing
