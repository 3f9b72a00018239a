// Engine: runs workflows, journaling every transition before acting on it.
//
//   EngineOptions o{.env = Env::Default(), .journal = journal.get(), .steps = &registry};
//   ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, OpenEngine(std::move(o)));  // recovers
//   RETURN_IF_ERROR(engine->StartRun("uid-1234", workflow, params));
//   engine->Wake({"k8s-1", "backups.pingcap.com", "tidb-cluster", "vbk-1"});  // from a watch
//   ASSIGN_OR_RETURN(RunView done, engine->WaitRun("uid-1234", std::chrono::minutes(5)));
//
// One engine thread owns all run state; Reconcile calls run on a worker pool; a waiting step
// holds no thread. OpenEngine recovers every unfinished run from the journal before returning:
// it folds the run's records through the state machine, re-arms timers from their absolute
// deadlines and re-issues Reconcile for running attempts with the same idempotency key.
// All methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "brfed/env.h"
#include "brfed/journal.h"
#include "brfed/status.h"
#include "brfed/step.h"
#include "brfed/value.h"
#include "brfed/workflow.h"

namespace brfed {

enum class InstanceState : uint8_t {
  kPending = 1,  // waiting for its dependencies
  kReady = 2,    // dependencies done; no attempt started yet
  kRunning = 3,  // attempt `attempt` started (journaled) and not ended
  kBackoff = 4,  // attempt failed retryably; the next starts at `next_time`
  kSucceeded = 5,
  kFailed = 6,
  kTimedOut = 7,   // the last attempt timed out and no retry is left
  kSkipped = 8,    // a dependency failed, the run is failing, or an `if:` was false
  kCancelled = 9,  // the run was cancelled, or a sibling failed, while it was not finished
};
std::string_view InstanceStateName(InstanceState s);  // "Pending", ...
inline bool IsTerminal(InstanceState s) { return s >= InstanceState::kSucceeded; }

// One step instance: a step, or one item of a forEach step.
struct InstanceView {
  std::string step_id;
  int item_index = -1;
  Value item;
  bool is_finally = false;
  InstanceState state = InstanceState::kPending;
  int attempt = 0;  // attempts started so far
  std::string idempotency_key;
  TimePoint started_at{};  // of the first attempt
  TimePoint attempt_started_at{};
  TimePoint finished_at{};
  std::optional<TimePoint> next_time;  // backoff end or attempt deadline
  Status last_error;
  std::string observed;  // last observation journaled
  Value outputs;
};

struct RunView {
  std::string run_id;
  std::string workflow_name;
  std::string definition_hash;
  RunState state = RunState::kRunning;
  Value params;
  TimePoint started_at{};
  TimePoint finished_at{};
  std::string message;  // why it failed or was cancelled
  uint64_t last_seq = 0;
  std::vector<InstanceView> instances;  // definition order, then item order
};

struct EngineStats {
  uint64_t transitions = 0;  // records journaled
  uint64_t reconciles = 0;   // Reconcile calls
  size_t active_runs = 0;
  // Runs whose running attempts wait for their turn to be reconciled
  // (EngineOptions::max_reconciles_in_flight).
  size_t runs_waiting = 0;
  // How the engine's start went, in seconds of wall time: reading and folding every
  // unfinished run, indexing them, and the first pass that re-armed them.
  struct Recovery {
    size_t runs = 0;
    double fold_seconds = 0;
    double index_seconds = 0;
    double first_pass_seconds = 0;
    // The reading threads and the CPU time they got together while folding: below
    // fold_threads * fold_seconds when the machine lends a core out or is shared.
    int fold_threads = 0;
    double fold_cpu_seconds = 0;
  } recovery;
};

struct EngineOptions {
  Env* env = nullptr;                    // not owned; required
  Journal* journal = nullptr;            // not owned; required
  const StepRegistry* steps = nullptr;   // not owned; required
  const ServiceMap* services = nullptr;  // not owned; may be null
  int workers = 4;                       // threads running Reconcile
  // Reconcile calls queued for the workers or running, at most: runs beyond it wait their turn,
  // in order (a restart with 100,000 waiting runs queues 1,024 calls, not 100,000, and each
  // run's call is prepared when its turn comes). A run's due attempts go together, so a
  // fan-out can pass the bound by its width.
  int max_reconciles_in_flight = 1024;
  // Called on the engine thread after a run's transition became durable and was applied.
  // Must be quick and must not call back into the engine synchronously.
  std::function<void(const RunView&)> on_run_changed;
};

class Engine {
 public:
  virtual ~Engine() = default;  // stops threads; nothing is journaled after it returns

  // Starts a run with this id; returns once its kRunStarted record is durable. Idempotent by
  // run id: a run that exists (unfinished or retained) is left alone and OK is returned.
  // kInvalidArgument when `params` do not fit the workflow's declared params.
  virtual Status StartRun(const std::string& run_id, std::shared_ptr<const Workflow> workflow,
                          Value params) = 0;

  // Asks an unfinished run to stop: unfinished main steps are cancelled, then its `finally`
  // steps run. A no-op for a finished run; kNotFound for an unknown one.
  virtual Status Cancel(const std::string& run_id, const std::string& reason) = 0;

  // Reconciles, soon, every running attempt that waits on `ref`.
  virtual void Wake(const ObjectRef& ref) = 0;

  // A snapshot of the run; kNotFound when the engine has no such run in memory.
  virtual Result<RunView> GetRun(const std::string& run_id) = 0;
  virtual std::vector<std::string> ActiveRunIds() = 0;

  // Blocks until the run has finished (or `timeout`: kDeadlineExceeded) and returns it.
  virtual Result<RunView> WaitRun(const std::string& run_id, Duration timeout) = 0;

  virtual EngineStats stats() = 0;
};

// Recovers and starts an engine. Errors: kInvalidArgument for bad options, kDataLoss when a
// run's records cannot be replayed (naming the run and seq).
Result<std::unique_ptr<Engine>> OpenEngine(EngineOptions options);

}  // namespace brfed
