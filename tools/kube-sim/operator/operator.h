// DataPlaneOperator: the simulated tidb-operator of one data-plane cluster of kube-sim. It
// watches Backup, Restore and TidbCluster objects in the cluster's Store (in-process
// subscriptions, no polling) and drives them through FEDERATION_PROTOCOL §11 with the pure
// reconcilers of backup_logic.h, restore_logic.h and tidbcluster_logic.h.
//
//   SimCloud cloud;                                   // shared by all data planes
//   DataPlaneOperator op(store, &cloud, {.data_plane = "k8s-1"});
//   op.Start();
//   op.AddFault({.step = "execute"});                 // members fail at execute
//   ...
//   op.Stop();
//
// One worker thread per operator consumes a queue of object keys fed by store events and by a
// timer set (phase delays, the initialize job's deadline): it sleeps when there is nothing to
// do. Writes are whole-object updates with resourceVersion preconditions; a conflict re-reads
// and reconciles again. The jobs' state (BackupRuntime/RestoreRuntime) lives in memory, keyed
// by namespace/name and reset when the uid changes.
//
// Thread-safety: the public methods may be called from any thread. `store` and `cloud` must
// outlive the operator.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "brfed/status.h"
#include "tools/kube-sim/operator/backup_logic.h"
#include "tools/kube-sim/operator/options.h"
#include "tools/kube-sim/operator/restore_logic.h"
#include "tools/kube-sim/operator/sim_cloud.h"
#include "tools/kube-sim/simulator.h"
#include "tools/kube-sim/store.h"

namespace brfed::kubesim::op {

// The resource types the operator serves.
const ResourceKey& BackupsResource();
const ResourceKey& RestoresResource();
const ResourceKey& TidbClustersResource();

class DataPlaneOperator final : public Controller {
 public:
  struct Options {
    std::string data_plane;
    OperatorOptions behaviour;
  };

  DataPlaneOperator(Store* store, SimCloud* cloud, Options options);
  ~DataPlaneOperator() override;
  DataPlaneOperator(const DataPlaneOperator&) = delete;
  DataPlaneOperator& operator=(const DataPlaneOperator&) = delete;

  // Subscribes, queues every existing object and starts the worker. Call once.
  void Start();
  // Stops the worker and unsubscribes. Idempotent.
  void Stop() override;

  const std::string& data_plane() const { return data_plane_; }
  OperatorOptions options() const;
  // Merges a config mapping (options.h) into the options; kInvalidArgument leaves them as
  // they were.
  Status MergeOptions(const nlohmann::json& config);
  void AddFault(Fault fault);
  void ClearFaults();
  std::vector<Fault> faults() const;
  // {"dataPlane", "options", "faults", "backups": {ns/name: job states}, "restores": {...}}
  nlohmann::json StateJson() const;

 private:
  enum class Kind { kBackup, kRestore, kTidbCluster };
  struct Key {
    Kind kind;
    std::string ns;
    std::string name;
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  template <typename Runtime>
  struct Entry {
    std::string uid;
    Runtime runtime;
  };

  void OnEvent(Kind kind, const WatchEvent& event);
  void Enqueue(const Key& key);
  void AddTimer(TimePoint at, const Key& key);
  void Loop();
  void Process(const Key& key);
  void ProcessTidbCluster(const Key& key);
  template <typename Runtime>
  void ProcessMember(const Key& key, const ResourceKey& resource,
                     std::map<std::pair<std::string, std::string>, Entry<Runtime>>& entries);
  // Applies effects and writes; true when the decision was committed.
  template <typename Runtime>
  bool Commit(const Key& key, const ResourceKey& resource, const nlohmann::json& current,
              const nlohmann::json* tc, Decision<Runtime>& d);
  void ApplyEffects(const std::vector<Effect>& effects);
  void CountDownFault(const std::string& step);

  Store* const store_;
  SimCloud* const cloud_;
  const std::string data_plane_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  OperatorOptions options_;                     // GUARDED_BY(mu_)
  std::vector<Fault> faults_;                   // GUARDED_BY(mu_)
  std::vector<Key> queue_;                      // GUARDED_BY(mu_)
  std::set<Key> queued_;                        // GUARDED_BY(mu_)
  std::set<std::pair<TimePoint, Key>> timers_;  // GUARDED_BY(mu_)
  std::map<Key, TimePoint> timer_of_;           // GUARDED_BY(mu_)
  bool stopping_ = false;                       // GUARDED_BY(mu_)
  nlohmann::json state_json_;                   // GUARDED_BY(mu_): job states for StateJson

  // Worker-thread only.
  std::map<std::pair<std::string, std::string>, Entry<BackupRuntime>> backups_;
  std::map<std::pair<std::string, std::string>, Entry<RestoreRuntime>> restores_;

  std::vector<std::unique_ptr<Store::Subscription>> subscriptions_;
  std::thread worker_;
  bool started_ = false;
};

}  // namespace brfed::kubesim::op
