#include "kube/stop_signal.h"

namespace brfed::kube {

void StopSignal::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  stopped_ = true;
  for (auto& [id, wake] : wakers_) wake();
  cv_.notify_all();
}

bool StopSignal::stopped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_;
}

bool StopSignal::WaitFor(std::chrono::steady_clock::duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, d, [this] { return stopped_; });
}

StopSignal::ScopedWaker::ScopedWaker(StopSignal* signal, std::function<void()> wake)
    : signal_(signal) {
  if (!signal_) return;
  std::lock_guard<std::mutex> lock(signal_->mu_);
  if (signal_->stopped_) {
    wake();
    signal_ = nullptr;
    return;
  }
  id_ = signal_->next_id_++;
  signal_->wakers_.emplace(id_, std::move(wake));
}

StopSignal::ScopedWaker::~ScopedWaker() {
  if (!signal_) return;
  std::lock_guard<std::mutex> lock(signal_->mu_);
  signal_->wakers_.erase(id_);
}

}  // namespace brfed::kube
