// Status projection: a federation object's `status` computed from its run (the engine's view)
// and its members (the data-plane watch caches), written exactly as upstream writes it
// (FEDERATION_PROTOCOL §3.6–3.8, §4.3–4.6).
//
//   json status = ProjectBackupStatus(vbk, &run_view, members);
//   if (status != vbk["status"]) WriteStatus(...);
//
// Times come from the journal (when the run started, when each step finished), not from the
// clock, so projecting twice gives the same status: no spurious writes, and a restart never
// moves timeStarted (upstream's §13 items 8 and 32). Pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "brfed/engine.h"

namespace brfed::manager {

// members[i]: the member of spec.clusters[i] when it exists and is ours.
using MemberObjects = std::vector<std::optional<nlohmann::json>>;

nlohmann::json ProjectBackupStatus(const nlohmann::json& vbk, const RunView* run,
                                   const MemberObjects& members);
nlohmann::json ProjectRestoreStatus(const nlohmann::json& vrt, const RunView* run,
                                    const MemberObjects& members);

// The reason and message of a failed or cancelled run, for the Failed condition: the failing
// step's message split at a leading "Reason: " when it names one, else `default_reason`.
struct FailureText {
  std::string reason;
  std::string message;
};
FailureText RunFailure(const RunView& run, const char* default_reason);

}  // namespace brfed::manager
