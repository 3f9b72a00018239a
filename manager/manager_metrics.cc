#include "manager/manager_metrics.h"

#include <algorithm>
#include <vector>

#include "steps/protocol/conditions.h"
#include "steps/protocol/format.h"
#include "storage/journal.h"

namespace brfed::manager {

using nlohmann::json;

namespace {

// upstream's `tc` label: the sorted, comma-joined spec.clusters[].tcName.
std::string TcLabel(const json& obj) {
  std::vector<std::string> names;
  const json& spec = obj.value("spec", json::object());
  if (spec.is_object() && spec.contains("clusters") && spec["clusters"].is_array()) {
    for (const json& c : spec["clusters"]) names.push_back(protocol::StringAt(c, {"tcName"}));
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

double Seconds(const std::string& from, const std::string& to) {
  auto a = protocol::ParseKubeTime(from);
  auto b = protocol::ParseKubeTime(to);
  if (!a.ok() || !b.ok()) return 0;
  return std::chrono::duration<double>(*b - *a).count();
}

}  // namespace

void RegisterManagerMetrics(Metrics* m) {
  m->Describe("fed_volume_backup_status", "counter", "VolumeBackups that ended, by status");
  m->Describe("fed_volume_backup_total_time_sec", "counter",
              "Seconds from start to end of VolumeBackups");
  m->Describe("fed_volume_backup_total_size_gb", "counter", "GiB backed up by VolumeBackups");
  m->Describe("fed_volume_backup_cleanup_status", "counter", "VolumeBackup clean-ups, by status");
  m->Describe("fed_volume_backup_cleanup_total_time_sec", "counter",
              "Seconds from deletion to clean-up of VolumeBackups");
  m->Describe("brfed_runs_finished_total", "counter", "Runs finished, by workflow and state");
  m->Describe("brfed_runs_active", "gauge", "Unfinished runs held by the engine");
  m->Describe("brfed_runs_waiting", "gauge",
              "Runs whose running attempts wait for room among the Reconcile calls in flight");
  m->Describe("brfed_step_attempts_total", "counter",
              "Step attempts of finished runs, by action and result");
  m->Describe("brfed_engine_transitions_total", "counter", "Journaled transitions");
  m->Describe("brfed_engine_reconciles_total", "counter", "Reconcile calls");
  m->Describe("brfed_engine_recovered_runs", "gauge", "Unfinished runs resumed at start");
  m->Describe("brfed_engine_recovery_seconds", "gauge",
              "Seconds the engine took at start to resume its unfinished runs");
  m->Describe("brfed_journal_batches_total", "counter", "Journal write batches (one fsync each)");
  m->Describe("brfed_journal_records_total", "counter", "Journal records committed");
  m->Describe("brfed_journal_commit_latency_seconds", "gauge",
              "Append-to-durable latency of journal records, by quantile");
  m->Describe("brfed_kube_requests_total", "counter", "Kubernetes API requests sent, by cluster");
  m->Describe("brfed_gc_pause_window_seconds", "histogram",
              "From the start of initialize to the end of the GC/PD pause request, per backup");
}

void ObserveStatusWrite(Metrics* m, const json& before, const json& status, TimePoint now) {
  if (before.value("kind", "") != "VolumeBackup") return;
  std::string ns = protocol::StringAt(before, {"metadata", "namespace"});
  std::string tc = TcLabel(before);
  for (const char* s : {"Running", "SnapshotsCreated", "Complete", "Failed", "Cleaned"}) {
    m->Add("fed_volume_backup_status", {{"namespace", ns}, {"tc", tc}, {"status", s}}, 0);
  }
  json wrapped = {{"status", status}};
  auto became = [&](const char* type) {
    return protocol::IsConditionTrue(wrapped, type) && !protocol::IsConditionTrue(before, type);
  };
  Labels base = {{"namespace", ns}, {"tc", tc}};
  if (became("Complete") || became("Failed")) {
    std::string phase = became("Complete") ? "Complete" : "Failed";
    m->Add("fed_volume_backup_status", {{"namespace", ns}, {"tc", tc}, {"status", phase}});
    m->Add("fed_volume_backup_total_time_sec", base,
           Seconds(protocol::StringAt(status, {"timeStarted"}),
                   protocol::StringAt(status, {"timeCompleted"})));
    int64_t size = status.value("backupSize", json(0)).is_number_integer()
                       ? status["backupSize"].get<int64_t>()
                       : 0;
    if (size > 0) {
      m->Add("fed_volume_backup_total_size_gb", base,
             static_cast<double>(size) / (1024.0 * 1024 * 1024));
    }
  } else if (became("Cleaned") || became("CleanFailed")) {
    std::string phase = became("Cleaned") ? "Cleaned" : "CleanFailed";
    m->Add("fed_volume_backup_cleanup_status", {{"namespace", ns}, {"tc", tc}, {"status", phase}});
    m->Add("fed_volume_backup_cleanup_total_time_sec", base,
           Seconds(protocol::StringAt(before, {"metadata", "deletionTimestamp"}),
                   protocol::FormatKubeTime(now)));
  }
}

void ObserveRun(
    Metrics* m, const RunView& run,
    const std::function<std::string(const std::string&, const std::string&)>& action_of) {
  if (!IsFinished(run.state)) return;
  m->Add("brfed_runs_finished_total",
         {{"workflow", run.workflow_name}, {"state", std::string(RunStateName(run.state))}});
  std::optional<TimePoint> pause_start, pause_end, teardown_end;
  for (const InstanceView& i : run.instances) {
    if (i.attempt > 0) {
      // Every attempt but the last failed (or timed out); the last ended in the final state.
      std::string action = action_of(run.workflow_name, i.step_id);
      if (i.attempt > 1) {
        m->Add("brfed_step_attempts_total", {{"action", action}, {"result", "retried"}},
               i.attempt - 1);
      }
      m->Add("brfed_step_attempts_total",
             {{"action", action}, {"result", std::string(InstanceStateName(i.state))}});
    }
    if (i.step_id == "initialize" && i.attempt > 0) pause_start = i.started_at;
    if (i.step_id == "resume-gc" && i.state == InstanceState::kSucceeded) pause_end = i.finished_at;
    if (i.step_id == "teardown" && i.state == InstanceState::kSucceeded)
      teardown_end = i.finished_at;
  }
  if (run.workflow_name == "volume-backup" && pause_start) {
    std::optional<TimePoint> end = pause_end ? pause_end : teardown_end;
    if (end) {
      m->Observe("brfed_gc_pause_window_seconds", {},
                 std::chrono::duration<double>(*end - *pause_start).count());
    }
  }
}

void AddEngineCollector(Metrics* m, Engine* engine, Journal* journal,
                        const kube::ClientSet* data_planes, const kube::Client* control_plane) {
  m->AddCollector([engine, journal, data_planes, control_plane](Metrics& out) {
    EngineStats es = engine->stats();
    out.Set("brfed_runs_active", {}, static_cast<double>(es.active_runs));
    out.Set("brfed_runs_waiting", {}, static_cast<double>(es.runs_waiting));
    out.Set("brfed_engine_transitions_total", {}, static_cast<double>(es.transitions));
    out.Set("brfed_engine_reconciles_total", {}, static_cast<double>(es.reconciles));
    out.Set("brfed_engine_recovered_runs", {}, static_cast<double>(es.recovery.runs));
    out.Set("brfed_engine_recovery_seconds", {},
            es.recovery.fold_seconds + es.recovery.index_seconds + es.recovery.first_pass_seconds);
    JournalStats js = journal->stats();
    out.Set("brfed_journal_batches_total", {}, static_cast<double>(js.batches));
    out.Set("brfed_journal_records_total", {}, static_cast<double>(js.records));
    if (auto* ldb = dynamic_cast<const LevelDbJournal*>(journal)) {
      LatencySummary l = ldb->AppendLatency();
      out.Set("brfed_journal_commit_latency_seconds", {{"quantile", "0.5"}}, l.p50_nanos / 1e9);
      out.Set("brfed_journal_commit_latency_seconds", {{"quantile", "0.99"}}, l.p99_nanos / 1e9);
    }
    for (const std::string& c : data_planes->cluster_names()) {
      out.Set("brfed_kube_requests_total", {{"cluster", c}},
              static_cast<double>((*data_planes->Get(c))->requests_sent()));
    }
    out.Set("brfed_kube_requests_total", {{"cluster", control_plane->cluster_name()}},
            static_cast<double>(control_plane->requests_sent()));
  });
}

}  // namespace brfed::manager
