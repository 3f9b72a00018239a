// scale_bench: 1,000 concurrent VolumeBackups over 20 data planes (issue 4 §6). The kube-sim
// binary runs as a child process with a control plane and 20 data planes, each with its own
// TidbCluster (tc-<i>/basic, so each is its own logical cluster for the simulated PD) and zero
// phase delays; br-federation-manager runs in this process, with its upstream defaults except
// the client rate limit. All backups are created at once, each over 3 of the data planes, and
// the benchmark waits (by watch) until every one is Complete (or Failed, or the timeout). It
// prints the wall time and the peak RSS (getrusage ru_maxrss) of this process — the manager,
// plus the benchmark's one watch — and of kube-sim beside it.
//
//   build/dev/bench/scale_bench [--backups=1000] [--planes=20] [--timeout=1800] [--dir=/tmp]

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/federation_util.h"
#include "brfed/env.h"
#include "kube/api_error.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/resource.h"
#include "kube/rest_config.h"
#include "kube/stop_signal.h"
#include "manager/manager.h"
#include "manager/options.h"
#include "tools/kube-sim/simulator.h"

namespace brfed::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "scale_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(2);
}

std::string Source(const std::string& path) { return std::string(BRFED_SOURCE_DIR) + "/" + path; }
std::string Plane(int i) { return "k8s-" + std::to_string(i); }
std::string TcNamespace(int i) { return "tc-" + std::to_string(i); }

// kube-sim: a control plane and `planes` data planes, data plane i with TidbCluster
// tc-<i>/basic, HTTPS, zero phase delays. JSON is YAML.
std::string SimConfig(int planes) {
  json clusters = json::array({{{"name", "control-plane"}, {"role", "control-plane"}}});
  for (int i = 1; i <= planes; ++i) {
    json tc = {{"apiVersion", "pingcap.com/v1alpha1"},
               {"kind", "TidbCluster"},
               {"metadata", {{"name", "basic"}, {"namespace", TcNamespace(i)}}},
               {"spec",
                {{"version", "v7.5.0"},
                 {"acrossK8s", true},
                 {"pd", {{"replicas", 1}}},
                 {"tikv", {{"replicas", 1}}},
                 {"tidb", {{"replicas", 1}}}}}};
    clusters.push_back({{"name", Plane(i)},
                        {"role", "data-plane"},
                        {"namespaces", {TcNamespace(i)}},
                        {"objects", json::array({tc})}});
  }
  json config = {
      {"tls", true},
      {"threads", 32},
      {"operator", {{"stepDelay", "0s"}}},
      {"users", json::array({{{"name", "admin"}, {"token", "bench-token"}, {"admin", true}}})},
      {"roles",
       {{"control-plane",
         {{"namespaces", {"default", "br-federation"}}, {"crds", {Source("deploy/crds")}}}},
        {"data-plane", {{"crds", {Source("tools/kube-sim/crds")}}}}}},
      {"clusters", clusters}};
  return config.dump();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// VmRSS of a process (this one by default) in MiB.
double RssMiB(const std::string& pid = "self") {
  std::ifstream in("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

// Peak RSS of this process (RUSAGE_SELF) or of its waited-for children (RUSAGE_CHILDREN).
double PeakRssMiB(int who) {
  rusage ru{};
  getrusage(who, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

// Backup j spans three data planes spread over the federation (distinct for planes >= 3).
std::vector<int> PlanesOf(uint64_t j, int planes) {
  int base = static_cast<int>(j % static_cast<uint64_t>(planes));
  return {base + 1, (base + planes / 3) % planes + 1, (base + 2 * planes / 3) % planes + 1};
}

json Backup(const std::string& name, const std::vector<int>& planes) {
  json list = json::array();
  for (int p : planes) {
    list.push_back(
        {{"k8sClusterName", Plane(p)}, {"tcName", "basic"}, {"tcNamespace", TcNamespace(p)}});
  }
  return VolumeBackupManifest(name, "scale", std::move(list));
}

// kube-sim as a child process; stopped (SIGTERM, waited for) by Stop() or the destructor.
class KubeSim {
 public:
  KubeSim() = default;
  KubeSim(const KubeSim&) = delete;
  KubeSim& operator=(const KubeSim&) = delete;
  ~KubeSim() { Stop(); }

  // Starts `kube-sim --config CONFIG --kubeconfig-out KUBECONFIG` with its output in LOG and
  // waits for its ready line.
  Status Start(const std::string& config, const std::string& kubeconfig, const std::string& log) {
    std::vector<std::string> args = {KUBESIM_BINARY, "--config", config, "--kubeconfig-out",
                                     kubeconfig};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return UnavailableError("open " + log + ": " + strerror(errno));
    pid_ = fork();
    if (pid_ == 0) {
      // The child: dies with this process however it ends (a crash or exit() included), so
      // no simulator is ever left behind. Only async-signal-safe calls until exec.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(fd, 1);
      dup2(fd, 2);
      execv(KUBESIM_BINARY, argv.data());
      _exit(127);
    }
    close(fd);
    if (pid_ < 0) return UnavailableError(std::string("fork: ") + strerror(errno));
    for (int i = 0; i < 1200; ++i) {
      std::ifstream in(log);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.find("kube-sim: ready") != std::string::npos) return Status::OK();
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return UnavailableError("kube-sim exited: " + text);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return DeadlineExceededError("kube-sim not ready after 60s; see " + log);
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Counts the backups that reached a terminal phase, from a watch of the control plane.
// Thread-safe.
class Finished {
 public:
  explicit Finished(kube::Client* control) : control_(control) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Finished() {
    stop_.Stop();
    thread_.join();
  }

  // Waits until `n` backups ended or the deadline; returns {complete, failed}.
  std::pair<size_t, size_t> Wait(size_t n, Clock::time_point deadline) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_until(l, deadline, [&] { return phase_.size() >= n; });
    size_t complete = 0;
    for (const auto& [name, phase] : phase_) complete += phase == "Complete" ? 1 : 0;
    return {complete, phase_.size() - complete};
  }

 private:
  void Loop() {
    std::string rv;
    while (!stop_.stopped()) {
      kube::WatchOptions wo;
      wo.resource_version = rv;
      wo.timeout = std::chrono::seconds(60);
      Status s = control_->Watch(
          kube::kVolumeBackups, "default", wo,
          [&](const kube::WatchEvent& e) {
            if (!e.ResourceVersion().empty()) rv = e.ResourceVersion();
            if (e.type == kube::WatchEventType::kAdded ||
                e.type == kube::WatchEventType::kModified) {
              On(e.object);
            }
            return true;
          },
          &stop_);
      if (s.code() == StatusCode::kCancelled) return;
      if (!s.ok() && kube::IsGone(s)) rv.clear();
      if (!s.ok()) stop_.WaitFor(std::chrono::milliseconds(200));
    }
  }

  void On(const json& obj) {
    if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) return;
    const json& st = obj.value("status", json::object());
    std::string phase = st.is_object() && st.value("phase", json()).is_string()
                            ? st["phase"].get<std::string>()
                            : "";
    if (phase != "Complete" && phase != "Failed") return;
    std::lock_guard<std::mutex> l(mu_);
    if (phase_.emplace(obj["metadata"].value("name", ""), phase).second) cv_.notify_all();
  }

  kube::Client* control_;
  kube::StopSignal stop_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::string> phase_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

// True when some data plane's simulated PD reports a paused TiDB cluster.
bool AnyPaused(const kube::Kubeconfig& kc, int planes) {
  for (int i = 1; i <= planes; ++i) {
    Result<kube::RestConfig> rc = kube::ResolveContext(kc, Plane(i));
    if (!rc.ok()) return true;
    Result<std::unique_ptr<kube::Client>> c = kube::Client::Create(*rc);
    if (!c.ok()) return true;
    Result<kube::RawResponse> r = (*c)->Request("GET", "/admin/operator/pause");
    if (!r.ok() || !r->body.is_object()) return true;
    json clusters = r->body.value("clusters", json::object());
    if (!clusters.is_object()) return true;
    for (const auto& [name, info] : clusters.items()) {
      if (!info.is_object() || info.value("paused", false)) return true;
    }
  }
  return false;
}

int Main(int argc, char** argv) {
  uint64_t backups = FlagInt(argc, argv, "backups", 1000);
  int planes = static_cast<int>(FlagInt(argc, argv, "planes", 20));
  uint64_t timeout_s = FlagInt(argc, argv, "timeout", 1800);
  if (planes < 3) {
    std::fprintf(stderr, "scale_bench: --planes must be at least 3\n");
    return 2;
  }
  std::string dir = ScratchDir(argc, argv, "scale-bench");
  std::printf(
      "scale_bench: %llu concurrent VolumeBackups, each over 3 of %d data planes; kube-sim "
      "(HTTPS, zero phase delays) as a child process, the manager in this one\n",
      static_cast<unsigned long long>(backups), planes);
  std::fflush(stdout);

  std::string kubeconfig = dir + "/kubeconfig";
  std::string federation = dir + "/federation-kubeconfig";
  WriteFile(dir + "/sim.yaml", SimConfig(planes));
  KubeSim sim;
  if (Status s = sim.Start(dir + "/sim.yaml", kubeconfig, dir + "/kube-sim.log"); !s.ok()) {
    Die("kube-sim", s);
  }
  std::ifstream kin(kubeconfig);
  std::string kubeconfig_text((std::istreambuf_iterator<char>(kin)),
                              std::istreambuf_iterator<char>());
  Result<std::string> federation_text =
      kubesim::KubeconfigWithout(kubeconfig_text, "control-plane");
  if (!federation_text.ok()) Die("kubeconfig", federation_text.status());
  WriteFile(federation, *federation_text);
  Result<kube::Kubeconfig> kc = kube::LoadKubeconfig(kubeconfig);
  if (!kc.ok()) Die("kubeconfig", kc.status());
  Result<kube::RestConfig> rc = kube::ResolveContext(*kc, "control-plane");
  if (!rc.ok()) Die("kubeconfig", rc.status());
  kube::ClientOptions co;
  co.qps = 10000;
  co.burst = 10000;
  Result<std::unique_ptr<kube::Client>> control = kube::Client::Create(*rc, co);
  if (!control.ok()) Die("control-plane client", control.status());
  Result<std::unique_ptr<kube::Client>> watcher = kube::Client::Create(*rc, co);
  if (!watcher.ok()) Die("control-plane client", watcher.status());
  double sim_rss_idle = RssMiB(std::to_string(sim.pid()));

  manager::ManagerOptions mo;
  mo.ns = "br-federation";
  mo.kubeconfig = kubeconfig;
  mo.federation_kubeconfig_path = federation;
  mo.journal_dir = dir + "/journal";
  mo.health_addr = "127.0.0.1:0";
  mo.identity = "scale-bench";
  mo.kube_client_qps = 1000;  // per cluster; the upstream default of 5 would measure the limiter
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
  double idle_rss = RssMiB();
  Finished finished(watcher->get());

  Clock::time_point t0 = Clock::now();
  for (uint64_t j = 0; j < backups; ++j) {
    std::string name = "scale-" + std::to_string(j);
    Result<json> created =
        (*control)->Create(kube::kVolumeBackups, "default", Backup(name, PlanesOf(j, planes)));
    if (!created.ok()) Die("create " + name, created.status());
  }
  double create_s = SecondsSince(t0);
  std::printf("created %llu VolumeBackups in %.2fs; waiting for them to finish\n",
              static_cast<unsigned long long>(backups), create_s);
  std::fflush(stdout);
  // Progress every 10 s, to stderr, so a slow machine shows it is alive.
  std::atomic<bool> done{false};
  std::thread progress([&] {
    while (!done.load()) {
      for (int i = 0; i < 100 && !done.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (done.load()) break;
      auto [c, f] = finished.Wait(0, Clock::now());
      std::fprintf(stderr,
                   "  %.0fs: %zu complete, %zu failed; RSS manager %.0f MiB, kube-sim %.0f MiB\n",
                   SecondsSince(t0), c, f, RssMiB(), RssMiB(std::to_string(sim.pid())));
    }
  });
  auto [complete, failed] = finished.Wait(backups, t0 + std::chrono::seconds(timeout_s));
  double wall_s = SecondsSince(t0);
  done = true;
  progress.join();
  double peak = PeakRssMiB(RUSAGE_SELF);
  uint64_t journal_bytes = DirBytes(dir + "/journal");
  bool paused = AnyPaused(*kc, planes);

  stop.Stop();
  runner.join();
  mgr->reset();
  control->reset();
  sim.Stop();
  double sim_peak = PeakRssMiB(RUSAGE_CHILDREN);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  std::printf(
      "%zu complete, %zu failed, %llu unfinished after %.1fs (creation %.1fs); "
      "%.0f backups/s\n",
      complete, failed, static_cast<unsigned long long>(backups - complete - failed), wall_s,
      create_s, static_cast<double>(complete) / wall_s);
  std::printf(
      "peak RSS: this process (manager) %.0f MiB (%.0f MiB idle before the backups); "
      "kube-sim %.0f MiB (%.0f MiB idle); journal %.1f MiB; a TiDB cluster left "
      "paused: %s\n",
      peak, idle_rss, sim_peak, sim_rss_idle,
      static_cast<double>(journal_bytes) / (1024.0 * 1024.0), paused ? "YES" : "no");
  std::vector<Row> rows = {
      {"backups complete", std::to_string(complete) + "/" + std::to_string(backups), "-", "-",
       "all", complete == backups && !paused},
      {"wall time (s)", Fixed(wall_s, 1), "-", "-", "(figure)", true},
      {"peak RSS of the manager process (MiB)", Fixed(peak, 0), Fixed(idle_rss, 0) + " idle", "-",
       "(figure)", true},
  };
  int rc_rows = PrintRows(rows);
  if (!run_result.ok()) {
    std::fprintf(stderr, "scale_bench: manager: %s\n", run_result.ToString().c_str());
  }
  return rc_rows;
}

}  // namespace
}  // namespace brfed::bench

int main(int argc, char** argv) { return brfed::bench::Main(argc, argv); }
