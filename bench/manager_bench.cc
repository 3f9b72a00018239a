// manager_bench: br-federation-manager against kube-sim, both in-process over HTTPS, with the
// simulated tidb-operators' phase delays at zero, so that what is measured is the manager
// (issue 4 §6). N three-cluster VolumeBackups are run one after the other (plus one warm-up)
// and four figures are printed:
//
//   (a) reaction latency: from the data-plane condition write that completes what a step waits
//       for, to the manager's next write. Method: the benchmark subscribes to the simulator's
//       stores (in-process; a subscriber runs on the writing thread right after the write, so
//       its clock reading is the write's time) and sees every write of both sides: the
//       operator writes member `status` only; the manager creates members and changes their
//       `spec`, and writes the VolumeBackup in the control plane. A backup has four such
//       hand-overs from the data planes to the manager:
//         1. the initialize member reports VolumeBackupInitialized -> execute (members created
//            or switched to execute);
//         2. the last member reports VolumeBackupSnapshotsCreated -> resumeGcSchedule: true;
//         3. the last of VolumeBackupComplete (every member) and VolumeBackupInitializeComplete
//            -> the first teardown write;
//         4. the last member reports Complete -> the next write of the VolumeBackup.
//       Each is one sample: (first manager write after the trigger) - (trigger write).
//   (b) the GC-pause window the manager adds beyond the data planes' own time. The simulated
//       PD's pause state gives the total paused time W of each backup. Within the pause, the
//       data planes are busy from the moment the manager started a member's execute phase
//       until that member reported SnapshotsCreated; the manager's part is the rest of
//       [VolumeBackupInitialized, the resumeGcSchedule write]: the time no data plane had
//       anything to do because the manager had not reacted yet. Data planes' own = W - added.
//   (c) wall time of a three-cluster backup: the VolumeBackup's creation to the write of its
//       Complete status.
//   (d) API requests per member per backup: the manager's data-plane clients' request counters
//       (`brfed_kube_requests_total` of /metrics), over the N backups, / (3 N). Watches count
//       once per (re)connection.
//
//   build/dev/bench/manager_bench [--backups=100] [--dir=/tmp]
//
// The figures depend on the machine's load (printed with them); no figure is asserted.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/federation_util.h"
#include "brfed/env.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/resource.h"
#include "kube/rest_config.h"
#include "kube/stop_signal.h"
#include "manager/manager.h"
#include "manager/options.h"
#include "steps/protocol/members.h"
#include "tools/kube-sim/operator/operator_hook.h"
#include "tools/kube-sim/operator/sim_cloud.h"
#include "tools/kube-sim/simulator.h"

namespace brfed::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kPlanes = 3;
const kubesim::ResourceKey kMemberKey{"pingcap.com", "v1alpha1", "backups"};
const kubesim::ResourceKey kFederationKey{"federation.pingcap.com", "v1alpha1", "volumebackups"};

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "manager_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(2);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// kube-sim: a control plane and three data planes with TidbCluster tidb-cluster/basic, HTTPS,
// zero phase delays. JSON is YAML; paths are relative to the source tree.
std::string SimConfig() {
  json tc = {{"apiVersion", "pingcap.com/v1alpha1"},
             {"kind", "TidbCluster"},
             {"metadata", {{"name", "basic"}, {"namespace", "tidb-cluster"}}},
             {"spec",
              {{"version", "v7.5.0"},
               {"acrossK8s", true},
               {"pd", {{"replicas", 1}}},
               {"tikv", {{"replicas", 1}}},
               {"tidb", {{"replicas", 1}}}}}};
  json clusters = json::array({{{"name", "control-plane"}, {"role", "control-plane"}}});
  for (int i = 1; i <= kPlanes; ++i) {
    clusters.push_back({{"name", "k8s-" + std::to_string(i)}, {"role", "data-plane"}});
  }
  json config = {
      {"tls", true},
      {"operator", {{"stepDelay", "0s"}}},
      {"users", json::array({{{"name", "admin"}, {"token", "bench-token"}, {"admin", true}}})},
      {"roles",
       {{"control-plane",
         {{"namespaces", {"default", "br-federation"}}, {"crds", {"deploy/crds"}}}},
        {"data-plane",
         {{"namespaces", {"tidb-cluster"}},
          {"crds", {"tools/kube-sim/crds"}},
          {"objects", json::array({tc})}}}}},
      {"clusters", clusters}};
  return config.dump();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::set<std::string> TrueConditions(const json& obj) {
  std::set<std::string> types;
  if (!obj.contains("status") || !obj["status"].is_object()) return types;
  const json& conds = obj["status"].value("conditions", json::array());
  if (!conds.is_array()) return types;
  for (const json& c : conds) {
    if (c.is_object() && c.value("status", "") == "True") types.insert(c.value("type", ""));
  }
  return types;
}

std::string SpecString(const json& obj, const char* key) {
  if (!obj.contains("spec") || !obj["spec"].is_object()) return "";
  const json& v = obj["spec"].value(key, json());
  return v.is_string() ? v.get<std::string>() : "";
}

bool SpecTrue(const json& obj, const char* key) {
  if (!obj.contains("spec") || !obj["spec"].is_object()) return false;
  const json& v = obj["spec"].value(key, json());
  return v.is_boolean() && v.get<bool>();
}

// Everything observed of one backup, by the writes' times.
struct Trace {
  std::optional<Clock::time_point> created, done;  // control plane: ADDED, Complete/Failed
  std::string phase;
  std::vector<Clock::time_point> control_writes;  // the manager's VolumeBackup writes
  std::vector<Clock::time_point> member_writes;   // the manager's member writes
  // By data plane: when a condition first became True, when execute started.
  std::map<std::string, std::map<std::string, Clock::time_point>> conditions;
  std::map<std::string, Clock::time_point> execute_started;
  std::optional<Clock::time_point> resume_gc_written;
};

// Collects the traces from the stores' subscriptions. Thread-safe.
class Recorder {
 public:
  void OnMember(const std::string& cluster, const kubesim::WatchEvent& e) {
    Clock::time_point now = Clock::now();
    const json& meta = e.object.value("metadata", json::object());
    const json& ann = meta.value("annotations", json::object());
    if (!ann.is_object() || !ann.contains(protocol::kRunAnnotation)) return;
    std::string uid = ann[protocol::kRunAnnotation].get<std::string>();
    const json empty = json::object();
    const json& old = e.old_object ? *e.old_object : empty;
    std::lock_guard<std::mutex> l(mu_);
    Trace& t = traces_[uid];
    if (e.type == kubesim::EventType::kDeleted) return;
    bool added = e.type == kubesim::EventType::kAdded;
    if (added || old.value("spec", json()) != e.object.value("spec", json())) {
      t.member_writes.push_back(now);
    }
    if (SpecString(e.object, "federalVolumeBackupPhase") == "execute" &&
        (added || SpecString(old, "federalVolumeBackupPhase") != "execute")) {
      t.execute_started.emplace(cluster, now);
    }
    if (SpecTrue(e.object, "resumeGcSchedule") && !SpecTrue(old, "resumeGcSchedule") &&
        !t.resume_gc_written) {
      t.resume_gc_written = now;
    }
    std::set<std::string> before = TrueConditions(old);
    for (const std::string& c : TrueConditions(e.object)) {
      if (before.count(c) == 0) t.conditions[cluster].emplace(c, now);
    }
  }

  void OnFederation(const kubesim::WatchEvent& e) {
    Clock::time_point now = Clock::now();
    std::string uid = e.object["metadata"].value("uid", "");
    std::string phase;
    if (e.object.contains("status") && e.object["status"].is_object()) {
      const json& p = e.object["status"].value("phase", json());
      if (p.is_string()) phase = p.get<std::string>();
    }
    std::lock_guard<std::mutex> l(mu_);
    Trace& t = traces_[uid];
    if (e.type == kubesim::EventType::kAdded) {
      t.created = now;
    } else if (e.type == kubesim::EventType::kModified) {
      t.control_writes.push_back(now);
    }
    t.phase = phase;
    if (!t.done && (phase == "Complete" || phase == "Failed")) {
      t.done = now;
      cv_.notify_all();
    }
  }

  // Waits until the backup `uid` is Complete or Failed; returns its trace (nullopt on timeout).
  std::optional<Trace> Wait(const std::string& uid, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    bool ok = cv_.wait_for(l, timeout, [&] { return traces_.count(uid) && traces_[uid].done; });
    if (!ok) return std::nullopt;
    return traces_[uid];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Trace> traces_;  // GUARDED_BY(mu_), by uid
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// The first time in `writes` strictly after `t`.
std::optional<Clock::time_point> FirstAfter(const std::vector<Clock::time_point>& writes,
                                            Clock::time_point t) {
  std::optional<Clock::time_point> best;
  for (Clock::time_point w : writes) {
    if (w > t && (!best || w < *best)) best = w;
  }
  return best;
}

// The latest time `condition` became True over every data plane; nullopt unless all did.
std::optional<Clock::time_point> LastOf(const Trace& t, const std::string& condition,
                                        const std::set<std::string>& planes) {
  std::optional<Clock::time_point> last;
  for (const std::string& p : planes) {
    auto pc = t.conditions.find(p);
    if (pc == t.conditions.end()) return std::nullopt;
    auto c = pc->second.find(condition);
    if (c == pc->second.end()) return std::nullopt;
    if (!last || c->second > *last) last = c->second;
  }
  return last;
}

// The names of the four hand-overs of (a).
constexpr const char* kHandOvers[] = {"Initialized -> execute", "SnapshotsCreated -> resume-gc",
                                      "Complete -> teardown", "members Complete -> status"};

// The reaction samples of one backup (ms), by hand-over (an index into kHandOvers), see (a).
std::vector<std::pair<int, double>> Reactions(const Trace& t, const std::set<std::string>& planes) {
  std::vector<std::pair<int, double>> out;
  auto sample = [&](int which, std::optional<Clock::time_point> trigger,
                    const std::vector<Clock::time_point>& writes) {
    if (!trigger) return;
    if (std::optional<Clock::time_point> w = FirstAfter(writes, *trigger)) {
      out.emplace_back(which, Ms(*w - *trigger));
    }
  };
  std::optional<Clock::time_point> initialized;
  std::optional<Clock::time_point> init_complete;
  for (const auto& [plane, conds] : t.conditions) {
    auto c = conds.find("VolumeBackupInitialized");
    if (c != conds.end()) initialized = c->second;
    c = conds.find("VolumeBackupInitializeComplete");
    if (c != conds.end()) init_complete = c->second;
  }
  sample(0, initialized, t.member_writes);
  sample(1, LastOf(t, "VolumeBackupSnapshotsCreated", planes), t.member_writes);
  std::optional<Clock::time_point> complete = LastOf(t, "VolumeBackupComplete", planes);
  if (complete && init_complete) sample(2, std::max(*complete, *init_complete), t.member_writes);
  sample(3, LastOf(t, "Complete", planes), t.control_writes);
  return out;
}

// The part of [VolumeBackupInitialized, resumeGcSchedule write] in which no data plane was
// executing (ms), see (b) above; nullopt when the trace lacks a piece.
std::optional<double> ManagerPauseShare(const Trace& t, const std::set<std::string>& planes) {
  std::optional<Clock::time_point> from;
  for (const auto& [plane, conds] : t.conditions) {
    auto c = conds.find("VolumeBackupInitialized");
    if (c != conds.end()) from = c->second;
  }
  if (!from || !t.resume_gc_written) return std::nullopt;
  Clock::time_point to = *t.resume_gc_written;
  std::vector<std::pair<Clock::time_point, Clock::time_point>> busy;
  for (const std::string& p : planes) {
    auto start = t.execute_started.find(p);
    auto pc = t.conditions.find(p);
    if (start == t.execute_started.end() || pc == t.conditions.end()) return std::nullopt;
    auto end = pc->second.find("VolumeBackupSnapshotsCreated");
    if (end == pc->second.end()) return std::nullopt;
    busy.emplace_back(std::max(start->second, *from), std::min(end->second, to));
  }
  std::sort(busy.begin(), busy.end());
  Clock::duration covered{0};
  Clock::time_point reach = *from;
  for (auto [b, e] : busy) {
    b = std::max(b, reach);
    if (e > b) {
      covered += e - b;
      reach = e;
    }
  }
  return Ms((to - *from) - covered);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::max(0.0, std::ceil(p * static_cast<double>(v.size())) - 1));
  return v[std::min(i, v.size() - 1)];
}

json Backup(const std::string& name) {
  json list = json::array();
  for (int i = 1; i <= kPlanes; ++i) {
    list.push_back({{"k8sClusterName", "k8s-" + std::to_string(i)},
                    {"tcName", "basic"},
                    {"tcNamespace", "tidb-cluster"}});
  }
  return VolumeBackupManifest(name, "bench", std::move(list));
}

double DataPlaneRequests(manager::Manager& m) {
  m.metrics().Render();  // runs the collectors, which set the request counters
  double sum = 0;
  for (int i = 1; i <= kPlanes; ++i) {
    sum += m.metrics().Get("brfed_kube_requests_total", {{"cluster", "k8s-" + std::to_string(i)}});
  }
  return sum;
}

int Main(int argc, char** argv) {
  uint64_t backups = FlagInt(argc, argv, "backups", 100);
  std::string dir = ScratchDir(argc, argv, "manager-bench");
  std::printf(
      "manager_bench: %llu three-cluster VolumeBackups, one after the other, against "
      "kube-sim in-process (HTTPS, zero phase delays); load average %s\n",
      static_cast<unsigned long long>(backups), LoadAverage().c_str());

  auto cloud = std::make_shared<kubesim::op::SimCloud>();
  kubesim::SimulatorOptions so;
  so.config_yaml = SimConfig();
  so.base_dir = BRFED_SOURCE_DIR;
  so.use_global_hooks = false;
  so.cluster_hooks.push_back(kubesim::op::MakeOperatorHook(cloud));
  Result<std::unique_ptr<kubesim::Simulator>> sim = kubesim::Simulator::Start(std::move(so));
  if (!sim.ok()) Die("kube-sim", sim.status());

  Recorder recorder;
  std::set<std::string> planes;
  std::vector<std::unique_ptr<kubesim::Store::Subscription>> subs;
  for (int i = 1; i <= kPlanes; ++i) {
    std::string name = "k8s-" + std::to_string(i);
    planes.insert(name);
    subs.push_back((*sim)->cluster(name)->store()->Subscribe(
        kMemberKey,
        [&recorder, name](const kubesim::WatchEvent& e) { recorder.OnMember(name, e); }));
  }
  subs.push_back((*sim)
                     ->cluster("control-plane")
                     ->store()
                     ->Subscribe(kFederationKey, [&recorder](const kubesim::WatchEvent& e) {
                       recorder.OnFederation(e);
                     }));

  std::string kubeconfig = dir + "/kubeconfig";
  std::string federation = dir + "/federation-kubeconfig";
  WriteFile(kubeconfig, (*sim)->kubeconfig());
  Result<std::string> federation_text =
      kubesim::KubeconfigWithout((*sim)->kubeconfig(), "control-plane");
  if (!federation_text.ok()) Die("kubeconfig", federation_text.status());
  WriteFile(federation, *federation_text);
  Result<kube::Kubeconfig> kc = kube::LoadKubeconfig(kubeconfig);
  if (!kc.ok()) Die("kubeconfig", kc.status());
  Result<kube::RestConfig> rc = kube::ResolveContext(*kc, "control-plane");
  if (!rc.ok()) Die("kubeconfig", rc.status());
  kube::ClientOptions co;
  co.qps = 1000;
  co.burst = 1000;
  Result<std::unique_ptr<kube::Client>> control = kube::Client::Create(*rc, co);
  if (!control.ok()) Die("control-plane client", control.status());

  manager::ManagerOptions mo;
  mo.ns = "br-federation";
  mo.kubeconfig = kubeconfig;
  mo.federation_kubeconfig_path = federation;
  mo.journal_dir = dir + "/journal";
  mo.health_addr = "127.0.0.1:0";
  mo.identity = "manager-bench";
  mo.kube_client_qps = 1000;  // the upstream default of 5 QPS would measure the rate limiter
  mo.kube_client_burst = 1000;
  mo.leader_retry_period = std::chrono::milliseconds(200);
  Result<std::unique_ptr<manager::Manager>> mgr = manager::Manager::Create(mo, Env::Default());
  if (!mgr.ok()) Die("manager", mgr.status());
  kube::StopSignal stop;
  Status run_result;
  std::thread runner([&] { run_result = (*mgr)->Run(&stop); });
  while (!(*mgr)->ready()) {
    if (stop.WaitFor(std::chrono::milliseconds(20))) break;
  }

  std::vector<double> reactions, added, own, walls;
  std::vector<double> by_hand_over[std::size(kHandOvers)];
  double requests_before = 0;
  int complete = 0, failed = 0;
  for (uint64_t i = 0; i <= backups; ++i) {  // i == 0: warm-up, not counted
    if (i == 1) requests_before = DataPlaneRequests(**mgr);
    std::string name = "bench-" + std::to_string(i);
    Clock::duration paused_before = cloud->pd.Get("tidb-cluster/basic").total_paused;
    Result<json> created = (*control)->Create(kube::kVolumeBackups, "default", Backup(name));
    if (!created.ok()) Die("create " + name, created.status());
    std::string uid = (*created)["metadata"].value("uid", "");
    std::optional<Trace> t = recorder.Wait(uid, std::chrono::seconds(120));
    if (!t) Die(name, DeadlineExceededError("not finished after 120s"));
    // The pause ends at resume-gc, before Complete; wait for the operator to have released it.
    while (cloud->pd.AnyPaused()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (i == 0) continue;
    if (t->phase != "Complete") {
      ++failed;
      continue;
    }
    ++complete;
    double window = Ms(cloud->pd.Get("tidb-cluster/basic").total_paused - paused_before);
    for (auto [which, ms] : Reactions(*t, planes)) {
      reactions.push_back(ms);
      by_hand_over[which].push_back(ms);
    }
    if (std::optional<double> a = ManagerPauseShare(*t, planes)) {
      added.push_back(*a);
      own.push_back(window - *a);
    }
    walls.push_back(Ms(*t->done - *t->created));
  }
  double requests = DataPlaneRequests(**mgr) - requests_before;
  double per_member = complete > 0 ? requests / (complete * kPlanes) : 0;

  stop.Stop();
  runner.join();
  subs.clear();
  control->reset();
  (*sim)->Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  std::printf("backups: %d complete, %d failed; %zu reaction samples; load average now %s\n",
              complete, failed, reactions.size(), LoadAverage().c_str());
  std::printf("reaction ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", Percentile(reactions, 0.5),
              Percentile(reactions, 0.9), Percentile(reactions, 0.99), Percentile(reactions, 1));
  for (size_t h = 0; h < std::size(kHandOvers); ++h) {
    std::printf("  %-32s p50 %.2f  p99 %.2f  (%zu samples)\n", kHandOvers[h],
                Percentile(by_hand_over[h], 0.5), Percentile(by_hand_over[h], 0.99),
                by_hand_over[h].size());
  }
  std::printf("GC pause ms: manager-added p50 %.2f p99 %.2f max %.2f; data planes' own p50 %.2f\n",
              Percentile(added, 0.5), Percentile(added, 0.99), Percentile(added, 1),
              Percentile(own, 0.5));
  std::printf("backup wall ms: p50 %.1f  p99 %.1f  min %.1f  max %.1f\n", Percentile(walls, 0.5),
              Percentile(walls, 0.99), Percentile(walls, 0), Percentile(walls, 1));
  std::printf("data-plane API requests: %.0f for %d backups of %d members\n", requests, complete,
              kPlanes);

  double p99 = Percentile(reactions, 0.99);
  double added_p99 = Percentile(added, 0.99);
  std::vector<Row> rows = {
      {"reaction latency p50 (ms)", Fixed(Percentile(reactions, 0.5), 2), "-", "-", "-", true},
      {"reaction latency p99 (ms)", Fixed(p99, 2), "-", "-", "<= 20",
       !reactions.empty() && p99 <= 20},
      {"GC pause added by manager p99 (ms)", Fixed(added_p99, 2),
       Fixed(Percentile(own, 0.5), 2) + " own", "-", "<= 50", !added.empty() && added_p99 <= 50},
      {"three-cluster backup wall p50 (ms)", Fixed(Percentile(walls, 0.5), 1), "-", "-",
       "completes", failed == 0 && complete == static_cast<int>(backups)},
      {"API requests per member per backup", Fixed(per_member, 2), "-", "-", "<= 10",
       complete > 0 && per_member <= 10},
  };
  int rc_rows = PrintRows(rows);
  if (!run_result.ok())
    std::fprintf(stderr, "manager_bench: manager: %s\n", run_result.ToString().c_str());
  return rc_rows;
}

}  // namespace
}  // namespace brfed::bench

int main(int argc, char** argv) { return brfed::bench::Main(argc, argv); }
