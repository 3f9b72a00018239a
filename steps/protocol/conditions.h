// Conditions on Kubernetes objects as the federation protocol reads and writes them.
//
//   SetCondition(&status, "Running", "", "", now);   // §2.6: phase follows, order is kept
//   if (IsConditionTrue(member, "VolumeBackupInitialized")) ...
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "brfed/env.h"

namespace brfed::protocol {

// Writes condition `type` with status "True" into `status` (a federation object's status,
// created as an object if null) per FEDERATION_PROTOCOL §2.6: status.phase = type; a new type is
// appended; an existing one is replaced in place, keeping its lastTransitionTime when its status
// was already "True". Empty reason/message are omitted.
void SetCondition(nlohmann::json* status, std::string_view type, std::string_view reason,
                  std::string_view message, TimePoint now);

// True when `obj.status.conditions` holds `type` with status "True". Malformed shapes are false.
bool IsConditionTrue(const nlohmann::json& obj, std::string_view type);

// The condition `type` of `obj` (any status), or nullopt.
std::optional<nlohmann::json> FindCondition(const nlohmann::json& obj, std::string_view type);

// The string at `obj` / key path, or "" when absent or not a string.
std::string StringAt(const nlohmann::json& obj, std::initializer_list<std::string_view> path);

}  // namespace brfed::protocol
