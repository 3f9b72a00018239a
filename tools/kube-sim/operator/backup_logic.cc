#include "tools/kube-sim/operator/backup_logic.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "tools/kube-sim/store.h"

namespace brfed::kubesim::op {
namespace {

using Init = BackupRuntime::InitJob;
using Exec = BackupRuntime::ExecJob;
using Clean = BackupRuntime::CleanJob;

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string Hex17(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0%016llx", static_cast<unsigned long long>(v));
  return buf;
}

bool ValidEndpoint(const std::string& endpoint) {
  size_t sep = endpoint.find("://");
  return sep != std::string::npos && sep > 0 && sep + 3 < endpoint.size() &&
         endpoint[sep + 3] != '/';
}

std::vector<std::string> StoreIds(const nlohmann::json& tc) {
  std::vector<std::string> ids;
  const nlohmann::json* stores = ValueAt(tc, "status.tikv.stores");
  if (stores == nullptr || !stores->is_object()) return ids;
  for (const auto& [id, store] : stores->items()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

std::string PauseHolder(const std::string& data_plane, const std::string& uid) {
  return data_plane + "/" + uid;
}

std::string LogicalCluster(const OperatorOptions& options, const nlohmann::json& tc) {
  if (!options.logical_cluster.empty()) return options.logical_cluster;
  return StringAt(tc, "metadata.namespace") + "/" + StringAt(tc, "metadata.name");
}

std::string VolumeId(const std::string& data_plane, const nlohmann::json& tc,
                     const std::string& store_id) {
  return "vol-" + Hex17(Fnv1a(data_plane + "/" + StringAt(tc, "metadata.namespace") + "/" +
                              StringAt(tc, "metadata.name") + "/" + store_id));
}

std::string SnapshotId(const std::string& uid, const std::string& volume_id) {
  return "snap-" + Hex17(Fnv1a(uid + "/" + volume_id));
}

BackupReconciler::BackupReconciler(const ReconcileContext& ctx, const nlohmann::json& backup,
                                   BackupRuntime runtime)
    : ctx_(ctx), obj_(backup), rt_(d_.runtime) {
  rt_ = runtime;
  name_ = StringAt(obj_, "metadata.name");
  uid_ = StringAt(obj_, "metadata.uid");
  holder_ = PauseHolder(ctx_.data_plane, uid_);
}

bool BackupReconciler::Due(std::chrono::milliseconds delay) {
  TimePoint at = rt_.last_step + delay;
  if (ctx_.now >= at) return true;
  d_.WakeAt(at);
  return false;
}

bool BackupReconciler::Write(const Condition& c) {
  WriteBackupCondition(obj_, c, ctx_.now);
  d_.object = obj_;
  rt_.last_step = ctx_.now;
  return true;
}

bool BackupReconciler::WriteFault(const Fault& fault, const char* default_type,
                                  const char* reason) {
  d_.fault_fired = fault.step;
  std::string type = fault.condition.empty() ? default_type : fault.condition;
  // A member that fails lets its initialize job go in the same write, as the next reconcile
  // would: no moment shows it failed while it still holds GC and PD scheduling paused.
  if (type == "Failed" || type == "Invalid" || type == "VolumeBackupFailed") ReleaseInit();
  return Write(Condition(type, type == "Invalid" ? "InvalidSpec" : reason,
                         "kube-sim: fault injected at " + fault.step));
}

bool BackupReconciler::InitActive() const {
  return rt_.init == Init::kScheduled || rt_.init == Init::kRunning || rt_.init == Init::kHolding;
}

void BackupReconciler::ReleaseInit() {
  if (!InitActive()) return;
  d_.effects.push_back(Effect::Resume(holder_));
  rt_.init = Init::kReleased;
  d_.runtime_changed = true;
}

std::string BackupReconciler::Validate() const {
  if (StringAt(obj_, "spec.br.cluster").empty()) return "missing cluster config in spec.br";
  std::string type = StringAt(obj_, "spec.backupType");
  if (!type.empty() && type != "full" && type != "db" && type != "table") {
    return "invalid backup type " + type;
  }
  const nlohmann::json& spec = obj_["spec"];
  if (ValueAt(spec, "s3") == nullptr) return "kube-sim supports volume-snapshot backups to s3 only";
  if (StringAt(spec, "s3.bucket").empty()) return "bucket should be configured for s3 storage";
  std::string endpoint = StringAt(spec, "s3.endpoint");
  if (!endpoint.empty() && !ValidEndpoint(endpoint)) return "invalid s3 endpoint " + endpoint;
  return "";
}

std::string BackupReconciler::ValidateTc() const {
  const nlohmann::json& tc = *ctx_.tc;
  if (!BoolAt(tc, "spec.acrossK8s"))
    return "only support volume snapshot backup across k8s clusters";
  const nlohmann::json* replicas = ValueAt(tc, "spec.tikv.replicas");
  if (replicas == nullptr || !replicas->is_number_integer() || replicas->get<int64_t>() <= 0 ||
      StoreIds(tc).empty()) {
    return "no tikv stores in tidbcluster " + StringAt(tc, "metadata.name");
  }
  return "";
}

Decision<BackupRuntime> BackupReconciler::Run() {
  if (StringAt(obj_, "spec.backupMode") != "volume-snapshot") return std::move(d_);
  if (ValueAt(obj_, "metadata.deletionTimestamp") != nullptr) {
    Deletion();
    return std::move(d_);
  }
  std::string policy = StringAt(obj_, "spec.cleanPolicy");
  nlohmann::json& finalizers = obj_["metadata"]["finalizers"];
  if (!finalizers.is_array()) finalizers = nlohmann::json::array();
  bool has_finalizer =
      std::find(finalizers.begin(), finalizers.end(), kBackupFinalizer) != finalizers.end();
  if ((policy == "Delete" || policy == "OnFailure") && !has_finalizer) {
    finalizers.push_back(kBackupFinalizer);
    d_.object = obj_;
    return std::move(d_);
  }
  if (finalizers.empty()) obj_["metadata"].erase("finalizers");

  if (Has("Invalid") || Has("Complete") || Has("Failed") || Has("VolumeBackupFailed")) {
    ReleaseInit();  // a failed member's initialize job is deleted, so GC resumes
    if (Has("Invalid") || Has("Complete") || Has("Failed")) return std::move(d_);
  }
  if (std::string err = Validate(); !err.empty()) {
    ReleaseInit();
    Write(Condition("Invalid", "InvalidSpec", err));
    return std::move(d_);
  }
  if (ctx_.tc == nullptr) {
    Write(Condition("RetryFailed", "TidbClusterNotFound",
                    "tidbcluster " + StringAt(obj_, "spec.br.cluster") + " not found"));
    d_.WakeAt(ctx_.now + ctx_.options->retry_failed_delay);
    return std::move(d_);
  }
  if (std::string err = ValidateTc(); !err.empty()) {
    ReleaseInit();
    Write(Condition("Invalid", "InvalidSpec", err));
    return std::move(d_);
  }
  if (Watchdog() || ResumeGc()) return std::move(d_);
  std::string phase = StringAt(obj_, "spec.federalVolumeBackupPhase");
  if (phase == "initialize") {
    InitProgress();
  } else if (phase == "execute") {
    ExecProgress(/*in_execute=*/true);
  } else if (phase == "teardown") {
    if (ExecActive()) {
      ExecProgress(/*in_execute=*/false);
    } else {
      Teardown();
    }
  }
  return std::move(d_);
}

bool BackupReconciler::Watchdog() {
  std::string phase = StringAt(obj_, "spec.federalVolumeBackupPhase");
  bool watched = phase != "teardown" && (phase == "initialize" || Has("VolumeBackupInitialized")) &&
                 !(Has("VolumeBackupSnapshotsCreated") && BoolAt(obj_, "spec.resumeGcSchedule")) &&
                 Has("Scheduled") && !Has("VolumeBackupInitializeFailed");
  if (!watched) return false;
  const char* reason = nullptr;
  switch (rt_.init) {
    case Init::kNone:
    case Init::kReleased:
      reason = "InitializeJobDeleted";
      break;
    case Init::kEnded:
      reason = "InitializeJobCompletedOrFailed";
      break;
    default:
      if (ctx_.now < rt_.init_deadline) {
        d_.WakeAt(rt_.init_deadline);
        return false;
      }
      ReleaseInit();
      rt_.init = Init::kEnded;
      reason = "InitializeJobCompletedOrFailed";
  }
  return Write(Condition("VolumeBackupInitializeFailed", reason,
                         std::string("initialize job of ") + name_ + ": " + reason));
}

bool BackupReconciler::ResumeGc() {
  if (!BoolAt(obj_, "spec.resumeGcSchedule") || !Has("VolumeBackupSnapshotsCreated") ||
      Has("VolumeBackupInitializeFailed") || Has("VolumeBackupInitializeComplete")) {
    return false;
  }
  if (!Due(ctx_.options->Delay("resume-gc"))) return false;
  ReleaseInit();
  return Write(Condition("VolumeBackupInitializeComplete"));
}

bool BackupReconciler::InitProgress() {
  switch (rt_.init) {
    case Init::kNone: {
      if (!DueStep()) return false;
      int64_t deadline_s = 600;
      const nlohmann::json* v = ValueAt(obj_, "spec.volumeBackupInitJobMaxActiveSeconds");
      if (v != nullptr && v->is_number_integer()) deadline_s = v->get<int64_t>();
      rt_.init = Init::kScheduled;
      rt_.init_deadline = ctx_.now + std::chrono::seconds(deadline_s);
      return Write(Condition("Scheduled"));
    }
    case Init::kScheduled:
      if (!DueStep()) return false;
      rt_.init = Init::kRunning;
      SetTimeStarted();
      return Write(Condition("Running"));
    case Init::kRunning:
      if (!Due(ctx_.options->Delay("initialize"))) return false;
      if (const Fault* f = ctx_.FaultAt("initialize", name_)) {
        rt_.init = Init::kEnded;
        return WriteFault(*f, "VolumeBackupInitializeFailed", "InitializeVolumeBackupFailed");
      }
      d_.effects.push_back(Effect::Pause(LogicalCluster(*ctx_.options, *ctx_.tc), holder_));
      rt_.init = Init::kHolding;
      return Write(Condition("VolumeBackupInitialized"));
    default:
      return false;
  }
}

bool BackupReconciler::ExecActive() const {
  return rt_.exec != Exec::kNone && rt_.exec != Exec::kDone && rt_.exec != Exec::kFailed &&
         rt_.exec != Exec::kKilled;
}

bool BackupReconciler::ExecProgress(bool in_execute) {
  std::string path = S3Path(obj_["spec"]);
  switch (rt_.exec) {
    case Exec::kNone: {
      if (!in_execute || !DueStep()) return false;
      if (ctx_.storage->Exists(path + "/clustermeta")) {
        rt_.exec = Exec::kFailed;
        return Write(Condition("Failed", "FileExistedInExternalStorage",
                               path + "/clustermeta already exists"));
      }
      nlohmann::json clustermeta = {{"dataPlane", ctx_.data_plane}, {"backup", name_}};
      d_.effects.push_back(Effect::PutObject(path + "/clustermeta", clustermeta.dump()));
      rt_.exec = Exec::kScheduled;
      return Write(Condition("Scheduled"));
    }
    case Exec::kScheduled:
      if (!DueStep()) return false;
      obj_["status"]["backupPath"] = path;
      rt_.exec = Exec::kPrepared;
      return Write(Condition("Prepare"));
    case Exec::kPrepared:
      if (!DueStep()) return false;
      SetTimeStarted();
      rt_.exec = Exec::kRunning;
      return Write(Condition("Running"));
    case Exec::kRunning:
      if (!Due(ctx_.options->Delay("execute"))) return false;
      if (const Fault* f = ctx_.FaultAt("execute", name_)) {
        rt_.exec = Exec::kFailed;
        return WriteFault(*f, "VolumeBackupFailed", "BackupDataToRemoteFailed");
      }
      return TakeSnapshots(in_execute);
    case Exec::kSnapshotsTaken:
      if (!Due(ctx_.options->Delay("snapshot-copy"))) return false;
      if (const Fault* f = ctx_.FaultAt("snapshot-copy", name_)) {
        rt_.exec = Exec::kFailed;
        return WriteFault(*f, "VolumeBackupFailed", "BackupDataToRemoteFailed");
      }
      obj_["status"]["commitTs"] = std::to_string(rt_.resolved_ts);
      rt_.exec = Exec::kCommitted;
      rt_.last_step = ctx_.now;
      d_.object = obj_;
      return true;
    case Exec::kCommitted:
      if (!DueStep()) return false;
      obj_["status"]["timeCompleted"] = FormatTime(ctx_.now);
      rt_.exec = Exec::kSucceeded;
      return Write(Condition("VolumeBackupComplete"));
    case Exec::kSucceeded:
      SetSizes();
      rt_.exec = Exec::kDone;
      d_.object = obj_;
      return true;
    default:
      return false;
  }
}

bool BackupReconciler::TakeSnapshots(bool in_execute) {
  const nlohmann::json& tc = *ctx_.tc;
  std::string path = S3Path(obj_["spec"]);
  std::vector<EbsSnapshot> snapshots;
  nlohmann::json meta_snapshots = nlohmann::json::array();
  for (const std::string& store : StoreIds(tc)) {
    std::string volume = VolumeId(ctx_.data_plane, tc, store);
    int64_t used = ctx_.options->volume_size_bytes / 100 *
                   static_cast<int64_t>(40 + Fnv1a(uid_ + volume) % 40);
    EbsSnapshot s;
    s.id = SnapshotId(uid_, volume);
    s.data_plane = ctx_.data_plane;
    s.volume_id = volume;
    s.size_bytes = used;
    s.created = ctx_.now;
    s.tags = {{"brfed.sim/data-plane", ctx_.data_plane},
              {"brfed.sim/backup", StringAt(obj_, "metadata.namespace") + "/" + name_},
              {"brfed.sim/backup-uid", uid_},
              {"brfed.sim/backup-path", path},
              {"brfed.sim/tidb-cluster", LogicalCluster(*ctx_.options, tc)},
              {"brfed.sim/tikv-store", store},
              {"brfed.sim/volume", volume}};
    meta_snapshots.push_back(
        {{"id", s.id}, {"volumeId", volume}, {"storeId", store}, {"sizeBytes", used}});
    snapshots.push_back(std::move(s));
  }
  rt_.resolved_ts = ctx_.tso;
  nlohmann::json meta = {{"resolvedTs", std::to_string(ctx_.tso)},
                         {"dataPlane", ctx_.data_plane},
                         {"tikvVolumes", meta_snapshots.size()},
                         {"snapshots", meta_snapshots}};
  d_.effects.push_back(Effect::CreateSnapshots(std::move(snapshots)));
  d_.effects.push_back(Effect::PutObject(path + "/backupmeta", meta.dump()));
  rt_.exec = Exec::kSnapshotsTaken;
  if (in_execute && !Has("VolumeBackupInitializeFailed")) {
    return Write(Condition("VolumeBackupSnapshotsCreated"));
  }
  rt_.last_step = ctx_.now;
  d_.runtime_changed = true;
  return true;
}

bool BackupReconciler::Teardown() {
  if (!Has("VolumeBackupInitializeComplete")) ReleaseInit();
  if (!Due(ctx_.options->Delay("teardown"))) return d_.runtime_changed;
  bool failed =
      Has("VolumeBackupInitializeFailed") || Has("VolumeBackupFailed") || rt_.init == Init::kEnded;
  if (const Fault* f = ctx_.FaultAt("teardown", name_)) {
    return WriteFault(*f, "Failed", "TeardownFailed");
  }
  if (failed) {
    return Write(Condition("Failed", "VolumeBackupFailed", "volume backup " + name_ + " failed"));
  }
  if (ValueAt(obj_, "status.timeCompleted") == nullptr) {
    obj_["status"]["timeCompleted"] = FormatTime(ctx_.now);
  }
  return Write(Condition("Complete"));
}

bool BackupReconciler::Deletion() {
  ReleaseInit();
  if (ExecActive()) {
    rt_.exec = Exec::kKilled;
    d_.runtime_changed = true;
  }
  nlohmann::json& finalizers = obj_["metadata"]["finalizers"];
  if (!finalizers.is_array()) return false;
  auto it = std::find(finalizers.begin(), finalizers.end(), kBackupFinalizer);
  if (it == finalizers.end()) return false;
  std::string policy = StringAt(obj_, "spec.cleanPolicy");
  bool need_clean = policy == "Delete" || (policy == "OnFailure" && Has("Failed"));
  if (!need_clean || Has("Clean")) {
    finalizers.erase(it);
    d_.object = obj_;
    return true;
  }
  if (rt_.clean == Clean::kFailed) {
    if (ctx_.FaultAt("clean", name_) != nullptr) return false;
    rt_.clean = Clean::kNone;  // the fault was cleared: the failed clean job is replaced
    d_.runtime_changed = true;
  }
  std::string path = StringAt(obj_, "status.backupPath");
  if (path.empty()) return Write(Condition("Clean"));
  switch (rt_.clean) {
    case Clean::kNone:
      if (!DueStep()) return d_.runtime_changed;
      rt_.clean = Clean::kRunning;
      return Write(Condition::False("Clean"));
    case Clean::kRunning:
      if (!Due(ctx_.options->Delay("clean"))) return d_.runtime_changed;
      if (const Fault* f = ctx_.FaultAt("clean", name_)) {
        rt_.clean = Clean::kFailed;
        d_.fault_fired = f->step;
        return Write(
            Condition("CleanFailed", "CleanBackupDataFailed", "kube-sim: fault injected at clean"));
      }
      d_.effects.push_back(Effect::CleanBackupData(path));
      rt_.clean = Clean::kSucceeded;
      return Write(Condition("Clean"));
    default:
      return d_.runtime_changed;
  }
}

void BackupReconciler::SetTimeStarted() {
  if (ValueAt(obj_, "status.timeStarted") == nullptr) {
    obj_["status"]["timeStarted"] = FormatTime(ctx_.now);
  }
}

void BackupReconciler::SetSizes() {
  int64_t total = 0;
  std::optional<std::string> meta =
      ctx_.storage->Get(StringAt(obj_, "status.backupPath") + "/backupmeta");
  if (meta) {
    nlohmann::json m = nlohmann::json::parse(*meta, nullptr, /*allow_exceptions=*/false);
    if (m.is_object() && m["snapshots"].is_array()) {
      for (const nlohmann::json& s : m["snapshots"]) total += s.value("sizeBytes", int64_t{0});
    }
  }
  nlohmann::json& status = obj_["status"];
  status["backupSize"] = total;
  status["backupSizeReadable"] = ReadableSize(total);
  status["incrementalBackupSize"] = total / 4;
  status["incrementalBackupSizeReadable"] = ReadableSize(total / 4);
  status["timeCompleted"] = FormatTime(ctx_.now);
  auto started = ParseTime(StringAt(obj_, "status.timeStarted"));
  if (started) {
    status["timeTaken"] =
        GoDurationText(std::chrono::duration_cast<std::chrono::seconds>(ctx_.now - *started));
  }
}

}  // namespace brfed::kubesim::op
