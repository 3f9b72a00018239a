#include "tools/kube-sim/operator/restore_logic.h"

#include <optional>
#include <utility>

#include "tools/kube-sim/store.h"

namespace brfed::kubesim::op {
namespace {

using Volume = RestoreRuntime::Volume;

bool ValidEndpoint(const std::string& endpoint) {
  size_t sep = endpoint.find("://");
  return sep != std::string::npos && sep > 0 && sep + 3 < endpoint.size() &&
         endpoint[sep + 3] != '/';
}

size_t StoreCount(const nlohmann::json& tc) {
  const nlohmann::json* stores = ValueAt(tc, "status.tikv.stores");
  return stores != nullptr && stores->is_object() ? stores->size() : 0;
}

}  // namespace

RestoreReconciler::RestoreReconciler(const ReconcileContext& ctx, const nlohmann::json& restore,
                                     RestoreRuntime runtime)
    : ctx_(ctx), obj_(restore), rt_(d_.runtime) {
  rt_ = runtime;
  name_ = StringAt(obj_, "metadata.name");
}

bool RestoreReconciler::Due(std::chrono::milliseconds delay) {
  TimePoint at = rt_.last_step + delay;
  if (ctx_.now >= at) return true;
  d_.WakeAt(at);
  return false;
}

RestoreReconciler::Progress RestoreReconciler::Write(const Condition& c) {
  WriteRestoreCondition(obj_, c, ctx_.now);
  d_.object = obj_;
  rt_.last_step = ctx_.now;
  return Progress::kActed;
}

RestoreReconciler::Progress RestoreReconciler::WriteFault(const Fault& fault, const char* reason) {
  d_.fault_fired = fault.step;
  std::string type = fault.condition == "Invalid" ? "Invalid" : "Failed";
  if (type == "Failed") {
    obj_["status"]["timeCompleted"] = FormatTime(ctx_.now);
  }
  return Write(Condition(type, type == "Invalid" ? "InvalidSpec" : reason,
                         "kube-sim: fault injected at " + fault.step));
}

std::string RestoreReconciler::Validate() const {
  if (StringAt(obj_, "spec.br.cluster").empty()) return "missing cluster config in spec.br";
  std::string type = StringAt(obj_, "spec.backupType");
  if (!type.empty() && type != "full" && type != "db" && type != "table") {
    return "invalid backup type " + type;
  }
  const nlohmann::json& spec = obj_["spec"];
  if (ValueAt(spec, "s3") == nullptr)
    return "kube-sim supports volume-snapshot restores from s3 only";
  if (StringAt(spec, "s3.bucket").empty()) return "bucket should be configured for s3 storage";
  std::string endpoint = StringAt(spec, "s3.endpoint");
  if (!endpoint.empty() && !ValidEndpoint(endpoint)) return "invalid s3 endpoint " + endpoint;
  return "";
}

std::string RestoreReconciler::ValidateTc() const {
  const nlohmann::json& tc = *ctx_.tc;
  if (!BoolAt(tc, "spec.acrossK8s"))
    return "only support volume snapshot restore across k8s clusters";
  if (StringAt(obj_, "spec.federalVolumeRestorePhase") != "restore-finish" &&
      !BoolAt(tc, "spec.recoveryMode")) {
    return "recovery mode is off";
  }
  return "";
}

Decision<RestoreRuntime> RestoreReconciler::Run() {
  if (StringAt(obj_, "spec.restoreMode") != "volume-snapshot") return std::move(d_);
  if (ValueAt(obj_, "metadata.deletionTimestamp") != nullptr) return std::move(d_);
  if (Has("Failed")) {
    // Volumes created before the failure are deleted by the controller.
    if (rt_.volume == Volume::kFailed && !Has("CleanVolumeComplete")) {
      Write(Condition("CleanVolumeComplete"));
    }
    return std::move(d_);
  }
  if (Has("Invalid")) return std::move(d_);
  if (Has("Complete")) {
    AsyncWarmUpEnd();  // async warm-up may finish after Complete
    return std::move(d_);
  }
  if (std::string err = Validate(); !err.empty()) {
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
    Write(Condition("Invalid", "InvalidSpec", err));
    return std::move(d_);
  }
  if (VolumeProgress() != Progress::kDone) return std::move(d_);
  if (WarmUpAndTikv() != Progress::kDone) return std::move(d_);
  std::string phase = StringAt(obj_, "spec.federalVolumeRestorePhase");
  if (phase == "restore-data") {
    DataProgress();
  } else if (phase == "restore-finish") {
    FinishProgress();
  }
  return std::move(d_);
}

RestoreReconciler::Progress RestoreReconciler::VolumeProgress() {
  std::string path = S3Path(obj_["spec"]);
  switch (rt_.volume) {
    case Volume::kNone: {
      if (!DueStep()) return Progress::kWaiting;
      std::optional<std::string> meta_text = ctx_.storage->Get(path + "/backupmeta");
      nlohmann::json meta =
          meta_text ? nlohmann::json::parse(*meta_text, nullptr, false) : nlohmann::json();
      if (!meta.is_object()) {
        rt_.volume = Volume::kFailed;
        obj_["status"]["timeCompleted"] = FormatTime(ctx_.now);
        return Write(
            Condition("Failed", "RestoreDataFromRemoteFailed", "backupmeta not found at " + path));
      }
      size_t volumes = meta.value("tikvVolumes", size_t{0});
      if (volumes != StoreCount(*ctx_.tc)) {
        return Write(Condition("Invalid", "InvalidSpec",
                               "backup has " + std::to_string(volumes) +
                                   " tikv volumes, tidbcluster has " +
                                   std::to_string(StoreCount(*ctx_.tc))));
      }
      rt_.volume = Volume::kScheduled;
      if (!Has("Scheduled")) return Write(Condition("Scheduled"));
      rt_.last_step = ctx_.now;
      d_.runtime_changed = true;
      return Progress::kActed;
    }
    case Volume::kScheduled:
      if (!DueStep()) return Progress::kWaiting;
      if (ValueAt(obj_, "status.timeStarted") == nullptr) {
        obj_["status"]["timeStarted"] = FormatTime(ctx_.now);
      }
      rt_.volume = Volume::kRunning;
      return Write(Condition("Running"));
    case Volume::kRunning: {
      if (!Due(ctx_.options->Delay("restore-volume"))) return Progress::kWaiting;
      if (const Fault* f = ctx_.FaultAt("restore-volume", name_)) {
        rt_.volume = Volume::kFailed;
        return WriteFault(*f, "RestoreDataFromRemoteFailed");
      }
      // BR's success line: this zone's resolved ts (read from backupmeta above).
      std::optional<std::string> meta_text = ctx_.storage->Get(path + "/backupmeta");
      nlohmann::json meta =
          meta_text ? nlohmann::json::parse(*meta_text, nullptr, false) : nlohmann::json::object();
      if (meta.is_object()) obj_["status"]["commitTs"] = meta.value("resolvedTs", std::string());
      nlohmann::json restoremeta = {{"restore", name_}, {"dataPlane", ctx_.data_plane}};
      d_.effects.push_back(Effect::PutObject(path + "/restoremeta", restoremeta.dump()));
      rt_.volume = Volume::kResolved;
      rt_.last_step = ctx_.now;
      d_.object = obj_;
      return Progress::kActed;
    }
    case Volume::kResolved:
      if (!DueStep()) return Progress::kWaiting;
      rt_.volume = Volume::kComplete;
      return Write(Condition("VolumeComplete"));
    case Volume::kComplete:
      return Progress::kDone;
    default:
      return Progress::kWaiting;
  }
}

RestoreReconciler::Progress RestoreReconciler::WarmUpAndTikv() {
  std::string mode = StringAt(obj_, "spec.warmup");
  bool wal_only = StringAt(obj_, "spec.warmupStrategy") == "check-wal-only";
  if (mode.empty()) {
    if (rt_.tikv == Step::kNone) return TikvStart();
    return TikvReady();
  }
  if (mode == "sync") {
    if (StringAt(obj_, "spec.warmupImage").empty()) {
      Write(Condition("RetryFailed", "NoWarmupImage", "warmupImage is empty"));
      d_.WakeAt(ctx_.now + ctx_.options->retry_failed_delay);
      return Progress::kWaiting;
    }
    if (rt_.warmup == Step::kNone) {
      if (!DueStep()) return Progress::kWaiting;
      rt_.warmup = Step::kStarted;
      rt_.warmup_started = ctx_.now;
      return Write(Condition("WarmUpStarted"));
    }
    if (rt_.warmup == Step::kStarted) {
      if (!Due(ctx_.options->Delay("warmup"))) return Progress::kWaiting;
      const Fault* f = ctx_.FaultAt("warmup", name_);
      if (f != nullptr && wal_only) return WriteFault(*f, "WarmUpFailed");
      if (f != nullptr) d_.fault_fired = f->step;  // a failed job still counts as finished
      rt_.warmup = Step::kComplete;
      return Write(Condition("WarmUpComplete"));
    }
    if (wal_only) {
      Complete();
      return Progress::kActed;
    }
    if (rt_.tikv == Step::kNone) return TikvStart();
    return TikvReady();
  }
  // async: TiKV first, warm-up alongside. With check-wal-only the tc is never annotated and
  // the data plane waits forever (FEDERATION_PROTOCOL §11.2.2).
  if (wal_only) return Progress::kWaiting;
  if (rt_.tikv == Step::kNone) return TikvStart();
  if (rt_.warmup == Step::kNone) {
    if (!DueStep()) return Progress::kWaiting;
    rt_.warmup = Step::kStarted;
    rt_.warmup_started = ctx_.now;
    return Write(Condition("WarmUpStarted"));
  }
  if (AsyncWarmUpEnd() == Progress::kActed) return Progress::kActed;
  return TikvReady();
}

RestoreReconciler::Progress RestoreReconciler::TikvStart() {
  if (!DueStep()) return Progress::kWaiting;
  nlohmann::json tc = *ctx_.tc;
  tc["metadata"]["annotations"][kTikvVolumesReadyAnnotation] =
      StringAt(obj_, "metadata.namespace") + "/" + name_;
  d_.tc = std::move(tc);
  rt_.tikv = Step::kStarted;
  rt_.tikv_started = ctx_.now;
  rt_.last_step = ctx_.now;
  d_.runtime_changed = true;
  return Progress::kActed;
}

RestoreReconciler::Progress RestoreReconciler::TikvReady() {
  if (rt_.tikv == Step::kComplete) return Progress::kDone;
  TimePoint at = rt_.tikv_started + ctx_.options->Delay("start-tikv");
  if (ctx_.now < at) {
    d_.WakeAt(at);
    return Progress::kWaiting;
  }
  if (const Fault* f = ctx_.FaultAt("start-tikv", name_)) {
    return WriteFault(*f, "StartTiKVFailed");
  }
  rt_.tikv = Step::kComplete;
  return Write(Condition("TikvComplete"));
}

RestoreReconciler::Progress RestoreReconciler::AsyncWarmUpEnd() {
  if (StringAt(obj_, "spec.warmup") != "async" || rt_.warmup != Step::kStarted) {
    return Progress::kDone;
  }
  TimePoint at = rt_.warmup_started + ctx_.options->Delay("warmup");
  if (ctx_.now < at) {
    d_.WakeAt(at);
    return Progress::kWaiting;
  }
  if (const Fault* f = ctx_.FaultAt("warmup", name_)) d_.fault_fired = f->step;
  rt_.warmup = Step::kComplete;
  return Write(Condition("WarmUpComplete"));
}

RestoreReconciler::Progress RestoreReconciler::DataProgress() {
  switch (rt_.data) {
    case Step::kNone:
      if (!DueStep()) return Progress::kWaiting;
      rt_.data = Step::kStarted;
      return Write(Condition("Running"));
    case Step::kStarted:
      if (!Due(ctx_.options->Delay("restore-data"))) return Progress::kWaiting;
      if (const Fault* f = ctx_.FaultAt("restore-data", name_)) {
        return WriteFault(*f, "RestoreDataFromRemoteFailed");
      }
      // The restored ts is this member's resolved ts: the manager picked the smallest.
      rt_.data = Step::kComplete;
      return Write(Condition("DataComplete"));
    default:
      return Progress::kDone;
  }
}

RestoreReconciler::Progress RestoreReconciler::FinishProgress() {
  if (rt_.finish == Step::kNone) {
    // Out of recovery mode already: nothing happens and the member never completes (§11.2.4).
    if (!BoolAt(*ctx_.tc, "spec.recoveryMode")) return Progress::kWaiting;
    if (!Due(ctx_.options->Delay("restore-finish"))) return Progress::kWaiting;
    if (const Fault* f = ctx_.FaultAt("restore-finish", name_)) {
      return WriteFault(*f, "RestartTiKVFailed");
    }
    nlohmann::json tc = *ctx_.tc;
    tc["spec"]["recoveryMode"] = false;
    if (tc["metadata"].contains("annotations") && tc["metadata"]["annotations"].is_object()) {
      tc["metadata"]["annotations"].erase(kTikvVolumesReadyAnnotation);
    }
    d_.tc = std::move(tc);
    rt_.finish = Step::kStarted;
    rt_.last_step = ctx_.now;
    d_.runtime_changed = true;
    return Progress::kActed;
  }
  if (rt_.finish == Step::kStarted) {
    Complete();
    return Progress::kActed;
  }
  return Progress::kDone;
}

void RestoreReconciler::Complete() {
  obj_["status"]["timeCompleted"] = FormatTime(ctx_.now);
  auto started = ParseTime(StringAt(obj_, "status.timeStarted"));
  if (started) {
    obj_["status"]["timeTaken"] =
        GoDurationText(std::chrono::duration_cast<std::chrono::seconds>(ctx_.now - *started));
  }
  rt_.finish = Step::kComplete;
  Write(Condition("Complete"));
}

}  // namespace brfed::kubesim::op
