// kube-sim: serve the virtual clusters of a config until SIGTERM/SIGINT.
//
//   kube-sim --config examples/sim/federation.yaml --kubeconfig-out /tmp/sim.kubeconfig
//   kube-sim fault --kubeconfig /tmp/sim.kubeconfig --context k8s-1 --latency 50ms
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "tools/kube-sim/cluster_server.h"
#include "tools/kube-sim/simulator.h"

namespace {

using brfed::kubesim::FaultSpec;
using nlohmann::json;

int Usage() {
  std::fprintf(stderr,
               "usage: kube-sim --config FILE [--kubeconfig-out PATH] [--state-dir DIR]\n"
               "       kube-sim fault --kubeconfig PATH [--context NAME] [--show] [--clear]\n"
               "                [--latency 50ms] [--error-rate 0.1] [--error-code 503]\n"
               "                [--throttle-rate 0.2] [--retry-after 2] [--reset-rate 0.1]\n"
               "                [--drop-watches] [--drop-watches-every 10s]\n"
               "                [--unreachable reset|hang|refuse] [--for 30s]\n");
  return 2;
}

int Fault(const std::vector<std::string>& args) {
  std::string kubeconfig, context;
  json spec = json::object();
  bool show = false, clear = false, drop = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "kube-sim fault: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return args[++i];
    };
    auto number = [&](const std::string& v) {
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0') {
        std::fprintf(stderr, "kube-sim fault: %s: not a number: %s\n", a.c_str(), v.c_str());
        std::exit(2);
      }
      return d;
    };
    if (a == "--kubeconfig") {
      kubeconfig = next();
    } else if (a == "--context") {
      context = next();
    } else if (a == "--show") {
      show = true;
    } else if (a == "--clear") {
      clear = true;
    } else if (a == "--drop-watches") {
      drop = true;
    } else if (a == "--latency") {
      spec["latency"] = next();
    } else if (a == "--error-rate") {
      spec["errorRate"] = number(next());
    } else if (a == "--error-code") {
      spec["errorCode"] = static_cast<int>(number(next()));
    } else if (a == "--throttle-rate") {
      spec["throttleRate"] = number(next());
    } else if (a == "--retry-after") {
      spec["retryAfterSeconds"] = static_cast<int>(number(next()));
    } else if (a == "--reset-rate") {
      spec["resetRate"] = number(next());
    } else if (a == "--drop-watches-every") {
      spec["dropWatchesEvery"] = next();
    } else if (a == "--unreachable") {
      spec["unreachable"] = next();
    } else if (a == "--for") {
      spec["duration"] = next();
    } else {
      std::fprintf(stderr, "kube-sim fault: unknown flag %s\n", a.c_str());
      return Usage();
    }
  }
  if (kubeconfig.empty()) return Usage();
  auto check = FaultSpec::FromJson(spec);
  if (!check.ok()) {
    std::fprintf(stderr, "kube-sim fault: %s\n", check.status().message().c_str());
    return 2;
  }
  auto run = [&](const std::string& method, const std::string& path, const std::string& body) {
    auto r = brfed::kubesim::internal::KubeconfigRequest(kubeconfig, context, method, path, body);
    if (!r.ok()) {
      std::fprintf(stderr, "kube-sim fault: %s\n", r.status().message().c_str());
      return 1;
    }
    std::printf("%s\n", r->body.c_str());
    if (r->status >= 300) {
      std::fprintf(stderr, "kube-sim fault: HTTP %d\n", r->status);
      return 1;
    }
    return 0;
  };
  int rc = 0;
  if (drop) rc |= run("POST", "/admin/watches/drop", "{}");
  if (clear) rc |= run("DELETE", "/admin/faults", "");
  if (!spec.empty()) rc |= run("POST", "/admin/faults", spec.dump());
  if (show || (!drop && !clear && spec.empty())) rc |= run("GET", "/admin/faults", "");
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "fault") return Fault({args.begin() + 1, args.end()});
  std::string config, kubeconfig_out, state_dir;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const std::string& flag, std::string* out) {
      if (args[i] == flag && i + 1 < args.size()) {
        *out = args[++i];
        return true;
      }
      if (args[i].rfind(flag + "=", 0) == 0) {
        *out = args[i].substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    if (value("--config", &config) || value("--kubeconfig-out", &kubeconfig_out) ||
        value("--state-dir", &state_dir)) {
      continue;
    }
    std::fprintf(stderr, "kube-sim: unknown argument %s\n", args[i].c_str());
    return Usage();
  }
  if (config.empty()) return Usage();

  // Every thread started from here on inherits the blocked signals; main waits for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  brfed::kubesim::SimulatorOptions options;
  options.config_path = config;
  options.state_dir = state_dir;
  auto sim = brfed::kubesim::Simulator::Start(std::move(options));
  if (!sim.ok()) {
    std::fprintf(stderr, "kube-sim: %s\n", sim.status().ToString().c_str());
    return 1;
  }
  if (!kubeconfig_out.empty()) {
    std::ofstream out(kubeconfig_out, std::ios::trunc);
    out << (*sim)->kubeconfig();
    out.close();
    if (!out) {
      std::fprintf(stderr, "kube-sim: cannot write %s\n", kubeconfig_out.c_str());
      return 1;
    }
  }
  for (const auto& e : (*sim)->endpoints()) {
    std::printf("kube-sim: cluster %s role=%s url=%s namespace=%s\n", e.name.c_str(),
                e.role.c_str(), e.url.c_str(), e.namespace_.c_str());
  }
  std::printf("kube-sim: ready%s%s\n", kubeconfig_out.empty() ? "" : " kubeconfig=",
              kubeconfig_out.c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  std::printf("kube-sim: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  (*sim)->Stop();
  return 0;
}
