// Checking a run's params against the params its workflow declares.
#pragma once

#include "brfed/status.h"
#include "brfed/value.h"
#include "brfed/workflow.h"

namespace brfed {

// Returns `params` with defaults filled in. kInvalidArgument naming the param for a value of
// the wrong type, a missing required param, or a param the workflow does not declare; `params`
// itself must be a map (null counts as an empty map). An int is accepted for a double param.
Result<Value> ApplyParams(const Workflow& workflow, const Value& params);

}  // namespace brfed
