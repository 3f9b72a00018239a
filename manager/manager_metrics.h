// The manager's metrics: upstream's fed_volume_backup_* series (FEDERATION_PROTOCOL §12.5) and
// the engine's (runs, step attempts, journal commits, kube requests, GC-pause window).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "brfed/engine.h"
#include "brfed/journal.h"
#include "kube/client.h"
#include "kube/client_set.h"
#include "manager/metrics.h"

namespace brfed::manager {

// HELP/TYPE of every series, and nothing else.
void RegisterManagerMetrics(Metrics* m);

// After a federation object's status was written: counts VolumeBackup transitions to Complete,
// Failed, Cleaned and CleanFailed as upstream does (one per write, in that order of checks).
void ObserveStatusWrite(Metrics* m, const nlohmann::json& before, const nlohmann::json& status,
                        TimePoint now);

// After a run changed: on finish, its outcome, its step attempts by action and result, and
// for a backup the GC-pause window (initialize started → resume-gc or teardown finished).
// `action_of(workflow, step)` names a step's action.
void ObserveRun(Metrics* m, const RunView& run,
                const std::function<std::string(const std::string&, const std::string&)>& action_of);

// Gauges read at scrape time: engine stats, journal commits, kube requests per cluster.
void AddEngineCollector(Metrics* m, Engine* engine, Journal* journal,
                        const kube::ClientSet* data_planes, const kube::Client* control_plane);

}  // namespace brfed::manager
