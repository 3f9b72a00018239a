#include "manager/projection.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "steps/protocol/conditions.h"
#include "steps/protocol/member_state.h"
#include "steps/protocol/status.h"
#include "steps/step_util.h"

namespace brfed::manager {

using nlohmann::json;
namespace protocol = brfed::protocol;

namespace {

json CurrentStatus(const json& obj) {
  auto it = obj.find("status");
  return it != obj.end() && it->is_object() ? *it : json::object();
}

// When every instance of `step` has succeeded: the latest finish time. nullopt otherwise (or
// when the step has no instance yet).
std::optional<TimePoint> StepSucceeded(const RunView& run, std::string_view step) {
  std::optional<TimePoint> last;
  bool any = false;
  for (const InstanceView& i : run.instances) {
    if (i.step_id != step) continue;
    any = true;
    if (i.state != InstanceState::kSucceeded) return std::nullopt;
    if (!last || i.finished_at > *last) last = i.finished_at;
  }
  // A forEach step with no items has no instances but has succeeded; it never applies to the
  // federation workflows (spec.clusters is never empty after validation).
  return any ? last : std::nullopt;
}

// The first attempt start of `step`, when it has started.
std::optional<TimePoint> StepStarted(const RunView& run, std::string_view step) {
  std::optional<TimePoint> first;
  for (const InstanceView& i : run.instances) {
    if (i.step_id != step || i.attempt == 0) continue;
    if (!first || i.started_at < *first) first = i.started_at;
  }
  return first;
}

const InstanceView* FindInstance(const RunView& run, std::string_view step) {
  for (const InstanceView& i : run.instances) {
    if (i.step_id == step) return &i;
  }
  return nullptr;
}

std::string OutputString(const RunView& run, std::string_view step, std::string_view key) {
  const InstanceView* i = FindInstance(run, step);
  if (i == nullptr) return "";
  const Value* v = i->outputs.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : "";
}

template <typename Member, typename Parse, typename Entry>
std::vector<Member> RefreshEntries(json* status, const MemberObjects& members, const json& fed,
                                   Parse parse, Entry entry) {
  std::vector<Member> parsed;
  const json& clusters = fed["spec"]["clusters"];
  for (size_t i = 0; i < members.size() && i < clusters.size(); ++i) {
    if (!members[i]) continue;
    auto m = parse(*members[i], protocol::StringAt(clusters[i], {"k8sClusterName"}));
    if (!m.ok()) continue;  // the run's steps report unparsable members; status shows the rest
    protocol::UpsertMemberEntry(status, entry(*m));
    parsed.push_back(std::move(*m));
  }
  return parsed;
}

// The member entries the run's steps journaled as `member` outputs, the one of the instance
// that finished last per data plane, upserted into `status`.
void UpsertJournaledMembers(const RunView& run, json* status) {
  std::map<std::string, std::pair<TimePoint, json>> latest;
  for (const InstanceView& i : run.instances) {
    const Value* member = i.outputs.Find("member");
    if (member == nullptr || !member->is_map()) continue;
    json entry = steps::FromValue(*member);
    if (!entry.is_object()) continue;
    std::string cluster = protocol::StringAt(entry, {"k8sClusterName"});
    auto it = latest.find(cluster);
    if (it == latest.end() || i.finished_at >= it->second.first) {
      latest.insert_or_assign(cluster, std::make_pair(i.finished_at, std::move(entry)));
    }
  }
  for (const auto& [cluster, entry] : latest) protocol::UpsertMemberEntry(status, entry.second);
}

// The member entries the finalize step journaled (every member, Complete), upserted into
// `status`, with the sizes they carry; nullopt for a run journaled without them. A data plane's
// watch cache may lag (a member created just before its watch broke), the journal does not.
std::optional<std::vector<protocol::BackupMember>> FinalMembers(const RunView& run, json* status) {
  const InstanceView* finalize = FindInstance(run, "finalize");
  const Value* entries = finalize != nullptr ? finalize->outputs.Find("backups") : nullptr;
  if (entries == nullptr || !entries->is_list()) return std::nullopt;
  json list = steps::FromValue(*entries);
  if (!list.is_array()) return std::nullopt;
  std::vector<protocol::BackupMember> members;
  for (const json& e : list) {
    if (!e.is_object()) continue;
    protocol::UpsertMemberEntry(status, e);
    protocol::BackupMember m;
    m.k8s_cluster_name = protocol::StringAt(e, {"k8sClusterName"});
    const json& size = e.contains("backupSize") ? e["backupSize"] : json();
    m.backup_size = size.is_number_integer() ? size.get<int64_t>() : 0;
    members.push_back(std::move(m));
  }
  return members;
}

bool IsReasonToken(std::string_view s) {
  if (s.empty() || !(s[0] >= 'A' && s[0] <= 'Z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

}  // namespace

FailureText RunFailure(const RunView& run, const char* default_reason) {
  if (run.state == RunState::kCancelled) {
    return {"Cancelled", run.message.empty() ? "the run was cancelled" : run.message};
  }
  // The first failed instance carries the step's own words.
  for (const InstanceView& i : run.instances) {
    if (i.state != InstanceState::kFailed && i.state != InstanceState::kTimedOut) continue;
    std::string text = i.last_error.message();
    if (i.state == InstanceState::kTimedOut && text.empty()) {
      text = "step " + i.step_id + " timed out";
    }
    size_t colon = text.find(": ");
    if (colon != std::string::npos && IsReasonToken(std::string_view(text).substr(0, colon))) {
      return {text.substr(0, colon), text.substr(colon + 2)};
    }
    if (i.step_id == "rbac") return {"PermissionDenied", text};
    return {default_reason, text};
  }
  return {default_reason, run.message};
}

json ProjectBackupStatus(const json& vbk, const RunView* run, const MemberObjects& members) {
  json status = CurrentStatus(vbk);
  if (run == nullptr) return status;
  protocol::MarkRunning(&status, run->started_at);
  std::vector<protocol::BackupMember> parsed = RefreshEntries<protocol::BackupMember>(
      &status, members, vbk,
      [](const json& o, const std::string& c) { return protocol::ParseBackupMember(o, c); },
      [](const protocol::BackupMember& m) { return protocol::BackupEntry(m); });
  if (auto t = StepSucceeded(*run, "resume-gc")) {
    protocol::SetCondition(&status, "SnapshotsCreated", "", "", *t);
  }
  if (run->state == RunState::kSucceeded) {
    std::string commit_ts = OutputString(*run, "finalize", "commitTs");
    if (std::optional<std::vector<protocol::BackupMember>> final = FinalMembers(*run, &status)) {
      parsed = std::move(*final);
    }
    protocol::WriteBackupComplete(&status, parsed, commit_ts, run->finished_at);
  } else if (run->state == RunState::kFailed || run->state == RunState::kCancelled) {
    FailureText f = RunFailure(*run, protocol::kBackupMemberFailedReason);
    protocol::WriteBackupFailed(&status, parsed, f.reason, f.message, run->finished_at);
  }
  return status;
}

json ProjectRestoreStatus(const json& vrt, const RunView* run, const MemberObjects& members) {
  json status = CurrentStatus(vrt);
  if (run == nullptr) return status;
  protocol::MarkRunning(&status, run->started_at);
  RefreshEntries<protocol::RestoreMember>(
      &status, members, vrt,
      [](const json& o, const std::string& c) { return protocol::ParseRestoreMember(o, c); },
      [](const protocol::RestoreMember& m) { return protocol::RestoreEntry(m); });
  std::string warmup = protocol::StringAt(vrt, {"spec", "template", "warmup"});
  bool wal_only =
      protocol::StringAt(vrt, {"spec", "template", "warmupStrategy"}) == "check-wal-only";

  // The steps[] and conditions follow the order of §9.3/§9.4; each is written once, at the
  // journaled time of the step that observed it.
  if (auto t = StepStarted(*run, "volume"))
    protocol::StartRestoreStep(&status, "RestoreVolume", *t);
  if (auto t = StepSucceeded(*run, "volume")) {
    protocol::SetCondition(&status, "VolumeComplete", "", "", *t);
    protocol::FinishRestoreStep(&status, "RestoreVolume", *t);
    if (warmup == "sync") {
      protocol::StartRestoreStep(&status, "WarmUp", *t);
    } else if (warmup == "async") {
      protocol::StartRestoreStep(&status, "StartTiKV", *t);
      protocol::StartRestoreStep(&status, "WarmUp", *t);
    } else {
      protocol::StartRestoreStep(&status, "StartTiKV", *t);
    }
  }
  if (auto t = StepSucceeded(*run, "warmup"); t && !warmup.empty()) {
    protocol::SetCondition(&status, "WarmUpStarted", "", "", *t);
    if (warmup == "sync" || wal_only) {
      protocol::SetCondition(&status, "WarmUpComplete", "", "", *t);
      protocol::FinishRestoreStep(&status, "WarmUp", *t);
      if (warmup == "sync") protocol::StartRestoreStep(&status, "StartTiKV", *t);
    }
  }
  if (!wal_only) {
    if (auto t = StepSucceeded(*run, "tikv")) {
      protocol::SetCondition(&status, "TikvComplete", "", "", *t);
      protocol::FinishRestoreStep(&status, "StartTiKV", *t);
    }
    if (auto t = StepStarted(*run, "data")) protocol::StartRestoreStep(&status, "RestoreData", *t);
    if (auto t = StepSucceeded(*run, "data")) {
      status["commitTs"] = OutputString(*run, "data", "commitTs");
      protocol::SetCondition(&status, "DataComplete", "", "", *t);
      protocol::FinishRestoreStep(&status, "RestoreData", *t);
      protocol::StartRestoreStep(&status, "RestartTiKV", *t);
    }
    if (auto t = StepSucceeded(*run, "finish"))
      protocol::FinishRestoreStep(&status, "RestartTiKV", *t);
    if (auto t = StepSucceeded(*run, "warmup-async"); t && warmup == "async") {
      protocol::SetCondition(&status, "WarmUpComplete", "", "", *t);
      protocol::FinishRestoreStep(&status, "WarmUp", *t);
    }
  }
  if (run->state == RunState::kSucceeded) {
    UpsertJournaledMembers(*run, &status);
    protocol::WriteRestoreComplete(&status, run->finished_at);
  } else if (run->state == RunState::kFailed || run->state == RunState::kCancelled) {
    FailureText f = RunFailure(*run, "VolumeRestoreMemberFailed");
    protocol::WriteRestoreFailed(&status, f.reason, f.message, run->finished_at);
  }
  return status;
}

}  // namespace brfed::manager
