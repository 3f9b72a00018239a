#include "manager/options.h"

#include <unistd.h>

#include <charconv>
#include <map>
#include <sstream>

#include "brfed/workflow.h"

namespace brfed::manager {

namespace {

// One flag: how to set it from text, whether it is a bool (may stand alone), and its help.
struct Flag {
  std::function<Status(ManagerOptions*, const std::string&)> set;
  bool is_bool = false;
  const char* help = "";
};

Status ParseBool(const std::string& name, const std::string& v, bool* out) {
  if (v == "true" || v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "True") {
    *out = true;
  } else if (v == "false" || v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "False") {
    *out = false;
  } else {
    return InvalidArgumentError("flag -" + name + ": invalid boolean \"" + v + "\"");
  }
  return Status::OK();
}

template <typename T>
Status ParseNumber(const std::string& name, const std::string& v, T* out) {
  T value{};
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
  if (ec != std::errc() || ptr != v.data() + v.size()) {
    return InvalidArgumentError("flag -" + name + ": invalid number \"" + v + "\"");
  }
  *out = value;
  return Status::OK();
}

Status ParseDurationFlag(const std::string& name, const std::string& v, Duration* out) {
  Result<std::chrono::milliseconds> d = ParseDuration(v);
  if (!d.ok()) return InvalidArgumentError("flag -" + name + ": " + d.status().message());
  *out = *d;
  return Status::OK();
}

const std::map<std::string, Flag>& Flags() {
  using O = ManagerOptions;
  static const std::map<std::string, Flag> flags = [] {
    std::map<std::string, Flag> f;
    auto boolean = [&f](const char* name, bool O::*field, const char* help) {
      f[name] = {[name, field](O* o, const std::string& v) { return ParseBool(name, v, &(o->*field)); },
                 true, help};
    };
    auto integer = [&f](const char* name, int O::*field, const char* help) {
      f[name] = {[name, field](O* o, const std::string& v) { return ParseNumber(name, v, &(o->*field)); },
                 false, help};
    };
    auto duration = [&f](const char* name, Duration O::*field, const char* help) {
      f[name] = {[name, field](O* o, const std::string& v) {
                   return ParseDurationFlag(name, v, &(o->*field));
                 },
                 false, help};
    };
    auto text = [&f](const char* name, std::string O::*field, const char* help) {
      f[name] = {[field](O* o, const std::string& v) {
                   o->*field = v;
                   return Status::OK();
                 },
                 false, help};
    };
    boolean("V", &O::print_version, "print the version and exit");
    boolean("version", &O::print_version, "print the version and exit");
    integer("workers", &O::workers, "workers per controller (default 5)");
    boolean("cluster-scoped", &O::cluster_scoped,
            "watch every namespace; false: only NAMESPACE (default true)");
    duration("resync-duration", &O::resync, "accepted for compatibility; brfed reacts by watch");
    duration("leader-lease-duration", &O::leader_lease, "leader lease duration (default 15s)");
    duration("leader-renew-deadline", &O::leader_renew_deadline, "renew deadline (default 10s)");
    duration("leader-retry-period", &O::leader_retry_period, "retry period (default 2s)");
    text("leader-resource-lock", &O::leader_resource_lock, "lock type; only \"leases\"");
    f["kube-client-qps"] = {[](O* o, const std::string& v) {
                              return ParseNumber("kube-client-qps", v, &o->kube_client_qps);
                            },
                            false, "API QPS for every client (0: 5)"};
    integer("kube-client-burst", &O::kube_client_burst, "API burst (0: 10)");
    text("federation-kubeconfig-path", &O::federation_kubeconfig_path,
         "kubeconfig of the data planes; context name = k8sClusterName");
    integer("v", &O::verbosity, "log verbosity");
    text("journal-dir", &O::journal_dir, "the LevelDB journal directory (created 0700)");
    text("workflows-dir", &O::workflows_dir, "load workflows from here instead of the built-ins");
    text("health-addr", &O::health_addr, "address of /healthz, /readyz, /metrics");
    return f;
  }();
  return flags;
}

}  // namespace

std::string ManagerOptions::LockName() const {
  return helm_release.empty() ? "br-federation-manager" : "br-federation-manager-" + helm_release;
}

std::string ManagerUsage() {
  std::ostringstream out;
  out << "Usage of br-federation-manager:\n";
  for (const auto& [name, flag] : Flags()) out << "  -" << name << "\n    \t" << flag.help << "\n";
  return out.str();
}

Result<ManagerOptions> ParseManagerFlags(int argc, const char* const* argv,
                                         const std::function<const char*(const char*)>& getenv) {
  ManagerOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') {
      return InvalidArgumentError("unexpected argument \"" + arg + "\"");
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    size_t eq = body.find('=');
    std::string name = body.substr(0, eq);
    auto it = Flags().find(name);
    if (it == Flags().end()) return InvalidArgumentError("flag provided but not defined: -" + name);
    std::string value;
    if (eq != std::string::npos) {
      value = body.substr(eq + 1);
    } else if (it->second.is_bool) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return InvalidArgumentError("flag needs an argument: -" + name);
    }
    RETURN_IF_ERROR(it->second.set(&o, value));
  }
  if (o.leader_resource_lock != "leases") {
    return InvalidArgumentError("flag -leader-resource-lock: only \"leases\" is supported");
  }
  if (o.workers < 1) return InvalidArgumentError("flag -workers: must be at least 1");
  auto env = [&getenv](const char* name) {
    const char* v = getenv(name);
    return std::string(v == nullptr ? "" : v);
  };
  o.ns = env("NAMESPACE");
  o.helm_release = env("HELM_RELEASE");
  o.kubeconfig = env("KUBECONFIG");
  if (o.ns.empty() && !o.print_version) {
    return InvalidArgumentError("the NAMESPACE environment variable is required");
  }
  char host[256] = {0};
  o.identity = gethostname(host, sizeof(host) - 1) == 0 ? host : "br-federation-manager";
  return o;
}

}  // namespace brfed::manager
