#include "steps/protocol/status.h"

#include <nlohmann/json.hpp>

#include "steps/protocol/conditions.h"
#include "steps/protocol/format.h"

namespace brfed::protocol {

using nlohmann::json;

namespace {

json& EnsureObject(json* status) {
  if (!status->is_object()) *status = json::object();
  return *status;
}

bool HasTrueCondition(const json& status, std::string_view type) {
  return IsConditionTrue(json{{"status", status}}, type);
}

// timeCompleted := now; timeTaken := now - timeStarted (when timeStarted parses).
void StampCompletion(json* status, TimePoint now) {
  json& s = EnsureObject(status);
  s["timeCompleted"] = FormatKubeTime(now);
  std::string started = StringAt(s, {"timeStarted"});
  auto t = ParseKubeTime(started);
  // Go computes with whole-second stamps as read back from the API; do the same.
  TimePoint now_s = std::chrono::floor<std::chrono::seconds>(now);
  if (t.ok()) s["timeTaken"] = TimeTakenText(now_s - *t);
}

void StampSizes(json* status, const std::vector<BackupMember>& members) {
  int64_t total = 0;
  for (const BackupMember& m : members) total += m.backup_size;
  (*status)["backupSize"] = total;
  (*status)["backupSizeReadable"] = ReadableSize(total);
}

json CommonEntry(const MemberCommon& m) {
  json e = {{"k8sClusterName", m.k8s_cluster_name},
            {"tcName", m.tc_name},
            {"tcNamespace", m.tc_namespace},
            {"phase", m.phase}};
  if (!m.commit_ts.empty()) e["commitTs"] = m.commit_ts;
  if (m.phase == "Failed") {
    if (!m.failed_reason.empty()) e["reason"] = m.failed_reason;
    if (!m.failed_message.empty()) e["message"] = m.failed_message;
  }
  return e;
}

}  // namespace

void MarkRunning(json* status, TimePoint now) {
  json& s = EnsureObject(status);
  if (HasTrueCondition(s, "Running")) return;
  s["timeStarted"] = FormatKubeTime(now);
  SetCondition(&s, "Running", "", "", now);
}

json BackupEntry(const BackupMember& m) {
  json e = CommonEntry(m);
  e["backupName"] = m.name;
  if (!m.backup_path.empty()) e["backupPath"] = m.backup_path;
  if (m.backup_size != 0) e["backupSize"] = m.backup_size;
  return e;
}

json RestoreEntry(const RestoreMember& m) {
  json e = CommonEntry(m);
  e["restoreName"] = m.name;
  return e;
}

void UpsertMemberEntry(json* status, const json& entry) {
  json& s = EnsureObject(status);
  bool is_backup = entry.contains("backupName");
  const char* list_key = is_backup ? "backups" : "restores";
  const char* name_key = is_backup ? "backupName" : "restoreName";
  json& list = s[list_key];
  if (!list.is_array()) list = json::array();
  for (json& e : list) {
    if (e.is_object() && e.value(name_key, "") == entry.value(name_key, "") &&
        e.value("k8sClusterName", "") == entry.value("k8sClusterName", "")) {
      e = entry;
      return;
    }
  }
  list.push_back(entry);
}

void WriteBackupComplete(json* status, const std::vector<BackupMember>& members,
                         const std::string& commit_ts, TimePoint now) {
  StampCompletion(status, now);
  StampSizes(status, members);
  (*status)["commitTs"] = commit_ts;
  SetCondition(status, "Complete", "", "", now);
}

void WriteBackupFailed(json* status, const std::vector<BackupMember>& members,
                       std::string_view reason, std::string_view message, TimePoint now) {
  StampCompletion(status, now);
  StampSizes(status, members);
  SetCondition(status, "Failed", reason, message, now);
}

void StartRestoreStep(json* status, std::string_view step, TimePoint now) {
  json& s = EnsureObject(status);
  json& steps = s["steps"];
  if (!steps.is_array()) steps = json::array();
  for (const json& e : steps) {
    if (e.is_object() && e.value("stepName", "") == step) return;
  }
  steps.push_back({{"stepName", step}, {"timeStarted", FormatKubeTime(now)}});
}

void FinishRestoreStep(json* status, std::string_view step, TimePoint now) {
  json& s = EnsureObject(status);
  if (!s.contains("steps") || !s["steps"].is_array()) return;
  for (json& e : s["steps"]) {
    if (!e.is_object() || e.value("stepName", "") != step) continue;
    if (e.contains("timeCompleted") && !e["timeCompleted"].is_null()) return;
    e["timeCompleted"] = FormatKubeTime(now);
    auto started = ParseKubeTime(StringAt(e, {"timeStarted"}));
    if (started.ok()) {
      e["timeTaken"] = TimeTakenText(std::chrono::floor<std::chrono::seconds>(now) - *started);
    }
    return;
  }
}

void WriteRestoreComplete(json* status, TimePoint now) {
  StampCompletion(status, now);
  SetCondition(status, "Complete", "", "", now);
}

void WriteRestoreFailed(json* status, std::string_view reason, std::string_view message,
                        TimePoint now) {
  StampCompletion(status, now);
  SetCondition(status, "Failed", reason, message, now);
}

}  // namespace brfed::protocol
