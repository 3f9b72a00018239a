// OperatorOptions: how one simulated tidb-operator behaves — phase delays, sizes, the logical
// cluster its TiDB clusters belong to — and the faults injected into it.
//
// Config (the `operator:` section of a data plane in the kube-sim YAML, or the JSON body of
// POST /admin/operator/config; every key optional):
//
//   operator:
//     logicalCluster: basic       # key of the shared PD pause state; default "<tcNs>/<tcName>"
//     stepDelay: 0s               # between two condition writes of one job
//     delays:                     # extra time of the named steps (default 0s)
//       initialize: 1s            #   BR pausing GC and PD schedulers
//       execute: 2s               #   until the EBS snapshots are taken (SnapshotsCreated)
//       snapshot-copy: 3s         #   snapshots copying, until commitTs/VolumeBackupComplete
//       resume-gc: 0s             #   resumeGcSchedule -> VolumeBackupInitializeComplete
//       teardown: 0s
//       clean: 1s                 #   deleting snapshots and files
//       restore-volume: 2s        #   creating volumes from snapshots
//       warmup: 2s
//       start-tikv: 1s
//       restore-data: 2s
//       restore-finish: 1s
//     volumeSizeBytes: 10737418240  # per TiKV volume; snapshot sizes derive from it
//     retryFailedDelay: 1s        # when a referenced TidbCluster is missing
//
// Durations are "<n>ms", "<n>s", "<n>m", "<n>h" (combinations like "1m30s"), or a number of
// seconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "brfed/status.h"

namespace brfed::kubesim::op {

// The named steps a delay or a fault applies to.
inline constexpr const char* kStepNames[] = {
    "initialize",     "execute", "snapshot-copy", "resume-gc",    "teardown",      "clean",
    "restore-volume", "warmup",  "start-tikv",    "restore-data", "restore-finish"};

bool IsStepName(const std::string& name);

struct OperatorOptions {
  std::string logical_cluster;  // empty: "<tc namespace>/<tc name>"
  std::chrono::milliseconds step_delay{0};
  std::map<std::string, std::chrono::milliseconds> delays;  // by step name
  int64_t volume_size_bytes = 10LL * 1024 * 1024 * 1024;
  std::chrono::milliseconds retry_failed_delay{1000};

  // The delay of a named step (0 when unset).
  std::chrono::milliseconds Delay(const std::string& step) const;
  nlohmann::json ToJson() const;
};

// Applies the keys present in `config` (see above) to `*options`. kInvalidArgument names the
// bad key; `*options` is unchanged then.
Status MergeOperatorOptions(const nlohmann::json& config, OperatorOptions* options);

// "1m30s" / "250ms" / 2.5 -> milliseconds.
Result<std::chrono::milliseconds> ParseDuration(const nlohmann::json& value);

// A member failing at a named step (issue §4). Every Backup/Restore of the data plane that
// reaches `step` fails there, until cleared or `remaining` reaches zero.
//   initialize     -> VolumeBackupInitializeFailed (the pause ends)
//   execute        -> VolumeBackupFailed before the snapshots exist
//   snapshot-copy  -> VolumeBackupFailed after VolumeBackupSnapshotsCreated
//   teardown       -> Failed at teardown
//   clean          -> CleanFailed (retried once the fault is cleared)
//   restore-volume -> Failed, then CleanVolumeComplete
//   warmup         -> a failed warm-up job (Failed with check-wal-only, else ignored)
//   start-tikv, restore-data, restore-finish -> Failed
// `condition` overrides the condition written ("Failed", "Invalid", "VolumeBackupFailed",
// "VolumeBackupInitializeFailed"); `name` limits it to objects of that name.
struct Fault {
  std::string step;
  std::string condition;
  std::string name;
  int64_t remaining = -1;  // < 0: unlimited

  bool Matches(const std::string& at_step, const std::string& object_name) const;
  nlohmann::json ToJson() const;
};

// {"phase"|"step": ..., "condition"?: ..., "name"?: ..., "count"?: n}
Result<Fault> ParseFault(const nlohmann::json& body);

}  // namespace brfed::kubesim::op
