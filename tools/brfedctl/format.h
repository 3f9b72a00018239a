// How brfedctl shows runs, step instances and records: one-line texts for tables and Value
// trees for --json. The JSON shapes are part of brfedctl's interface for scripts:
//
//   run:      {run_id, workflow, definition_hash, state, params, started_at, finished_at,
//              message, last_seq, instances: [instance...]}
//   instance: {step, item_index, item, finally, state, attempt, key, started_at,
//              attempt_started_at, finished_at, next_time, error, observed, outputs}
//   event:    {seq, time, type, step, item_index, attempt, detail}
//
// Times are RFC 3339 UTC strings with milliseconds, or null when unset.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "brfed/engine.h"
#include "brfed/journal.h"
#include "brfed/value.h"

namespace brfed::ctl {

// "write[1]" for item 1 of step write, "prepare" for a step without forEach.
std::string InstanceLabel(const InstanceView& inst);
std::string InstanceLabel(const Event& e);

// A short text of what the record says ("attempt 2 failed: UNAVAILABLE: ... (retryable)").
std::string EventDetail(const Event& e);

// "3/5": instances succeeded / instances.
std::string StepsSummary(const RunView& run);

Value TimeValue(TimePoint t);
Value InstanceToValue(const InstanceView& inst);
Value RunToValue(const RunView& run);
Value EventToValue(const Event& e);

// The run's header lines and its instance table, as `inspect show` and `replay` print them.
void PrintRun(const RunView& v, uint64_t records, std::ostream& out);

// Pretty JSON (2-space indent) of a Value, for --json output that people also read.
std::string PrettyJson(const Value& v);

}  // namespace brfed::ctl
