// Projection of what the members say onto a federation object's `status`, written exactly as
// upstream writes it (FEDERATION_PROTOCOL §3.6–3.8, §4.3–4.6), so printer columns and tooling
// that read status keep working.
//
//   MarkRunning(&status, now);
//   UpsertMemberEntry(&status, BackupEntry(member));
//   WriteBackupComplete(&status, members, commit_ts, now);
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/env.h"
#include "steps/protocol/member_state.h"

namespace brfed::protocol {

inline constexpr const char kBackupMemberFailedReason[] = "VolumeBackupMemberFailed";

// First sync: timeStarted := now and condition Running, unless Running is already true.
void MarkRunning(nlohmann::json* status, TimePoint now);

// The status.backups[] / status.restores[] entry of a member (§3.7, §4.4).
nlohmann::json BackupEntry(const BackupMember& m);
nlohmann::json RestoreEntry(const RestoreMember& m);

// Replaces the entry with the same (name, k8sClusterName) wholesale, else appends. The list is
// status.backups for a Backup entry (has "backupName") and status.restores otherwise.
void UpsertMemberEntry(nlohmann::json* status, const nlohmann::json& entry);

// Terminal writes (§8.7): timeCompleted, timeTaken, size sum over members, then for Complete
// the commitTs and condition Complete; for Failed the condition Failed with reason/message.
void WriteBackupComplete(nlohmann::json* status, const std::vector<BackupMember>& members,
                         const std::string& commit_ts, TimePoint now);
void WriteBackupFailed(nlohmann::json* status, const std::vector<BackupMember>& members,
                       std::string_view reason, std::string_view message, TimePoint now);

// The restore steps[] bookkeeping of §4.5.
void StartRestoreStep(nlohmann::json* status, std::string_view step, TimePoint now);
void FinishRestoreStep(nlohmann::json* status, std::string_view step, TimePoint now);

// Terminal restore writes (§9.3 step 15, §9.8): timeCompleted, timeTaken, then the condition.
void WriteRestoreComplete(nlohmann::json* status, TimePoint now);
void WriteRestoreFailed(nlohmann::json* status, std::string_view reason, std::string_view message,
                        TimePoint now);

}  // namespace brfed::protocol
