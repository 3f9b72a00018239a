// Display names of the run, event and instance enums (brfed/journal.h, brfed/engine.h). They
// appear in journal dumps, golden files and error messages, so they never change.
#include <string_view>

#include "brfed/engine.h"
#include "brfed/journal.h"

namespace brfed {

std::string_view RunStateName(RunState s) {
  switch (s) {
    case RunState::kRunning:
      return "Running";
    case RunState::kFinalizing:
      return "Finalizing";
    case RunState::kSucceeded:
      return "Succeeded";
    case RunState::kFailed:
      return "Failed";
    case RunState::kCancelled:
      return "Cancelled";
  }
  return "Unknown";
}

std::string_view EventTypeName(EventType t) {
  switch (t) {
    case EventType::kRunStarted:
      return "RunStarted";
    case EventType::kAttemptStarted:
      return "AttemptStarted";
    case EventType::kAttemptSucceeded:
      return "AttemptSucceeded";
    case EventType::kAttemptFailed:
      return "AttemptFailed";
    case EventType::kAttemptTimedOut:
      return "AttemptTimedOut";
    case EventType::kObserved:
      return "Observed";
    case EventType::kCancelRequested:
      return "CancelRequested";
    case EventType::kRunFinished:
      return "RunFinished";
  }
  return "Unknown";
}

std::string_view InstanceStateName(InstanceState s) {
  switch (s) {
    case InstanceState::kPending:
      return "Pending";
    case InstanceState::kReady:
      return "Ready";
    case InstanceState::kRunning:
      return "Running";
    case InstanceState::kBackoff:
      return "Backoff";
    case InstanceState::kSucceeded:
      return "Succeeded";
    case InstanceState::kFailed:
      return "Failed";
    case InstanceState::kTimedOut:
      return "TimedOut";
    case InstanceState::kSkipped:
      return "Skipped";
    case InstanceState::kCancelled:
      return "Cancelled";
  }
  return "Unknown";
}

}  // namespace brfed
