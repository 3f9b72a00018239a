// LeaderElector: leader election on a coordination.k8s.io/v1 Lease, as upstream's
// (FEDERATION_PROTOCOL §12.4): lock <NAMESPACE>/br-federation-manager[-<HELM_RELEASE>],
// identity = host name.
//
//   LeaderElector elector(control_plane, {.ns = "br", .name = "br-federation-manager", ...});
//   ASSIGN_OR_RETURN(uint64_t epoch, elector.Acquire(&stop));   // blocks until leader
//   elector.KeepRenewing([&] { StopActing(); });                 // on_lost runs at most once
//
// A leader that cannot renew within `renew_deadline` (shorter than the lease) calls on_lost
// and stops renewing: it must stop writing before another replica may take the lease. The
// epoch is the lease's leaseTransitions after we took it: it only grows, and the journal
// records it. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "brfed/env.h"
#include "brfed/status.h"
#include "kube/client.h"
#include "kube/stop_signal.h"

namespace brfed::manager {

struct LeaderOptions {
  std::string ns;
  std::string name;
  std::string identity;
  Duration lease_duration{std::chrono::seconds(15)};
  Duration renew_deadline{std::chrono::seconds(10)};
  Duration retry_period{std::chrono::seconds(2)};
};

class LeaderElector {
 public:
  // `client` and `env` must outlive the elector.
  LeaderElector(kube::Client* client, LeaderOptions options, Env* env);
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;
  ~LeaderElector();  // stops renewing; does not release

  // Blocks until this replica holds the lease (returns the epoch) or `stop` fires (kCancelled).
  Result<uint64_t> Acquire(kube::StopSignal* stop);
  // Renews every retry_period in a thread of its own until Release() or a renew deadline is
  // missed (then on_lost). REQUIRES: Acquire succeeded.
  void KeepRenewing(std::function<void()> on_lost);
  // Stops renewing and gives the lease up (holder cleared) so a successor need not wait.
  void Release();
  bool is_leader() const { return leader_.load(); }

 private:
  // One attempt to take or renew the lease. OK when we hold it after the call.
  Status TryAcquireOrRenew();

  kube::Client* client_;
  const LeaderOptions options_;
  Env* env_;
  std::atomic<bool> leader_{false};
  std::mutex mu_;
  uint64_t epoch_ = 0;
  kube::StopSignal renew_stop_;
  std::thread renewer_;
};

}  // namespace brfed::manager
