// kube-sim throughput and watch fan-out, so that it is never the bottleneck of the end-to-end
// benchmarks (issue 3 §7).
//
//   kube_sim_bench [--writers 4] [--writes 8000] [--watchers 100] [--events 300]
//                  [--interval-us 2000] [--tls]
//
// Starts an in-process kube-sim cluster on a loopback port and prints:
//   store writes/s     Store::Create in-process (no HTTP), the ceiling
//   HTTP writes/s      POST of ConfigMaps by --writers keep-alive clients, with p50/p99 latency
//   watch fan-out      --watchers HTTP watch streams; --events creates, one every
//                      --interval-us; latency from before the POST to the event decoded by
//                      each watcher: p50/p99/max over watchers x events
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tools/kube-sim/simulator.h"
#include "tools/kube-sim/store.h"

namespace {

using brfed::kubesim::ResourceKey;
using brfed::kubesim::Simulator;
using brfed::kubesim::SimulatorOptions;
using Steady = std::chrono::steady_clock;

struct Flags {
  int writers = 4;
  int writes = 8000;
  int watchers = 100;
  int events = 300;
  int interval_us = 2000;
  bool tls = false;
};

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](int* out) {
      if (i + 1 >= argc) return false;
      *out = std::atoi(argv[++i]);
      return *out >= 0;
    };
    bool ok = true;
    if (a == "--writers") {
      ok = value(&f->writers);
    } else if (a == "--writes") {
      ok = value(&f->writes);
    } else if (a == "--watchers") {
      ok = value(&f->watchers);
    } else if (a == "--events") {
      ok = value(&f->events);
    } else if (a == "--interval-us") {
      ok = value(&f->interval_us);
    } else if (a == "--tls") {
      f->tls = true;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr,
                   "usage: kube_sim_bench [--writers N] [--writes N] [--watchers N] [--events N] "
                   "[--interval-us N] [--tls]\n");
      return false;
    }
  }
  return true;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now().time_since_epoch())
      .count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// One HTTP(S) client of the cluster, keep-alive, authenticated.
std::unique_ptr<httplib::Client> NewClient(const std::string& url, const std::string& ca_file) {
  auto c = std::make_unique<httplib::Client>(url);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_bearer_token_auth("kube-sim-admin-token");
  c->set_read_timeout(60, 0);
  if (!ca_file.empty()) c->set_ca_cert_path(ca_file.c_str());
  return c;
}

nlohmann::json ConfigMap(const std::string& name, int64_t stamp) {
  return {
      {"apiVersion", "v1"},
      {"kind", "ConfigMap"},
      {"metadata", {{"name", name}, {"annotations", {{"bench/sent-ns", std::to_string(stamp)}}}}},
      {"data", {{"k", "v"}}}};
}

void StoreWrites(Simulator& sim, int writes) {
  brfed::kubesim::Store* store = sim.cluster("bench")->store();
  ResourceKey cm{"", "v1", "configmaps"};
  auto start = Steady::now();
  for (int i = 0; i < writes; ++i) {
    auto r = store->Create(cm, "direct", ConfigMap("d-" + std::to_string(i), 0));
    if (!r.ok()) {
      std::fprintf(stderr, "store create: %s\n", r.status().ToString().c_str());
      return;
    }
  }
  double secs = std::chrono::duration<double>(Steady::now() - start).count();
  std::printf("store writes/s       %10.0f   (%d creates in-process)\n", writes / secs, writes);
}

void HttpWrites(const std::string& url, const std::string& ca, const Flags& f) {
  std::vector<std::vector<double>> lat(f.writers);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  auto start = Steady::now();
  for (int t = 0; t < f.writers; ++t) {
    threads.emplace_back([&, t] {
      auto client = NewClient(url, ca);
      for (int i = t; i < f.writes; i += f.writers) {
        std::string body = ConfigMap("w-" + std::to_string(i), 0).dump();
        auto t0 = Steady::now();
        auto res = client->Post("/api/v1/namespaces/bench/configmaps", body, "application/json");
        lat[t].push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
        if (!res || res->status != 201) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(Steady::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::printf(
      "HTTP writes/s        %10.0f   (%d creates, %d clients; latency p50 %.2f ms, p99 "
      "%.2f ms; %d failed)\n",
      f.writes / secs, f.writes, f.writers, Percentile(all, 0.5), Percentile(all, 0.99),
      failures.load());
}

// A watch stream decoding events and recording latencies.
struct Watcher {
  std::unique_ptr<httplib::Client> client;
  std::thread thread;
  std::mutex mu;
  std::vector<double> latencies_ms;  // GUARDED_BY(mu)
  std::atomic<int> seen{0};
  std::string pending;
};

void WatchFanOut(Simulator& sim, const std::string& url, const std::string& ca, const Flags& f) {
  uint64_t rv = sim.cluster("bench")->store()->resource_version();
  std::string path =
      "/api/v1/namespaces/fanout/configmaps?watch=1&resourceVersion=" + std::to_string(rv);
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < f.watchers; ++i) {
    auto w = std::make_unique<Watcher>();
    w->client = NewClient(url, ca);
    Watcher* wp = w.get();
    w->thread = std::thread([wp, path] {
      wp->client->Get(path, [wp](const char* data, size_t n) {
        int64_t now = NowNs();
        wp->pending.append(data, n);
        size_t nl;
        while ((nl = wp->pending.find('\n')) != std::string::npos) {
          nlohmann::json ev = nlohmann::json::parse(wp->pending.substr(0, nl), nullptr, false);
          wp->pending.erase(0, nl + 1);
          if (!ev.is_object() || ev.value("type", "") != "ADDED") continue;
          const nlohmann::json& ann = ev["object"]["metadata"]["annotations"];
          if (!ann.is_object() || !ann.contains("bench/sent-ns")) continue;
          int64_t sent = std::atoll(ann["bench/sent-ns"].get<std::string>().c_str());
          if (ev["object"]["metadata"]["name"].get<std::string>().rfind("warm-", 0) != 0) {
            std::lock_guard<std::mutex> lock(wp->mu);
            wp->latencies_ms.push_back(static_cast<double>(now - sent) / 1e6);
          }
          ++wp->seen;
        }
        return true;
      });
    });
    watchers.push_back(std::move(w));
  }
  auto writer = NewClient(url, ca);
  auto wait_all = [&](int count, std::chrono::seconds timeout) {
    auto deadline = Steady::now() + timeout;
    while (Steady::now() < deadline) {
      bool all = true;
      for (auto& w : watchers) all = all && w->seen.load() >= count;
      if (all) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  };
  // Warm-up: one event every watcher must see, so every stream is open before measuring.
  int warm = 0;
  do {
    writer->Post("/api/v1/namespaces/fanout/configmaps",
                 ConfigMap("warm-" + std::to_string(warm++), NowNs()).dump(), "application/json");
  } while (!wait_all(1, std::chrono::seconds(2)) && warm < 15);
  int base = watchers.empty() ? 0 : watchers[0]->seen.load();
  for (auto& w : watchers) base = std::min(base, w->seen.load());

  auto start = Steady::now();
  for (int i = 0; i < f.events; ++i) {
    auto next = start + std::chrono::microseconds(static_cast<int64_t>(f.interval_us) * i);
    std::this_thread::sleep_until(next);
    writer->Post("/api/v1/namespaces/fanout/configmaps",
                 ConfigMap("ev-" + std::to_string(i), NowNs()).dump(), "application/json");
  }
  bool complete = wait_all(warm + f.events, std::chrono::seconds(30));
  std::vector<double> all;
  size_t delivered = 0;
  for (auto& w : watchers) {
    w->client->stop();
    if (w->thread.joinable()) w->thread.join();
    std::lock_guard<std::mutex> lock(w->mu);
    delivered += w->latencies_ms.size();
    all.insert(all.end(), w->latencies_ms.begin(), w->latencies_ms.end());
  }
  std::printf("watch fan-out        %d watchers x %d events (1 per %d us): %zu delivered%s\n",
              f.watchers, f.events, f.interval_us, delivered, complete ? "" : " (INCOMPLETE)");
  std::printf("  write->event       p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", Percentile(all, 0.5),
              Percentile(all, 0.99), all.empty() ? 0 : *std::max_element(all.begin(), all.end()));
  (void)base;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  if (!ParseFlags(argc, argv, &f)) return 2;
  SimulatorOptions options;
  options.use_global_hooks = false;
  options.config_yaml = std::string("tls: ") + (f.tls ? "true" : "false") +
                        "\nthreads: " + std::to_string(f.watchers + f.writers + 16) +
                        "\nhistoryLimit: 100000\nclusters:\n  - name: bench\n    role: bench\n"
                        "    namespaces: [bench, fanout, direct]\n";
  auto sim = Simulator::Start(std::move(options));
  if (!sim.ok()) {
    std::fprintf(stderr, "kube-sim: %s\n", sim.status().ToString().c_str());
    return 1;
  }
  std::string url = (*sim)->endpoints()[0].url;
  std::string ca;
  if (f.tls) {
    ca = "/tmp/kube_sim_bench_ca.pem";
    FILE* out = std::fopen(ca.c_str(), "w");
    if (out == nullptr) return 1;
    std::string pem = (*sim)->ca_pem();
    std::fwrite(pem.data(), 1, pem.size(), out);
    std::fclose(out);
  }
  std::printf("kube-sim at %s\n", url.c_str());
  StoreWrites(**sim, f.writes);
  HttpWrites(url, ca, f);
  WatchFanOut(**sim, url, ca, f);
  (*sim)->Stop();
  return 0;
}
