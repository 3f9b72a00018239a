#include "steps/protocol/member_state.h"

#include <nlohmann/json.hpp>

#include "steps/protocol/conditions.h"
#include "steps/protocol/format.h"

namespace brfed::protocol {

using nlohmann::json;

namespace {

std::string Where(const json& obj, std::string_view kind, std::string_view cluster) {
  return std::string(kind) + " " + StringAt(obj, {"metadata", "namespace"}) + "/" +
         StringAt(obj, {"metadata", "name"}) + " in " + std::string(cluster);
}

// A string field that must be a string when present.
Status ReadString(const json& obj, std::initializer_list<std::string_view> path,
                  const std::string& where, std::string* out) {
  const json* cur = &obj;
  std::string dotted;
  for (std::string_view key : path) {
    dotted += dotted.empty() ? "" : ".";
    dotted += key;
    if (!cur->is_object()) return InvalidArgumentError(where + ": " + dotted + ": must be an object");
    auto it = cur->find(key);
    if (it == cur->end() || it->is_null()) return Status::OK();
    cur = &*it;
  }
  if (!cur->is_string()) return InvalidArgumentError(where + ": " + dotted + ": must be a string");
  *out = cur->get<std::string>();
  return Status::OK();
}

Status ReadCommon(const json& obj, std::string_view kind, std::string_view cluster,
                  MemberCommon* m) {
  std::string where = Where(obj, kind, cluster);
  if (!obj.is_object()) return InvalidArgumentError(where + ": not an object");
  m->k8s_cluster_name = std::string(cluster);
  RETURN_IF_ERROR(ReadString(obj, {"metadata", "name"}, where, &m->name));
  RETURN_IF_ERROR(ReadString(obj, {"metadata", "namespace"}, where, &m->ns));
  RETURN_IF_ERROR(ReadString(obj, {"spec", "br", "cluster"}, where, &m->tc_name));
  RETURN_IF_ERROR(ReadString(obj, {"spec", "br", "clusterNamespace"}, where, &m->tc_namespace));
  RETURN_IF_ERROR(ReadString(obj, {"status", "phase"}, where, &m->phase));
  RETURN_IF_ERROR(ReadString(obj, {"status", "commitTs"}, where, &m->commit_ts));
  if (obj.contains("status") && obj["status"].is_object() &&
      obj["status"].contains("conditions") && !obj["status"]["conditions"].is_null() &&
      !obj["status"]["conditions"].is_array()) {
    return InvalidArgumentError(where + ": status.conditions: must be a list");
  }
  m->deleting = !StringAt(obj, {"metadata", "deletionTimestamp"}).empty();
  m->complete = IsConditionTrue(obj, "Complete");
  m->failed = IsConditionTrue(obj, "Failed");
  m->invalid = IsConditionTrue(obj, "Invalid");
  const char* bad_type = m->failed ? "Failed" : m->invalid ? "Invalid" : nullptr;
  if (bad_type != nullptr) {
    auto c = FindCondition(obj, bad_type);
    if (c) {
      m->failed_reason = StringAt(*c, {"reason"});
      m->failed_message = StringAt(*c, {"message"});
    }
  }
  return Status::OK();
}

std::string Detail(const MemberCommon& m) {
  std::string d;
  if (!m.failed_reason.empty()) d += ": " + m.failed_reason;
  if (!m.failed_message.empty()) d += ": " + m.failed_message;
  return d;
}

}  // namespace

Result<BackupMember> ParseBackupMember(const json& obj, std::string_view cluster) {
  BackupMember m;
  RETURN_IF_ERROR(ReadCommon(obj, "Backup", cluster, &m));
  std::string where = Where(obj, "Backup", cluster);
  RETURN_IF_ERROR(ReadString(obj, {"spec", "federalVolumeBackupPhase"}, where, &m.federal_phase));
  RETURN_IF_ERROR(ReadString(obj, {"status", "backupPath"}, where, &m.backup_path));
  const json& spec = obj.value("spec", json::object());
  if (spec.is_object() && spec.contains("resumeGcSchedule") && !spec["resumeGcSchedule"].is_null()) {
    if (!spec["resumeGcSchedule"].is_boolean()) {
      return InvalidArgumentError(where + ": spec.resumeGcSchedule: must be a boolean");
    }
    m.resume_gc = spec["resumeGcSchedule"].get<bool>();
  }
  const json& status = obj.value("status", json::object());
  if (status.is_object() && status.contains("backupSize") && !status["backupSize"].is_null()) {
    if (!status["backupSize"].is_number_integer()) {
      return InvalidArgumentError(where + ": status.backupSize: must be an integer");
    }
    m.backup_size = status["backupSize"].get<int64_t>();
  }
  bool volume_mode = StringAt(obj, {"spec", "backupMode"}) == "volume-snapshot";
  if (volume_mode) {
    m.initialized = IsConditionTrue(obj, "VolumeBackupInitialized");
    m.initialize_failed = IsConditionTrue(obj, "VolumeBackupInitializeFailed");
    m.snapshots_created = IsConditionTrue(obj, "VolumeBackupSnapshotsCreated");
    m.initialize_complete = IsConditionTrue(obj, "VolumeBackupInitializeComplete");
    m.volume_complete = IsConditionTrue(obj, "VolumeBackupComplete");
    m.volume_failed = IsConditionTrue(obj, "VolumeBackupFailed");
  }
  m.clean_failed = IsConditionTrue(obj, "CleanFailed");
  if (m.failed_reason.empty() && (m.initialize_failed || m.volume_failed)) {
    auto c = FindCondition(obj, m.initialize_failed ? "VolumeBackupInitializeFailed"
                                                     : "VolumeBackupFailed");
    if (c) {
      m.failed_reason = StringAt(*c, {"reason"});
      m.failed_message = StringAt(*c, {"message"});
    }
  }
  return m;
}

Result<RestoreMember> ParseRestoreMember(const json& obj, std::string_view cluster) {
  RestoreMember m;
  RETURN_IF_ERROR(ReadCommon(obj, "Restore", cluster, &m));
  std::string where = Where(obj, "Restore", cluster);
  RETURN_IF_ERROR(ReadString(obj, {"spec", "federalVolumeRestorePhase"}, where, &m.federal_phase));
  m.volume_complete = IsConditionTrue(obj, "VolumeComplete");
  m.warmup_started = IsConditionTrue(obj, "WarmUpStarted");
  m.warmup_complete = IsConditionTrue(obj, "WarmUpComplete");
  m.tikv_complete = IsConditionTrue(obj, "TikvComplete");
  m.data_complete = IsConditionTrue(obj, "DataComplete");
  return m;
}

std::optional<std::string> BackupMemberFailure(const BackupMember& m) {
  if (!(m.initialize_failed || m.volume_failed || m.failed || m.invalid)) return std::nullopt;
  std::string what = m.initialize_failed ? " initialize failed" : " failed";
  return "backup member " + m.name + " of cluster " + m.k8s_cluster_name + what + Detail(m);
}

std::optional<MemberFailure> RestoreMemberFailure(const RestoreMember& m) {
  if (m.invalid) {
    return MemberFailure{"VolumeRestoreMemberInvalid", "restore member " + m.name +
                                                           " of cluster " + m.k8s_cluster_name +
                                                           " is invalid" + Detail(m)};
  }
  if (m.failed) {
    return MemberFailure{"VolumeRestoreMemberFailed", "restore member " + m.name + " of cluster " +
                                                          m.k8s_cluster_name + " is failed" +
                                                          Detail(m)};
  }
  return std::nullopt;
}

Result<std::string> MinCommitTs(const std::vector<BackupMember>& members) {
  std::optional<int64_t> min;
  for (const BackupMember& m : members) {
    std::optional<int64_t> ts = ParseInt64(m.commit_ts);
    if (!ts) {
      return InvalidArgumentError("backup member " + m.name + " of cluster " +
                                  m.k8s_cluster_name + ": status.commitTs \"" + m.commit_ts +
                                  "\" is not an int64");
    }
    if (!min || *ts < *min) min = ts;
  }
  if (!min) return InvalidArgumentError("no backup member to take commitTs from");
  return std::to_string(*min);
}

Result<size_t> ChooseRestoreDataMember(const std::vector<RestoreMember>& members) {
  std::optional<size_t> best;
  int64_t best_ts = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    const RestoreMember& m = members[i];
    std::string who = "restore member " + m.name + " of cluster " + m.k8s_cluster_name;
    if (m.commit_ts.empty()) {
      return Status(StatusCode::kFailedPrecondition, "commit ts in " + who + " is empty");
    }
    std::optional<int64_t> ts = ParseInt64(m.commit_ts);
    if (!ts) {
      return Status(StatusCode::kFailedPrecondition,
                    "parse resolved ts " + m.commit_ts + " to int64 in " + who + " error");
    }
    if (!best || *ts < best_ts) {
      best = i;
      best_ts = *ts;
    }
  }
  if (!best) return FailedPreconditionError("no restore member to restore data from");
  return *best;
}

}  // namespace brfed::protocol
