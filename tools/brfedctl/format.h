// How brfedctl shows runs, step instances and records in tables. JSON output (--json) uses
// the engine's own forms (engine/run_format.h: RunViewToValue, EventToValue), the same ones the
// golden scenario files and `brfedctl replay` use; times there are Unix milliseconds.
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

// Unix milliseconds, or null for the zero time point.
Value MillisValue(TimePoint t);

// The run's header lines and its instance table, as `inspect show` and `replay` print them.
void PrintRun(const RunView& v, uint64_t records, std::ostream& out);

// Pretty JSON (2-space indent) of a Value, for --json output that people also read.
std::string PrettyJson(const Value& v);

}  // namespace brfed::ctl
