#include "tools/kube-sim/operator/pd_state.h"

#include <utility>

#include "tools/kube-sim/store.h"

namespace brfed::kubesim::op {

nlohmann::json PauseInfo::ToJson(Clock::time_point now) const {
  nlohmann::json j;
  j["paused"] = paused;
  j["pausedSince"] = paused_since ? nlohmann::json(FormatTime(*paused_since)) : nullptr;
  Clock::duration total = total_paused;
  if (paused && paused_since) total += now - *paused_since;
  j["totalPausedSeconds"] = std::chrono::duration<double>(total).count();
  j["pauseCount"] = pause_count;
  j["holders"] = holders;
  return j;
}

PdState::PdState(std::function<Clock::time_point()> now) : now_(std::move(now)) {
  if (!now_) now_ = [] { return Clock::now(); };
}

void PdState::Pause(const std::string& cluster, const std::string& holder) {
  Clock::time_point now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  PauseInfo& info = clusters_[cluster];
  if (!info.holders.insert(holder).second) return;
  if (!info.paused) {
    info.paused = true;
    info.paused_since = now;
    ++info.pause_count;
  }
}

void PdState::Resume(const std::string& holder) {
  Clock::time_point now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, info] : clusters_) {
    if (info.holders.erase(holder) == 0 || !info.holders.empty()) continue;
    info.paused = false;
    if (info.paused_since) info.total_paused += now - *info.paused_since;
    info.paused_since.reset();
  }
}

PauseInfo PdState::Snapshot(const PauseInfo& info, Clock::time_point now) const {
  PauseInfo copy = info;
  if (copy.paused && copy.paused_since) copy.total_paused += now - *copy.paused_since;
  return copy;
}

PauseInfo PdState::Get(const std::string& cluster) const {
  Clock::time_point now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clusters_.find(cluster);
  return it == clusters_.end() ? PauseInfo{} : Snapshot(it->second, now);
}

std::map<std::string, PauseInfo> PdState::All() const {
  Clock::time_point now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, PauseInfo> out;
  for (const auto& [name, info] : clusters_) out[name] = Snapshot(info, now);
  return out;
}

bool PdState::AnyPaused() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, info] : clusters_) {
    if (info.paused) return true;
  }
  return false;
}

nlohmann::json PdState::ToJson() const {
  Clock::time_point now = now_();
  nlohmann::json clusters = nlohmann::json::object();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, info] : clusters_) {
    // info.ToJson adds the running pause itself.
    clusters[name] = info.ToJson(now);
  }
  return {{"clusters", clusters}};
}

uint64_t PdState::NextTso() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now_().time_since_epoch());
  uint64_t candidate = static_cast<uint64_t>(ms.count()) << 18;
  std::lock_guard<std::mutex> lock(mu_);
  last_tso_ = candidate > last_tso_ ? candidate : last_tso_ + 1;
  return last_tso_;
}

}  // namespace brfed::kubesim::op
