// BackupReconciler: the simulated tidb-operator's handling of one `Backup` with
// `backupMode: volume-snapshot` (FEDERATION_PROTOCOL §11.1), as a pure function of the object,
// its TidbCluster, the member's job state (BackupRuntime) and the clock.
//
//   BackupReconciler r(ctx, backup, runtime);
//   Decision<BackupRuntime> d = r.Run();   // at most one object write, plus effects
//
// One call makes at most one condition write (so the documented condition orders are visible
// to watchers one by one); the driver calls again after each write, timer or change.
// Not thread-safe; cheap to construct.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "tools/kube-sim/operator/conditions.h"
#include "tools/kube-sim/operator/decision.h"

namespace brfed::kubesim::op {

// The data plane's jobs for one Backup, which the real operator keeps as Job objects.
struct BackupRuntime {
  enum class InitJob { kNone, kScheduled, kRunning, kHolding, kReleased, kEnded };
  enum class ExecJob {
    kNone,
    kScheduled,
    kPrepared,
    kRunning,
    kSnapshotsTaken,
    kCommitted,
    kSucceeded,
    kDone,
    kFailed,
    kKilled
  };
  enum class CleanJob { kNone, kRunning, kSucceeded, kFailed };

  InitJob init = InitJob::kNone;
  TimePoint init_deadline{};  // activeDeadlineSeconds of the initialize job
  ExecJob exec = ExecJob::kNone;
  CleanJob clean = CleanJob::kNone;
  TimePoint last_step{};  // time of the last write; step delays count from it
  uint64_t resolved_ts = 0;
};

// The PD pause holder of a member: "<data plane>/<uid>".
std::string PauseHolder(const std::string& data_plane, const std::string& uid);
// The logical-cluster key of the PD pause state (see pd_state.h).
std::string LogicalCluster(const OperatorOptions& options, const nlohmann::json& tc);
// Deterministic EBS ids of the TiKV volume of `store_id`, and of its snapshot for `uid`.
std::string VolumeId(const std::string& data_plane, const nlohmann::json& tc,
                     const std::string& store_id);
std::string SnapshotId(const std::string& uid, const std::string& volume_id);

inline constexpr char kBackupFinalizer[] = "tidb.pingcap.com/backup-protection";

class BackupReconciler {
 public:
  BackupReconciler(const ReconcileContext& ctx, const nlohmann::json& backup,
                   BackupRuntime runtime);
  Decision<BackupRuntime> Run();

 private:
  bool Has(const char* type) const { return HasCondition(obj_, type); }
  bool Due(std::chrono::milliseconds delay);
  bool DueStep() { return Due(ctx_.options->step_delay); }
  bool Write(const Condition& c);
  bool WriteFault(const Fault& fault, const char* default_type, const char* reason);
  bool InitActive() const;
  void ReleaseInit();
  // Checks of the spec alone, then of the referenced TidbCluster: "" or the Invalid message.
  std::string Validate() const;
  std::string ValidateTc() const;

  bool Deletion();
  bool Watchdog();
  bool ResumeGc();
  bool InitProgress();
  bool ExecProgress(bool in_execute);
  bool ExecActive() const;
  bool TakeSnapshots(bool in_execute);
  bool Teardown();
  void SetTimeStarted();
  void SetSizes();

  const ReconcileContext& ctx_;
  nlohmann::json obj_;  // working copy; written when d_.object is set
  std::string name_;
  std::string uid_;
  std::string holder_;
  Decision<BackupRuntime> d_;
  BackupRuntime& rt_;
};

}  // namespace brfed::kubesim::op
