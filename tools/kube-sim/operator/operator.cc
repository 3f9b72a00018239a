#include "tools/kube-sim/operator/operator.h"

#include <algorithm>
#include <optional>

#include "tools/kube-sim/operator/conditions.h"
#include "tools/kube-sim/operator/tidbcluster_logic.h"

namespace brfed::kubesim::op {
namespace {

nlohmann::json RuntimeJson(const BackupRuntime& rt) {
  static const char* kInit[] = {"none",          "scheduled", "running",
                                "holding-pause", "released",  "ended"};
  static const char* kExec[] = {"none",      "scheduled", "prepared", "running", "snapshots-taken",
                                "committed", "succeeded", "done",     "failed",  "killed"};
  static const char* kClean[] = {"none", "running", "succeeded", "failed"};
  return {{"initJob", kInit[static_cast<int>(rt.init)]},
          {"executeJob", kExec[static_cast<int>(rt.exec)]},
          {"cleanJob", kClean[static_cast<int>(rt.clean)]}};
}

nlohmann::json RuntimeJson(const RestoreRuntime& rt) {
  static const char* kVolume[] = {"none", "scheduled", "running", "resolved", "complete", "failed"};
  static const char* kStep[] = {"none", "started", "complete"};
  return {{"volume", kVolume[static_cast<int>(rt.volume)]},
          {"tikv", kStep[static_cast<int>(rt.tikv)]},
          {"warmup", kStep[static_cast<int>(rt.warmup)]},
          {"data", kStep[static_cast<int>(rt.data)]},
          {"finish", kStep[static_cast<int>(rt.finish)]}};
}

// Runs one pure reconciler.
Decision<BackupRuntime> RunReconciler(const ReconcileContext& ctx, const nlohmann::json& obj,
                                      const BackupRuntime& rt) {
  return BackupReconciler(ctx, obj, rt).Run();
}
Decision<RestoreRuntime> RunReconciler(const ReconcileContext& ctx, const nlohmann::json& obj,
                                       const RestoreRuntime& rt) {
  return RestoreReconciler(ctx, obj, rt).Run();
}

}  // namespace

const ResourceKey& BackupsResource() {
  static const ResourceKey kKey{"pingcap.com", "v1alpha1", "backups"};
  return kKey;
}
const ResourceKey& RestoresResource() {
  static const ResourceKey kKey{"pingcap.com", "v1alpha1", "restores"};
  return kKey;
}
const ResourceKey& TidbClustersResource() {
  static const ResourceKey kKey{"pingcap.com", "v1alpha1", "tidbclusters"};
  return kKey;
}

DataPlaneOperator::DataPlaneOperator(Store* store, SimCloud* cloud, Options options)
    : store_(store),
      cloud_(cloud),
      data_plane_(std::move(options.data_plane)),
      options_(std::move(options.behaviour)) {}

DataPlaneOperator::~DataPlaneOperator() { Stop(); }

void DataPlaneOperator::Start() {
  if (started_) return;
  started_ = true;
  subscriptions_.push_back(store_->Subscribe(
      BackupsResource(), [this](const WatchEvent& e) { OnEvent(Kind::kBackup, e); }));
  subscriptions_.push_back(store_->Subscribe(
      RestoresResource(), [this](const WatchEvent& e) { OnEvent(Kind::kRestore, e); }));
  subscriptions_.push_back(store_->Subscribe(
      TidbClustersResource(), [this](const WatchEvent& e) { OnEvent(Kind::kTidbCluster, e); }));
  // Clusters first, so members see their stores.
  for (auto [kind, resource] : {std::pair{Kind::kTidbCluster, &TidbClustersResource()},
                                std::pair{Kind::kBackup, &BackupsResource()},
                                std::pair{Kind::kRestore, &RestoresResource()}}) {
    Result<Store::ListResult> list = store_->List(*resource, "", {});
    if (!list.ok()) continue;  // the type is not registered: nothing to do yet
    for (const nlohmann::json& obj : list->items) {
      Enqueue({kind, StringAt(obj, "metadata.namespace"), StringAt(obj, "metadata.name")});
    }
  }
  worker_ = std::thread([this] { Loop(); });
}

void DataPlaneOperator::Stop() {
  subscriptions_.clear();  // waits for running callbacks; they only take mu_ briefly
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

OperatorOptions DataPlaneOperator::options() const {
  std::lock_guard<std::mutex> lock(mu_);
  return options_;
}

Status DataPlaneOperator::MergeOptions(const nlohmann::json& config) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(MergeOperatorOptions(config, &options_));
    // Shorter delays may make waiting members due now.
    for (const auto& [key, at] : timer_of_) {
      if (queued_.insert(key).second) queue_.push_back(key);
    }
    timers_.clear();
    timer_of_.clear();
  }
  cv_.notify_all();
  return Status::OK();
}

void DataPlaneOperator::AddFault(Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(std::move(fault));
}

void DataPlaneOperator::ClearFaults() {
  std::vector<Key> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.clear();
  }
  // A cleared clean fault lets stuck deletions retry: look at every member again.
  for (auto [kind, resource] : {std::pair{Kind::kBackup, &BackupsResource()},
                                std::pair{Kind::kRestore, &RestoresResource()}}) {
    Result<Store::ListResult> list = store_->List(*resource, "", {});
    if (!list.ok()) continue;
    for (const nlohmann::json& obj : list->items) {
      Enqueue({kind, StringAt(obj, "metadata.namespace"), StringAt(obj, "metadata.name")});
    }
  }
}

std::vector<Fault> DataPlaneOperator::faults() const {
  std::lock_guard<std::mutex> lock(mu_);
  return faults_;
}

nlohmann::json DataPlaneOperator::StateJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json faults = nlohmann::json::array();
  for (const Fault& f : faults_) faults.push_back(f.ToJson());
  nlohmann::json out = {{"dataPlane", data_plane_},
                        {"options", options_.ToJson()},
                        {"faults", faults},
                        {"backups", nlohmann::json::object()},
                        {"restores", nlohmann::json::object()}};
  for (const char* kind : {"backups", "restores"}) {
    if (state_json_.contains(kind)) out[kind] = state_json_[kind];
  }
  return out;
}

void DataPlaneOperator::OnEvent(Kind kind, const WatchEvent& event) {
  Enqueue({kind, StringAt(event.object, "metadata.namespace"),
           StringAt(event.object, "metadata.name")});
}

void DataPlaneOperator::Enqueue(const Key& key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!queued_.insert(key).second) return;
    queue_.push_back(key);
  }
  cv_.notify_all();
}

void DataPlaneOperator::AddTimer(TimePoint at, const Key& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = timer_of_.find(key);
  if (it != timer_of_.end()) {
    if (it->second <= at) return;
    timers_.erase({it->second, key});
  }
  timer_of_[key] = at;
  timers_.insert({at, key});
  cv_.notify_all();
}

void DataPlaneOperator::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    TimePoint now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      Key key = timers_.begin()->second;
      timers_.erase(timers_.begin());
      timer_of_.erase(key);
      if (queued_.insert(key).second) queue_.push_back(key);
    }
    if (queue_.empty()) {
      if (timers_.empty()) {
        cv_.wait(lock);
      } else {
        // A copy: wait_until reads the deadline while waiting, and MergeOptions clears
        // timers_ meanwhile.
        const TimePoint next = timers_.begin()->first;
        cv_.wait_until(lock, next);
      }
      continue;
    }
    Key key = queue_.front();
    queue_.erase(queue_.begin());
    queued_.erase(key);
    lock.unlock();
    Process(key);
    lock.lock();
  }
}

void DataPlaneOperator::Process(const Key& key) {
  switch (key.kind) {
    case Kind::kTidbCluster:
      ProcessTidbCluster(key);
      break;
    case Kind::kBackup:
      ProcessMember<BackupRuntime>(key, BackupsResource(), backups_);
      break;
    case Kind::kRestore:
      ProcessMember<RestoreRuntime>(key, RestoresResource(), restores_);
      break;
  }
}

void DataPlaneOperator::ProcessTidbCluster(const Key& key) {
  Result<nlohmann::json> tc = store_->Get(TidbClustersResource(), key.ns, key.name);
  if (tc.ok()) {
    if (std::optional<nlohmann::json> updated =
            ReconcileTidbCluster(*tc, data_plane_, Clock::now())) {
      Result<nlohmann::json> written =
          store_->Update(TidbClustersResource(), key.ns, key.name, *updated, {});
      if (!written.ok() && written.status().code() == StatusCode::kAborted) Enqueue(key);
    }
  }
  // Members referring to this cluster may now validate differently.
  for (auto [kind, resource] : {std::pair{Kind::kBackup, &BackupsResource()},
                                std::pair{Kind::kRestore, &RestoresResource()}}) {
    Result<Store::ListResult> list = store_->List(*resource, "", {});
    if (!list.ok()) continue;
    for (const nlohmann::json& obj : list->items) {
      std::string ns = StringAt(obj, "spec.br.clusterNamespace");
      if (ns.empty()) ns = StringAt(obj, "metadata.namespace");
      if (ns == key.ns && StringAt(obj, "spec.br.cluster") == key.name) {
        Enqueue({kind, StringAt(obj, "metadata.namespace"), StringAt(obj, "metadata.name")});
      }
    }
  }
}

template <typename Runtime>
void DataPlaneOperator::ProcessMember(
    const Key& key, const ResourceKey& resource,
    std::map<std::pair<std::string, std::string>, Entry<Runtime>>& entries) {
  auto id = std::make_pair(key.ns, key.name);
  const char* kind_name = key.kind == Kind::kBackup ? "backups" : "restores";
  Result<nlohmann::json> obj = store_->Get(resource, key.ns, key.name);
  auto it = entries.find(id);
  std::string uid = obj.ok() ? StringAt(*obj, "metadata.uid") : "";
  if (it != entries.end() && it->second.uid != uid) {
    // Deleted (or replaced): its jobs are garbage-collected, which ends an initialize job.
    cloud_->pd.Resume(PauseHolder(data_plane_, it->second.uid));
    entries.erase(it);
    std::lock_guard<std::mutex> lock(mu_);
    state_json_[kind_name].erase(key.ns + "/" + key.name);
  }
  if (!obj.ok()) return;
  Entry<Runtime>& entry = entries[id];
  entry.uid = uid;

  std::string tc_ns = StringAt(*obj, "spec.br.clusterNamespace");
  if (tc_ns.empty()) tc_ns = key.ns;
  std::string tc_name = StringAt(*obj, "spec.br.cluster");
  std::optional<nlohmann::json> tc;
  if (!tc_name.empty()) {
    Result<nlohmann::json> got = store_->Get(TidbClustersResource(), tc_ns, tc_name);
    if (got.ok() && ReconcileTidbCluster(*got, data_plane_, Clock::now())) {
      // A new cluster this operator has not looked at yet: report its stores first, so the
      // member is not judged on a status the operator is about to write.
      ProcessTidbCluster({Kind::kTidbCluster, tc_ns, tc_name});
      got = store_->Get(TidbClustersResource(), tc_ns, tc_name);
    }
    if (got.ok()) tc = std::move(*got);
  }
  OperatorOptions options;
  std::vector<Fault> faults;
  {
    std::lock_guard<std::mutex> lock(mu_);
    options = options_;
    faults = faults_;
  }
  ReconcileContext ctx;
  ctx.data_plane = data_plane_;
  ctx.now = Clock::now();
  ctx.tso = cloud_->pd.NextTso();
  ctx.options = &options;
  ctx.faults = &faults;
  ctx.storage = &cloud_->storage;
  ctx.tc = tc ? &*tc : nullptr;
  Decision<Runtime> d = RunReconciler(ctx, *obj, entry.runtime);
  if (Commit(key, resource, *obj, tc ? &*tc : nullptr, d)) {
    entry.runtime = d.runtime;
    std::lock_guard<std::mutex> lock(mu_);
    state_json_[kind_name][key.ns + "/" + key.name] = RuntimeJson(entry.runtime);
  }
}

template <typename Runtime>
bool DataPlaneOperator::Commit(const Key& key, const ResourceKey& resource,
                               const nlohmann::json& current, const nlohmann::json* tc,
                               Decision<Runtime>& d) {
  // A write that changes nothing is dropped, so an idempotent decision cannot spin.
  if (d.object && *d.object == current) d.object.reset();
  if (d.tc && tc != nullptr && *d.tc == *tc) d.tc.reset();
  ApplyEffects(d.effects);
  if (d.tc) {
    Result<nlohmann::json> w =
        store_->Update(TidbClustersResource(), StringAt(*d.tc, "metadata.namespace"),
                       StringAt(*d.tc, "metadata.name"), *d.tc, {});
    if (!w.ok()) {
      Enqueue(key);  // conflict or gone: read again
      return false;
    }
  }
  if (d.object) {
    Result<nlohmann::json> w = store_->Update(resource, key.ns, key.name, *d.object, {});
    if (!w.ok()) {
      Enqueue(key);  // conflict: read again; NotFound: the next pass releases the jobs
      return false;
    }
  }
  if (!d.fault_fired.empty()) CountDownFault(d.fault_fired);
  if (d.object || d.tc || d.runtime_changed || !d.effects.empty()) {
    Enqueue(key);
  } else if (d.wake_at) {
    AddTimer(*d.wake_at, key);
  }
  return true;
}

void DataPlaneOperator::ApplyEffects(const std::vector<Effect>& effects) {
  for (const Effect& e : effects) {
    switch (e.kind) {
      case Effect::Kind::kPause:
        cloud_->pd.Pause(e.cluster, e.holder);
        break;
      case Effect::Kind::kResume:
        cloud_->pd.Resume(e.holder);
        break;
      case Effect::Kind::kCreateSnapshots:
        for (const EbsSnapshot& s : e.snapshots) cloud_->ebs.Create(s);
        break;
      case Effect::Kind::kPutObject:
        cloud_->storage.Put(e.key, e.content);
        break;
      case Effect::Kind::kCleanBackupData: {
        std::optional<std::string> meta = cloud_->storage.Get(e.key + "/backupmeta");
        if (meta) {
          nlohmann::json m = nlohmann::json::parse(*meta, nullptr, /*allow_exceptions=*/false);
          if (m.is_object() && m.contains("snapshots") && m["snapshots"].is_array()) {
            for (const nlohmann::json& s : m["snapshots"]) {
              if (s.is_object()) cloud_->ebs.Delete(s.value("id", std::string()));
            }
          }
        }
        cloud_->storage.DeleteDir(e.key);
        break;
      }
    }
  }
}

void DataPlaneOperator::CountDownFault(const std::string& step) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Fault& f : faults_) {
    if (f.step == step && f.remaining != 0) {
      if (f.remaining > 0) --f.remaining;
      return;
    }
  }
}

}  // namespace brfed::kubesim::op
