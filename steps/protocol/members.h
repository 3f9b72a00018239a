// Member objects: the data-plane Backup / Restore the manager creates for one federation object
// in one data plane (FEDERATION_PROTOCOL §8.2, §9.2), plus brfed's ownership mark.
//
//   json member = BuildBackupMember(vbk, /*cluster_index=*/0, run_id, /*initialize=*/true);
//   if (!IsOwnedBy(existing, run_id)) return Fail{FailedPrecondition(ForeignMemberMessage(...))};
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace brfed::protocol {

// Annotation naming the run (the federation object's uid) that owns a member. Upstream adopts
// any object called fed-<name>; brfed refuses an object it did not create (§13 item 15).
inline constexpr const char kRunAnnotation[] = "brfed.pingcap.com/run";
inline constexpr const char kBackupFinalizer[] = "tidb.pingcap.com/backup-protection";
inline constexpr const char kRestoreFinalizer[] = "tidb.pingcap.com/restore-protection";

// "fed-" + the federation object's name, in every data plane.
std::string MemberName(std::string_view federation_name);

// The member Backup for spec.clusters[cluster_index] of `vbk`, owned by `run_id`.
// REQUIRES: ValidateVolumeBackup(vbk) passed and cluster_index is in range.
nlohmann::json BuildBackupMember(const nlohmann::json& vbk, size_t cluster_index,
                                 std::string_view run_id, bool initialize);

// The member Restore for spec.clusters[cluster_index] of `vrt`, owned by `run_id`.
// REQUIRES: ValidateVolumeRestore(vrt) passed and cluster_index is in range.
nlohmann::json BuildRestoreMember(const nlohmann::json& vrt, size_t cluster_index,
                                  std::string_view run_id);

// True when `obj` carries kRunAnnotation == run_id.
bool IsOwnedBy(const nlohmann::json& obj, std::string_view run_id);

// "<kind> <ns>/<name> in data plane <cluster> exists but was not created by this <federation
// kind> (annotation brfed.pingcap.com/run is \"...\"); refusing to adopt it"
std::string ForeignMemberMessage(const nlohmann::json& obj, std::string_view cluster);

// snapshotsDeleteRatio clamp of §8.2: r if 0.1 <= r <= 2.0, else 1.0.
double ClampDeleteRatio(const nlohmann::json& tmpl);

}  // namespace brfed::protocol
