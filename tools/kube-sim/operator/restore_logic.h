// RestoreReconciler: the simulated tidb-operator's handling of one `Restore` with
// `restoreMode: volume-snapshot` (FEDERATION_PROTOCOL §11.2): restore-volume (volumes from the
// snapshots listed in the backup's `backupmeta`, then TiKV start and warm-up by mode),
// restore-data, restore-finish (TiKV restart, the tc leaves recovery mode).
//
//   RestoreReconciler r(ctx, restore, runtime);
//   Decision<RestoreRuntime> d = r.Run();   // maybe a TidbCluster write, maybe an object write
//
// Like BackupReconciler: pure, one condition write per call. Not thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "tools/kube-sim/operator/conditions.h"
#include "tools/kube-sim/operator/decision.h"

namespace brfed::kubesim::op {

struct RestoreRuntime {
  enum class Volume { kNone, kScheduled, kRunning, kResolved, kComplete, kFailed };
  // kStarted: for tikv the tc is annotated; for finish the tc left recovery mode.
  enum class Step { kNone, kStarted, kComplete };

  Volume volume = Volume::kNone;
  Step tikv = Step::kNone;
  Step warmup = Step::kNone;
  Step data = Step::kNone;
  Step finish = Step::kNone;
  TimePoint last_step{};
  TimePoint tikv_started{};
  TimePoint warmup_started{};
};

inline constexpr char kTikvVolumesReadyAnnotation[] = "tidb.pingcap.com/tikv-volumes-ready";

class RestoreReconciler {
 public:
  RestoreReconciler(const ReconcileContext& ctx, const nlohmann::json& restore,
                    RestoreRuntime runtime);
  Decision<RestoreRuntime> Run();

 private:
  enum class Progress { kActed, kWaiting, kDone };
  using Step = RestoreRuntime::Step;

  bool Has(const char* type) const { return HasCondition(obj_, type); }
  bool Due(std::chrono::milliseconds delay);
  bool DueStep() { return Due(ctx_.options->step_delay); }
  Progress Write(const Condition& c);
  Progress WriteFault(const Fault& fault, const char* reason);
  // Checks of the spec alone, then of the referenced TidbCluster: "" or the Invalid message.
  std::string Validate() const;
  std::string ValidateTc() const;

  Progress VolumeProgress();
  Progress WarmUpAndTikv();
  Progress TikvStart();
  Progress TikvReady();
  Progress AsyncWarmUpEnd();
  Progress DataProgress();
  Progress FinishProgress();
  void Complete();

  const ReconcileContext& ctx_;
  nlohmann::json obj_;
  std::string name_;
  Decision<RestoreRuntime> d_;
  RestoreRuntime& rt_;
};

}  // namespace brfed::kubesim::op
