// Metrics: counters, gauges and histograms with labels, rendered in the Prometheus text format
// (version 0.0.4) for /metrics.
//
//   metrics.Describe("fed_volume_backup_status", "counter", "VolumeBackups that ended, by status");
//   metrics.Add("fed_volume_backup_status", {{"namespace", "ns"}, {"tc", "a,b"}, {"status", "Complete"}});
//   metrics.Observe("brfed_journal_commit_seconds", {}, 0.0004);
//   metrics.AddCollector([&](Metrics& m) { m.Set("brfed_runs", {{"state", "Running"}}, n); });
//
// Thread-safe. Collectors run at Render() time (without the registry lock held).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brfed::manager {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // `type`: "counter" | "gauge" | "histogram". Series of an undescribed name are untyped.
  void Describe(const std::string& name, const std::string& type, const std::string& help);
  void Add(const std::string& name, const Labels& labels, double delta = 1);
  void Set(const std::string& name, const Labels& labels, double value);
  // Histogram with buckets 0.5ms … 60s (seconds).
  void Observe(const std::string& name, const Labels& labels, double value);
  // The current value of a counter or gauge series (0 when absent). For tests.
  double Get(const std::string& name, const Labels& labels) const;

  void AddCollector(std::function<void(Metrics&)> collector);
  std::string Render();

 private:
  struct Histogram {
    std::vector<uint64_t> counts;  // per bucket (not cumulative)
    uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    std::string type;
    std::string help;
    std::map<std::string, double> values;         // rendered labels → value
    std::map<std::string, Histogram> histograms;  // rendered labels → histogram
  };
  static std::string RenderLabels(const Labels& labels);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;                  // GUARDED_BY(mu_)
  std::vector<std::function<void(Metrics&)>> collectors_;   // GUARDED_BY(mu_)
};

}  // namespace brfed::manager
