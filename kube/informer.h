// Informer: a list+watch cache of one resource in one cluster (optionally one namespace and
// label/field selector), calling back on every change.
//
//   Informer informer(k8s1, {.resource = kBackups, .ns = "tidb-cluster"},
//                     [&](const InformerEvent& e) { runtime->Wake(KeyOf(e.object)); });
//   informer.Start();
//   informer.WaitForSync(std::chrono::seconds(30));
//   std::optional<nlohmann::json> b = informer.Get("tidb-cluster", "fed-backup-1");
//
// It lists (paging), then watches from the list's resourceVersion with bookmarks, resuming
// from the last resourceVersion seen whenever a stream ends or breaks (reconnecting with
// jittered exponential backoff). A 410 (too old resourceVersion) relists and reports the
// difference against the cache as adds, updates and deletes, so no change is ever lost: every
// change either arrives on a resumed watch or shows up in the relist diff. An update is
// reported only when the resourceVersion changed, so duplicates after a resume are dropped.
// A full relist also happens every `relist_period` as a slow safety net.
//
// Threads: one, owned, started by Start() and joined by Stop() or the destructor. The handler
// runs on it, one event at a time, with no lock held; it must not call Stop() or destroy the
// Informer. All other methods are thread-safe. `client` must outlive the Informer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/resource.h"
#include "kube/stop_signal.h"

namespace brfed::kube {

enum class InformerEventType { kAdded, kUpdated, kDeleted };

struct InformerEvent {
  InformerEventType type;
  nlohmann::json object;      // the new state; for kDeleted the last known state
  nlohmann::json old_object;  // kUpdated: the previous state; otherwise null
};

struct InformerOptions {
  Resource resource;
  std::string ns;  // empty: all namespaces
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{30000};
  // Each watch asks the server to end it after a random time in [t, 2t).
  std::chrono::seconds watch_timeout{300};
  // A full relist this often (0: never) as a safety net.
  std::chrono::milliseconds relist_period{std::chrono::minutes(10)};
};

class Informer {
 public:
  using Handler = std::function<void(const InformerEvent&)>;

  Informer(Client* client, InformerOptions options, Handler handler);
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;
  ~Informer();

  // Starts the list+watch thread. REQUIRES: called at most once.
  void Start();
  // Stops and joins the thread. Idempotent. Not from the handler.
  void Stop();

  // True once the first list has been applied (and its events delivered).
  bool HasSynced() const;
  // Waits for HasSynced(); false on timeout or stop.
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  std::optional<nlohmann::json> Get(std::string_view ns, std::string_view name) const;
  std::vector<nlohmann::json> List() const;
  // The resourceVersion the next watch resumes from.
  std::string resource_version() const;
  // Full lists done so far (the first one included). For tests and metrics.
  int64_t lists() const { return lists_.load(); }

  const std::string& cluster_name() const { return client_->cluster_name(); }

 private:
  void Run();
  Status ListAndReplace();
  bool OnWatchEvent(const WatchEvent& e);
  void Emit(const std::vector<InformerEvent>& events);
  std::chrono::milliseconds NextBackoff();

  Client* const client_;
  const InformerOptions options_;
  const Handler handler_;
  StopSignal stop_;
  std::thread thread_;
  std::atomic<int64_t> lists_{0};
  int backoff_attempt_ = 0;  // only the informer thread

  mutable std::mutex mu_;
  mutable std::condition_variable synced_cv_;
  std::map<std::string, nlohmann::json, std::less<>> cache_;  // GUARDED_BY(mu_); key ns/name
  std::string resource_version_;                              // GUARDED_BY(mu_)
  bool synced_ = false;                                       // GUARDED_BY(mu_)
  bool stopping_ = false;                                     // GUARDED_BY(mu_)
};

}  // namespace brfed::kube
