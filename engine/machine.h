// RunMachine: the pure, deterministic state machine of one run (DESIGN §4.3).
//
//   RunMachine m(run_id, workflow);
//   for (const Event& e : journaled) RETURN_IF_ERROR(m.Apply(e));   // replay / recovery
//   RunMachine::Effects fx = m.NextEffects(now);
//   // journal fx.append durably, then Apply each, then act: Reconcile every running attempt,
//   // arm a timer for fx.wake_at.
//
// It reads no clock, file or socket and takes no lock: time comes in with events and with the
// `now` of Effects. Everything that can be derived from the journaled events is derived, not
// journaled: forEach expansion, readiness, skips after a failure, the finally phase, backoff
// deadlines (from the failure time and the run's seed). Applying the same events always gives
// the same state, so replaying twice equals replaying once. Not thread-safe; one owner.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "brfed/engine.h"
#include "brfed/journal.h"
#include "brfed/status.h"
#include "brfed/value.h"
#include "brfed/workflow.h"

namespace brfed {

// The idempotency key of a step instance: "<run>:<step>" or "<run>:<step>:<item index>".
std::string IdempotencyKey(std::string_view run_id, std::string_view step_id, int item_index);
// Whether `key` is IdempotencyKey(run_id, step_id, item_index), without building it.
bool IsIdempotencyKey(std::string_view key, std::string_view run_id, std::string_view step_id,
                      int item_index);

// The wait before attempt `next_attempt` (>= 2) of an instance under `policy`: exponential,
// capped at max_backoff, and with full jitter a deterministic draw in [0, cap] from
// (seed, step, item, next_attempt). The same inputs always give the same delay.
Duration BackoffDelay(const RetryPolicy& policy, uint64_t seed, std::string_view step_id,
                      int item_index, int next_attempt);

// What every run of one workflow shares: its step graph resolved to indexes (internal).
struct MachinePlan;
// The plan of `workflow`. Build it once per definition and hand it to every RunMachine of
// that definition; a workflow the machine cannot run gives a plan whose machines refuse every
// event.
std::shared_ptr<const MachinePlan> PlanMachine(std::shared_ptr<const Workflow> workflow);

class RunMachine {
 public:
  // What the runtime needs to run one Reconcile of a running attempt.
  struct Attempt {
    const StepDef* step = nullptr;  // points into the workflow
    int step_index = -1;            // in the machine's plan; -1 when unknown
    int item_index = -1;
    Value item;
    int attempt = 0;  // its key: IdempotencyKey(run id, step->id, item_index)
    TimePoint started_at{};
    std::optional<TimePoint> deadline;  // per-attempt timeout
  };

  struct Effects {
    // Records to journal next, in this order, with seq and time already set. They are valid
    // only if appended and applied before any other event of this run.
    std::vector<Event> append;
    // The earliest future time at which Effects() would return something new (a backoff end
    // or an attempt deadline); nullopt when only an event can change anything.
    std::optional<TimePoint> wake_at;
  };

  // REQUIRES: `workflow` is the definition the run started with (its hash is checked against
  // the kRunStarted record).
  RunMachine(std::string run_id, std::shared_ptr<const Workflow> workflow);
  // The same with the definition's plan, shared by all its runs.
  // REQUIRES: plan != nullptr (from PlanMachine).
  RunMachine(std::string run_id, std::shared_ptr<const MachinePlan> plan);
  ~RunMachine();
  RunMachine(RunMachine&&) noexcept;
  RunMachine& operator=(RunMachine&&) noexcept;

  // Applies the run's next event. Returns kDataLoss, naming the run and seq, for an event that
  // cannot follow the current state (seq not last+1, first event not kRunStarted, unknown step
  // or item, an attempt that is not the running one, anything after kRunFinished); the state
  // is then unchanged.
  Status Apply(const Event& event);

  // The records the run should append at `now`: attempt starts for ready instances and expired
  // backoffs, timeouts of attempts past their deadline, kRunFinished once everything ended.
  // Includes what its own records imply at the same instant (a last timeout that ends the main
  // graph also starts the finally steps). A kCancelRequested while Finalizing is accepted by
  // Apply and changes nothing: the main graph has ended and finally steps always run.
  Effects NextEffects(TimePoint now) const;
  // The same records appended to *append, reusing its memory; returns wake_at. Records already
  // in *append are left as they are (they must have been applied: numbering follows the
  // state).
  std::optional<TimePoint> AppendEffects(TimePoint now, std::vector<Event>* append) const;

  // The running attempts (state kRunning), in instance order.
  std::vector<Attempt> RunningAttempts() const;
  bool HasRunningAttempts() const;
  // The same into *out (cleared first), reusing its memory.
  void RunningAttempts(std::vector<Attempt>* out) const;
  // Inputs of an instance's current attempt with every reference resolved. kInvalidArgument
  // when a reference cannot be resolved (the attempt should then fail, not retryable).
  Result<Value> ResolveWith(const Attempt& attempt) const;
  // The attempt's step's `with` itself when it needs no resolving (no "$(" anywhere), else
  // nullptr. Points into the workflow: valid while the machine's plan lives.
  const Value* LiteralWith(const Attempt& attempt) const;

  RunState state() const;
  uint64_t last_seq() const;
  const std::string& run_id() const;
  const Workflow& workflow() const;
  const std::shared_ptr<const Workflow>& shared_workflow() const;
  // The run's params, from its RunStarted, to share (a run's slot holds them without a copy);
  // null when it has none, which reads as NoParams().
  const std::shared_ptr<const Value>& shared_params() const;
  // The params of a run that has none: an empty map.
  static const Value& NoParams();
  // A full snapshot for display and for the engine's observers.
  RunView View() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace brfed
