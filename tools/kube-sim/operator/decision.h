// The vocabulary of the simulated operator's pure reconcilers: what they read (ReconcileContext)
// and what they ask for (Decision: one object write, side effects on the SimCloud, a wake-up).
//
// A reconciler never writes: the driver (DataPlaneOperator) applies the effects — all of them
// idempotent — then writes the TidbCluster and/or the object with resourceVersion
// preconditions, and commits the returned runtime only when the writes succeeded. On a
// conflict it re-reads and asks again with the old runtime, so nothing happens twice.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tools/kube-sim/operator/ebs_registry.h"
#include "tools/kube-sim/operator/object_storage.h"
#include "tools/kube-sim/operator/options.h"

namespace brfed::kubesim::op {

using TimePoint = std::chrono::system_clock::time_point;

struct Effect {
  enum class Kind {
    kPause,            // PD: holder pauses GC and scheduling of cluster
    kResume,           // PD: holder's pause ends
    kCreateSnapshots,  // EBS: create `snapshots` (ids are deterministic)
    kPutObject,        // S3: put `key` = `content`
    kCleanBackupData,  // delete the snapshots listed in `key`'s backupmeta, then `key`'s files
  };
  static Effect Pause(std::string cluster, std::string holder) {
    Effect e(Kind::kPause);
    e.cluster = std::move(cluster);
    e.holder = std::move(holder);
    return e;
  }
  static Effect Resume(std::string holder) {
    Effect e(Kind::kResume);
    e.holder = std::move(holder);
    return e;
  }
  static Effect CreateSnapshots(std::vector<EbsSnapshot> snapshots) {
    Effect e(Kind::kCreateSnapshots);
    e.snapshots = std::move(snapshots);
    return e;
  }
  static Effect PutObject(std::string key, std::string content) {
    Effect e(Kind::kPutObject);
    e.key = std::move(key);
    e.content = std::move(content);
    return e;
  }
  static Effect CleanBackupData(std::string backup_path) {
    Effect e(Kind::kCleanBackupData);
    e.key = std::move(backup_path);
    return e;
  }

  explicit Effect(Kind k) : kind(k) {}

  Kind kind;
  std::string cluster;  // kPause
  std::string holder;   // kPause, kResume
  std::vector<EbsSnapshot> snapshots;
  std::string key;  // kPutObject: object key; kCleanBackupData: backupPath
  std::string content;
};

// What a reconciler sees. Everything is borrowed for the duration of one call.
struct ReconcileContext {
  std::string data_plane;
  TimePoint now;
  uint64_t tso = 0;  // a fresh PD timestamp
  const OperatorOptions* options = nullptr;
  const std::vector<Fault>* faults = nullptr;
  const ObjectStorage* storage = nullptr;  // read-only use
  const nlohmann::json* tc = nullptr;      // the referenced TidbCluster, nullptr when missing

  // The first fault matching (step, name), or nullptr.
  const Fault* FaultAt(const std::string& step, const std::string& name) const {
    if (faults == nullptr) return nullptr;
    for (const Fault& f : *faults) {
      if (f.Matches(step, name)) return &f;
    }
    return nullptr;
  }
};

template <typename Runtime>
struct Decision {
  std::optional<nlohmann::json> object;  // full object to PUT (resourceVersion kept)
  std::optional<nlohmann::json> tc;      // TidbCluster to PUT before the object
  std::vector<Effect> effects;
  std::optional<TimePoint> wake_at;  // reconcile again then (if nothing else happens)
  std::string fault_fired;           // step of the fault used, to count it down
  Runtime runtime;                   // commit after the writes succeeded
  bool runtime_changed = false;      // reconcile again right away even without a write

  bool Acted() const { return object || tc || !effects.empty() || runtime_changed; }
  void WakeAt(TimePoint t) {
    if (!wake_at || t < *wake_at) wake_at = t;
  }
};

}  // namespace brfed::kubesim::op
