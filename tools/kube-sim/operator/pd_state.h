// PdState: the shared PD of the simulated TiDB clusters — the GC / PD-scheduling pause state of
// every logical cluster and a TSO.
//
//   PdState pd;
//   pd.Pause("tidb-cluster/basic", "k8s-1/<uid>");   // the initialize job pauses GC
//   ...
//   pd.Resume("k8s-1/<uid>");                         // the job ends: the pause ends
//   PauseInfo info = pd.Get("tidb-cluster/basic");    // paused? since when? for how long?
//
// One logical TiDB cluster spans every data plane (FEDERATION_PROTOCOL §1: PD is shared), so
// one PdState is shared by the simulated operators of all data planes of a Simulator and the
// pause state is keyed by the logical-cluster name (OperatorOptions::logical_cluster, by default
// "<tc namespace>/<tc name>", which the example federation uses in every data plane).
// A pause has holders (one per initialize job); the cluster is paused while any holder remains.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

namespace brfed::kubesim::op {

using Clock = std::chrono::system_clock;

struct PauseInfo {
  bool paused = false;
  std::optional<Clock::time_point> paused_since;  // set while paused
  Clock::duration total_paused{0};                // finished pauses plus the current one
  int64_t pause_count = 0;                        // unpaused -> paused transitions
  std::set<std::string> holders;

  nlohmann::json ToJson(Clock::time_point now) const;
};

class PdState {
 public:
  // `now` defaults to system_clock::now.
  explicit PdState(std::function<Clock::time_point()> now = nullptr);
  PdState(const PdState&) = delete;
  PdState& operator=(const PdState&) = delete;

  // `holder` pauses GC and scheduling of `cluster`. Idempotent per (cluster, holder).
  void Pause(const std::string& cluster, const std::string& holder);
  // Ends every pause `holder` holds. Idempotent; unknown holders are ignored.
  void Resume(const std::string& holder);

  // State of one logical cluster (all zero when never paused); total_paused includes the
  // running pause.
  PauseInfo Get(const std::string& cluster) const;
  std::map<std::string, PauseInfo> All() const;
  // True when some cluster is paused right now.
  bool AnyPaused() const;
  // {"clusters": {name: {"paused", "pausedSince", "totalPausedSeconds", "pauseCount",
  //   "holders"}}}
  nlohmann::json ToJson() const;

  // A fresh, strictly increasing TiDB timestamp: physical milliseconds << 18 | logical.
  uint64_t NextTso();

 private:
  PauseInfo Snapshot(const PauseInfo& info, Clock::time_point now) const;

  std::function<Clock::time_point()> now_;
  mutable std::mutex mu_;
  std::map<std::string, PauseInfo> clusters_;  // GUARDED_BY(mu_)
  uint64_t last_tso_ = 0;                      // GUARDED_BY(mu_)
};

}  // namespace brfed::kubesim::op
