// Workflow: a DAG of named steps, loaded from YAML and validated against the actions a
// program has registered.
//
//   std::vector<Diagnostic> problems;
//   Result<Workflow> wf = LoadWorkflow(text, "volume-backup.yaml", registry, &problems);
//   if (!wf.ok()) for (const auto& d : problems) std::cerr << d.ToString() << "\n";
//
// Schema (DESIGN §4.1): top-level `name`, `params`, `steps`, `finally`. A step has `id`,
// `action`, `needs`, `forEach`, `with`, `retry` {limit, backoff, factor, maxBackoff, jitter},
// `timeout`; a `finally` step also `if:` one of `always | succeeded | failed | started(<id>)`.
// Values may reference `params.*`, `item` and `steps.<id>.outputs.*` as `$(path)`.
// A Workflow is immutable once loaded and safe to share between threads.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/status.h"
#include "brfed/value.h"

namespace brfed {

// A place in a definition file; 1-based. 0 means unknown.
struct SourcePos {
  int line = 0;
  int column = 0;
};

// One validation problem. ToString() is "FILE:LINE:COL: reason".
struct Diagnostic {
  std::string file;
  SourcePos pos;
  std::string reason;
  std::string ToString() const;
};

enum class ParamType { kString, kInt, kBool, kDouble, kList, kObject, kAny };

struct ParamDef {
  std::string name;
  ParamType type = ParamType::kAny;
  bool required = false;
  std::optional<Value> default_value;
  SourcePos pos;
};

enum class Jitter { kNone, kFull };

// Retries after a retryable failure or a timeout. Attempt n (n >= 2) waits
// min(max_backoff, backoff * factor^(n-2)); with full jitter the wait is uniform in [0, that].
struct RetryPolicy {
  int limit = 0;  // retries after the first attempt; 0 = one attempt only
  std::chrono::milliseconds backoff{1000};
  double factor = 2.0;
  std::chrono::milliseconds max_backoff{60000};
  Jitter jitter = Jitter::kFull;
};

// The `if:` of a finally step. Main steps are always kAlways.
struct RunCondition {
  enum class Kind { kAlways, kSucceeded, kFailed, kStarted };
  Kind kind = Kind::kAlways;
  std::string step;  // for kStarted: a main step id
};

struct StepDef {
  std::string id;
  std::string action;
  std::vector<std::string> needs;   // ids in the same section (steps or finally)
  std::optional<Value> for_each;    // unresolved: a list, or a string "$(path)"
  Value with = Value::Map{};        // unresolved map; strings may hold $(...) references
  RetryPolicy retry;
  std::optional<std::chrono::milliseconds> timeout;  // per attempt
  RunCondition condition;           // finally steps only
  bool is_finally = false;
  SourcePos pos;                    // of the step's `id`
};

struct Workflow {
  std::string name;
  std::vector<ParamDef> params;
  std::vector<StepDef> steps;
  std::vector<StepDef> finally_steps;

  std::string source_text;  // the exact YAML text it was loaded from
  std::string hash;         // hex SHA-256 of source_text: the definition's identity

  // The step (main or finally) with this id, or nullptr.
  const StepDef* FindStep(std::string_view id) const;
};

// What an action accepts in `with`. Registered by each step implementation.
struct ActionSpec {
  std::string name;                    // e.g. "backup.initialize", "test.sleep"
  std::vector<std::string> with_keys;  // keys `with` may hold
  std::vector<std::string> required;   // keys `with` must hold (a subset of with_keys)
};

// Looks actions up by name; implemented by StepRegistry (brfed/step.h).
class ActionCatalog {
 public:
  virtual ~ActionCatalog() = default;
  // nullptr when no such action is registered.
  virtual const ActionSpec* FindAction(std::string_view name) const = 0;
};

// Parses and validates a definition. Never throws, never crashes on any input. On failure
// returns kInvalidArgument whose message is every diagnostic joined by '\n', and, when
// `diagnostics` is not null, appends each problem there in file order.
// Checks: YAML syntax, unknown or missing keys, types, duplicate ids, unknown `needs`, cycles
// (naming every step on the cycle), unknown actions, `with` keys the action does not declare
// or misses, bad durations ("500ms", "2s", "1m30s", "1h"), bad `if:`, `forEach` that is not a
// list or a reference, references to params that are not declared, to steps that are not
// upstream (not reachable backwards through `needs`; finally steps may reference any main step)
// and to `item` outside a forEach step.
Result<Workflow> LoadWorkflow(std::string_view text, std::string_view file_name,
                              const ActionCatalog& actions,
                              std::vector<Diagnostic>* diagnostics = nullptr);

// Parses a duration such as "250ms", "2s", "1m30s", "1h". kInvalidArgument otherwise.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// Formats like Go's time.Duration: "0s", "250ms", "45s", "2m0s", "1h2m3s".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace brfed
