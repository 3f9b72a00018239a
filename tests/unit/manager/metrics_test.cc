#include "manager/metrics.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "manager/manager_metrics.h"

namespace brfed::manager {
namespace {

TEST(Metrics, RendersPrometheusTextWithEscapedLabels) {
  Metrics m;
  m.Describe("requests_total", "counter", "Requests");
  m.Add("requests_total", {{"cluster", "k8s-1"}, {"note", "a\"b"}}, 2);
  m.Add("requests_total", {{"cluster", "k8s-1"}, {"note", "a\"b"}});
  m.Observe("latency_seconds", {}, 0.003);
  std::string text = m.Render();
  EXPECT_NE(text.find("# TYPE requests_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("requests_total{cluster=\"k8s-1\",note=\"a\\\"b\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"0.0025\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"+Inf\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("latency_seconds_count 1\n"), std::string::npos) << text;
}

TEST(ManagerMetrics, CountsUpstreamBackupTransitionsOnce) {
  Metrics m;
  RegisterManagerMetrics(&m);
  nlohmann::json before = nlohmann::json::parse(R"({
    "kind": "VolumeBackup", "metadata": {"namespace": "ns"},
    "spec": {"clusters": [{"tcName": "b"}, {"tcName": "a"}]},
    "status": {"conditions": [{"type": "Running", "status": "True"}]}})");
  nlohmann::json after = nlohmann::json::parse(R"({
    "timeStarted": "2024-05-01T00:00:00Z", "timeCompleted": "2024-05-01T00:01:00Z",
    "backupSize": 2147483648,
    "conditions": [{"type": "Running", "status": "True"}, {"type": "Complete", "status": "True"}]})");
  ObserveStatusWrite(&m, before, after, TimePoint{});
  Labels complete = {{"namespace", "ns"}, {"tc", "a,b"}, {"status", "Complete"}};
  EXPECT_EQ(m.Get("fed_volume_backup_status", complete), 1);
  EXPECT_EQ(m.Get("fed_volume_backup_total_time_sec", {{"namespace", "ns"}, {"tc", "a,b"}}), 60);
  EXPECT_EQ(m.Get("fed_volume_backup_total_size_gb", {{"namespace", "ns"}, {"tc", "a,b"}}), 2);
  // A later write of the same terminal status counts nothing more.
  nlohmann::json done = before;
  done["status"] = after;
  ObserveStatusWrite(&m, done, after, TimePoint{});
  EXPECT_EQ(m.Get("fed_volume_backup_status", complete), 1);
  EXPECT_EQ(m.Get("fed_volume_backup_status", {{"namespace", "ns"}, {"tc", "a,b"}, {"status", "Failed"}}), 0);
}

}  // namespace
}  // namespace brfed::manager
