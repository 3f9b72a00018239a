// ReplayRun: rebuilds a run's state from its journaled events through the one RunMachine.
//
//   ASSIGN_OR_RETURN(std::vector<Event> events, journal->ReadRun(run_id));
//   ASSIGN_OR_RETURN(RunMachine m, ReplayRun(run_id, workflow, events));
//   std::cout << FormatRunText(m.View(), {});
//
// Recovery, `brfedctl replay` and the scenario tests all use this path, so what an operator
// replays offline is exactly what the engine resumed from. Pure: no clock, no I/O.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "brfed/journal.h"
#include "brfed/status.h"
#include "brfed/workflow.h"
#include "engine/machine.h"

namespace brfed {

// Applies `events` with seq <= until_seq, in order, to a fresh machine for `run_id`.
// REQUIRES: `workflow` is the definition the run started with (checked against RunStarted).
// Errors: kDataLoss naming the run and seq of the first event that does not fit (a gap, a
// transition the state does not allow, a definition hash that differs), with context "replay".
Result<RunMachine> ReplayRun(std::string run_id, std::shared_ptr<const Workflow> workflow,
                             const std::vector<Event>& events,
                             uint64_t until_seq = std::numeric_limits<uint64_t>::max());
// The same with the definition's machine plan (PlanMachine), shared by all its runs.
Result<RunMachine> ReplayRun(std::string run_id, std::shared_ptr<const MachinePlan> plan,
                             const std::vector<Event>& events,
                             uint64_t until_seq = std::numeric_limits<uint64_t>::max());

}  // namespace brfed
