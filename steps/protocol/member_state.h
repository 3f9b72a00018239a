// What a data-plane member says, parsed once with every value checked (issue 4 §1: an
// unparsable data-plane value fails the run with a message instead of retrying forever).
//
//   ASSIGN_OR_RETURN(BackupMember m, ParseBackupMember(obj, "k8s-2"));
//   if (auto why = BackupMemberFailure(m)) return Fail{FailedPreconditionError(*why)};
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/status.h"

namespace brfed::protocol {

struct MemberCommon {
  std::string k8s_cluster_name;
  std::string name;
  std::string ns;
  std::string tc_name;       // spec.br.cluster
  std::string tc_namespace;  // spec.br.clusterNamespace
  std::string phase;         // status.phase ("" right after creation)
  std::string commit_ts;     // status.commitTs as written (may be "")
  std::string failed_reason, failed_message;  // of the Failed condition, when phase is Failed
  bool deleting = false;     // metadata.deletionTimestamp set
  bool complete = false, failed = false, invalid = false;
};

struct BackupMember : MemberCommon {
  std::string federal_phase;  // spec.federalVolumeBackupPhase
  bool resume_gc = false;     // spec.resumeGcSchedule
  std::string backup_path;
  int64_t backup_size = 0;
  bool initialized = false, initialize_failed = false, snapshots_created = false;
  bool initialize_complete = false, volume_complete = false, volume_failed = false;
  bool clean_failed = false;
};

struct RestoreMember : MemberCommon {
  std::string federal_phase;  // spec.federalVolumeRestorePhase
  bool volume_complete = false, warmup_started = false, warmup_complete = false;
  bool tikv_complete = false, data_complete = false;
};

// kInvalidArgument naming the member, data plane and field for a value of the wrong type
// (e.g. "Backup tidb-cluster/fed-vb1 in k8s-2: status.backupSize: must be an integer").
Result<BackupMember> ParseBackupMember(const nlohmann::json& obj, std::string_view cluster);
Result<RestoreMember> ParseRestoreMember(const nlohmann::json& obj, std::string_view cluster);

// Why the member failed (VolumeBackupInitializeFailed, VolumeBackupFailed, Failed or Invalid),
// as "backup member <name> of cluster <k8s> failed: <reason>: <message>"; nullopt if it did not.
std::optional<std::string> BackupMemberFailure(const BackupMember& m);
// The §9.3 failure of a restore member: reason VolumeRestoreMemberInvalid or
// VolumeRestoreMemberFailed, with upstream's message.
struct MemberFailure {
  std::string reason;
  std::string message;
};
std::optional<MemberFailure> RestoreMemberFailure(const RestoreMember& m);

// min over members of int64(commitTs), in decimal. kInvalidArgument naming the member whose
// commitTs is empty or not an int64. REQUIRES: !members.empty().
Result<std::string> MinCommitTs(const std::vector<BackupMember>& members);

// §9.5: the index of the member with the smallest resolved ts (status.commitTs); ties go to the
// earliest. Failure reason VolumeRestoreMemberResolvedTsInvalid with upstream's messages.
Result<size_t> ChooseRestoreDataMember(const std::vector<RestoreMember>& members);
inline constexpr const char kResolvedTsInvalidReason[] = "VolumeRestoreMemberResolvedTsInvalid";

}  // namespace brfed::protocol
