#include "manager/leader.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "kube/resource.h"
#include "steps/protocol/conditions.h"
#include "steps/protocol/format.h"

namespace brfed::manager {

using nlohmann::json;

namespace {

// metav1.MicroTime: RFC 3339 with microseconds.
std::string MicroTime(TimePoint t) {
  std::string s = protocol::FormatKubeTime(t);  // ...:SSZ
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%03d000Z", static_cast<int>(t.time_since_epoch().count() % 1000));
  return s.substr(0, s.size() - 1) + frac;
}

}  // namespace

LeaderElector::LeaderElector(kube::Client* client, LeaderOptions options, Env* env)
    : client_(client), options_(std::move(options)), env_(env) {}

LeaderElector::~LeaderElector() {
  renew_stop_.Stop();
  if (renewer_.joinable()) renewer_.join();
}

Status LeaderElector::TryAcquireOrRenew() {
  TimePoint now = env_->Now();
  int64_t lease_secs = std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count();
  Result<json> current = client_->Get(kube::kLeases, options_.ns, options_.name);
  if (!current.ok() && current.status().code() != StatusCode::kNotFound) return current.status();
  if (!current.ok()) {
    json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                  {"kind", "Lease"},
                  {"metadata", {{"name", options_.name}, {"namespace", options_.ns}}},
                  {"spec",
                   {{"holderIdentity", options_.identity},
                    {"leaseDurationSeconds", lease_secs},
                    {"acquireTime", MicroTime(now)},
                    {"renewTime", MicroTime(now)},
                    {"leaseTransitions", 0}}}};
    Result<json> created = client_->Create(kube::kLeases, options_.ns, lease);
    if (!created.ok()) return created.status();
    std::lock_guard<std::mutex> l(mu_);
    epoch_ = 0;
    return Status::OK();
  }
  json lease = std::move(*current);
  json& spec = lease["spec"];
  if (!spec.is_object()) spec = json::object();
  std::string holder = protocol::StringAt(lease, {"spec", "holderIdentity"});
  int64_t transitions = spec.value("leaseTransitions", json(0)).is_number_integer()
                            ? spec["leaseTransitions"].get<int64_t>()
                            : 0;
  if (holder != options_.identity) {
    Result<TimePoint> renewed = protocol::ParseKubeTime(protocol::StringAt(lease, {"spec", "renewTime"}));
    int64_t held_secs = spec.value("leaseDurationSeconds", json(lease_secs)).is_number_integer()
                            ? spec["leaseDurationSeconds"].get<int64_t>()
                            : lease_secs;
    bool expired = !renewed.ok() || *renewed + std::chrono::seconds(held_secs) < now;
    if (!holder.empty() && !expired) {
      return UnavailableError("lease " + options_.ns + "/" + options_.name + " is held by " + holder);
    }
    spec["holderIdentity"] = options_.identity;
    spec["acquireTime"] = MicroTime(now);
    spec["leaseTransitions"] = ++transitions;
  }
  spec["renewTime"] = MicroTime(now);
  spec["leaseDurationSeconds"] = lease_secs;
  // The resourceVersion makes this a compare-and-swap: two replicas cannot both win.
  Result<json> written = client_->Update(kube::kLeases, options_.ns, lease);
  if (!written.ok()) return written.status();
  std::lock_guard<std::mutex> l(mu_);
  epoch_ = static_cast<uint64_t>(transitions);
  return Status::OK();
}

Result<uint64_t> LeaderElector::Acquire(kube::StopSignal* stop) {
  while (true) {
    if (stop != nullptr && stop->stopped()) return CancelledError("leader election stopped");
    Status s = TryAcquireOrRenew();
    if (s.ok()) {
      leader_ = true;
      std::lock_guard<std::mutex> l(mu_);
      return epoch_;
    }
    if (stop != nullptr ? stop->WaitFor(options_.retry_period)
                        : (std::this_thread::sleep_for(options_.retry_period), false)) {
      return CancelledError("leader election stopped");
    }
  }
}

void LeaderElector::KeepRenewing(std::function<void()> on_lost) {
  renewer_ = std::thread([this, on_lost = std::move(on_lost)] {
    auto last_renew = std::chrono::steady_clock::now();
    while (!renew_stop_.WaitFor(options_.retry_period)) {
      if (TryAcquireOrRenew().ok()) {
        last_renew = std::chrono::steady_clock::now();
        continue;
      }
      if (std::chrono::steady_clock::now() - last_renew >= options_.renew_deadline) {
        leader_ = false;
        on_lost();
        return;
      }
    }
  });
}

void LeaderElector::Release() {
  renew_stop_.Stop();
  if (renewer_.joinable()) renewer_.join();
  if (!leader_.exchange(false)) return;
  Result<json> current = client_->Get(kube::kLeases, options_.ns, options_.name);
  if (!current.ok() || protocol::StringAt(*current, {"spec", "holderIdentity"}) != options_.identity) {
    return;
  }
  (*current)["spec"]["holderIdentity"] = "";
  client_->Update(kube::kLeases, options_.ns, *current).status().IgnoreError();
}

}  // namespace brfed::manager
