// RunMachine::Apply: validation of each journaled event against the state, then the
// transition and everything it implies (readiness, forEach expansion, fail-fast, the finally
// phase). NextEffects and the views live in machine_effects.cc.
#include "engine/machine.h"

#include <algorithm>
#include <utility>

#include "engine/expr.h"
#include "engine/machine_internal.h"

namespace brfed {

using internal::MachineInstance;
using internal::MachineStep;

std::shared_ptr<const MachinePlan> PlanMachine(std::shared_ptr<const Workflow> workflow) {
  auto plan = std::make_shared<MachinePlan>();
  plan->wf = std::move(workflow);
  const Workflow* wf = plan->wf.get();
  if (wf == nullptr) {
    plan->error = FailedPreconditionError("no workflow");
    return plan;
  }
  plan->first_finally = static_cast<int>(wf->steps.size());
  std::vector<const StepDef*>& defs = plan->defs;
  for (const StepDef& d : wf->steps) defs.push_back(&d);
  for (const StepDef& d : wf->finally_steps) defs.push_back(&d);
  for (size_t i = 0; i < defs.size(); ++i) {
    plan->step_index.emplace_back(defs[i]->id, static_cast<int>(i));
  }
  std::sort(plan->step_index.begin(), plan->step_index.end());
  for (size_t i = 1; i < plan->step_index.size(); ++i) {
    if (plan->step_index[i].first == plan->step_index[i - 1].first) {
      plan->error = FailedPreconditionError("workflow: duplicate step id " +
                                            std::string(plan->step_index[i].first));
    }
  }
  plan->needs.resize(defs.size());
  plan->with_literal.resize(defs.size());
  for (size_t i = 0; i < defs.size(); ++i) plan->with_literal[i] = IsLiteral(defs[i]->with);
  for (size_t i = 0; i < defs.size(); ++i) {
    const bool is_finally = static_cast<int>(i) >= plan->first_finally;
    for (const std::string& n : defs[i]->needs) {
      int need = plan->FindStep(n);
      if (need < 0 || (need >= plan->first_finally) != is_finally) {
        plan->error =
            FailedPreconditionError("workflow: step " + defs[i]->id + " needs unknown step " + n);
        continue;
      }
      plan->needs[i].push_back(need);
    }
  }
  return plan;
}

RunMachine::RunMachine(std::string run_id, std::shared_ptr<const Workflow> workflow)
    : RunMachine(std::move(run_id), PlanMachine(std::move(workflow))) {}

RunMachine::RunMachine(std::string run_id, std::shared_ptr<const MachinePlan> plan)
    : impl_(std::make_unique<Impl>()) {
  impl_->run_id = std::move(run_id);
  impl_->plan = std::move(plan);
  impl_->wf = impl_->plan->wf.get();
  impl_->Init();
}

RunMachine::~RunMachine() = default;
RunMachine::RunMachine(RunMachine&&) noexcept = default;
RunMachine& RunMachine::operator=(RunMachine&&) noexcept = default;

RunState RunMachine::state() const { return impl_->state; }
uint64_t RunMachine::last_seq() const { return impl_->last_seq; }
const std::string& RunMachine::run_id() const { return impl_->run_id; }
const Workflow& RunMachine::workflow() const { return *impl_->wf; }
const std::shared_ptr<const Workflow>& RunMachine::shared_workflow() const {
  return impl_->plan->wf;
}
const std::shared_ptr<const Value>& RunMachine::shared_params() const { return impl_->params; }
const Value& RunMachine::NoParams() {
  static const Value* const kNone = new Value(Value::Map{});
  return *kNone;
}

Status RunMachine::Apply(const Event& event) {
  Impl::Ref ref{-1, -1};
  Status s = impl_->Validate(event, &ref);
  if (!s.ok()) {
    return Status(s.code(), "run " + impl_->run_id + " seq " + std::to_string(event.seq) + ": " +
                                s.message());
  }
  impl_->Mutate(event, ref);
  return Status::OK();
}

void RunMachine::Impl::Init() {
  if (wf == nullptr) return;  // plan->error says so
  first_finally = plan->first_finally;
  steps.resize(wf->steps.size() + wf->finally_steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    const bool is_finally = static_cast<int>(i) >= first_finally;
    MachineStep& s = steps[i];
    s.is_finally = is_finally;
    s.for_each = plan->defs[i]->for_each.has_value();
    s.expanded = !s.for_each;  // its one instance is there already
  }
  main_open = first_finally;
  finally_open = static_cast<int>(steps.size()) - first_finally;
}

const Value* RunMachine::Impl::Find(std::string_view id) const {
  int i = FindStep(id);
  if (i < 0 || !steps[i].Done()) return nullptr;
  const MachineStep& s = steps[i];
  return s.for_each ? &s.list_outputs.get() : &s.insts[0].outputs.get();
}

std::string RunMachine::Impl::InstanceName(Ref r) const {
  const MachineInstance& in = Inst(r);
  std::string name = plan->defs[r.first]->id;
  if (in.item_index >= 0) name += "[" + std::to_string(in.item_index) + "]";
  return name;
}

namespace {

bool IsStepEvent(EventType t) {
  return t == EventType::kAttemptStarted || t == EventType::kAttemptSucceeded ||
         t == EventType::kAttemptFailed || t == EventType::kAttemptTimedOut ||
         t == EventType::kObserved;
}

}  // namespace

int RunMachine::Impl::StepOf(const Event& e) const {
  // Most records are about an instance that is ready (its start) or running (its outcome):
  // the first of those is tried before the search by id (recovery applies a million records).
  const internal::FlatSet<Ref>& likely = e.type == EventType::kAttemptStarted ? ready : running;
  if (!likely.empty()) {
    const int s = likely.begin()->first;
    if (plan->defs[s]->id == e.step_id) return s;
  }
  return FindStep(e.step_id);
}

// Checks that `e` can follow the current state; sets *ref for step-instance events. Changes
// nothing.
Status RunMachine::Impl::Validate(const Event& e, Ref* ref) const {
  if (!plan->error.ok()) return plan->error;
  if (e.seq != last_seq + 1) {
    return DataLossError("expected seq " + std::to_string(last_seq + 1));
  }
  if (!started && e.type != EventType::kRunStarted) {
    return DataLossError(std::string(EventTypeName(e.type)) + " before RunStarted");
  }
  if (IsFinished(state)) {
    return DataLossError(std::string(EventTypeName(e.type)) + " after the run finished (" +
                         std::string(RunStateName(state)) + ")");
  }
  switch (e.type) {
    case EventType::kRunStarted:
      if (started) return DataLossError("second RunStarted");
      if (const RunStart& s = e.start.get(); s.workflow_name != wf->name) {
        return DataLossError("workflow " + s.workflow_name + ", machine has " + wf->name);
      } else if (s.definition_hash != wf->hash) {
        return DataLossError("definition hash " + s.definition_hash + " differs from " + wf->hash);
      } else if (!s.params.is_map() && !s.params.is_null()) {
        return DataLossError("params are a " + std::string(Value::TypeName(s.params.type())) +
                             ", not a map");
      }
      return Status::OK();
    case EventType::kCancelRequested:
      return Status::OK();
    case EventType::kRunFinished: {
      if (state != RunState::kFinalizing || finally_open > 0) {
        return DataLossError("RunFinished while steps are unfinished");
      }
      RunState want = DerivedFinalState();
      if (e.final_state != want) {
        return DataLossError("RunFinished " + std::string(RunStateName(e.final_state)) +
                             ", the steps say " + std::string(RunStateName(want)));
      }
      return Status::OK();
    }
    default:
      break;
  }
  if (!IsStepEvent(e.type)) {
    return DataLossError("unknown event type " + std::to_string(static_cast<int>(e.type)));
  }

  int step = StepOf(e);
  if (step < 0) return DataLossError("unknown step \"" + e.step_id + "\"");
  const MachineStep& s = steps[step];
  int slot = 0;
  if (s.for_each) {
    if (!s.expanded) {
      return DataLossError("step " + e.step_id + " has no items yet");
    }
    if (e.item_index < 0 || e.item_index >= static_cast<int>(s.insts.size()) ||
        s.insts[e.item_index].item_index != e.item_index) {
      return DataLossError("step " + e.step_id + " has no item " + std::to_string(e.item_index));
    }
    slot = e.item_index;
  } else if (e.item_index != -1) {
    return DataLossError("step " + e.step_id + " has no forEach, got item " +
                         std::to_string(e.item_index));
  }
  *ref = {step, slot};
  const MachineInstance& in = s.insts[slot];
  // Names are built only for an error: this runs for every record recovery folds.
  auto name = [&] { return InstanceName(*ref); };

  if (e.type == EventType::kAttemptStarted) {
    if (in.state == InstanceState::kReady) {
      if (e.attempt != 1) {
        return DataLossError(name() + " is Ready, attempt " + std::to_string(e.attempt) +
                             " cannot start");
      }
    } else if (in.state == InstanceState::kBackoff) {
      if (e.attempt != in.attempt + 1) {
        return DataLossError(name() + " backs off after attempt " + std::to_string(in.attempt) +
                             ", attempt " + std::to_string(e.attempt) + " cannot start");
      }
      if (std::optional<TimePoint> ends = NextTime(*ref); ends.has_value() && e.time < *ends) {
        return DataLossError(name() + " attempt " + std::to_string(e.attempt) +
                             " starts before its backoff ends");
      }
    } else {
      return DataLossError(name() + " is " + std::string(InstanceStateName(in.state)) +
                           ", no attempt can start");
    }
    if (!IsIdempotencyKey(e.idempotency_key, run_id, Def(s).id, in.item_index)) {
      return DataLossError(name() + " key \"" + e.idempotency_key + "\", expected \"" + Key(s, in) +
                           "\"");
    }
    return Status::OK();
  }

  if (in.state != InstanceState::kRunning || e.attempt != in.attempt) {
    return DataLossError(std::string(EventTypeName(e.type)) + " for " + name() + " attempt " +
                         std::to_string(e.attempt) + ", which is not running (" +
                         std::string(InstanceStateName(in.state)) + ", attempt " +
                         std::to_string(in.attempt) + ")");
  }
  if (e.type == EventType::kAttemptFailed && e.code == StatusCode::kOk) {
    return DataLossError("AttemptFailed for " + name() + " with code OK");
  }
  if (e.type == EventType::kAttemptTimedOut) {
    std::optional<TimePoint> deadline = NextTime(*ref);
    if (!deadline.has_value() || e.time < *deadline) {
      return DataLossError(name() + " attempt " + std::to_string(e.attempt) +
                           " timed out before its deadline");
    }
  }
  return Status::OK();
}

// REQUIRES: Validate(e) returned OK with `ref`.
void RunMachine::Impl::Mutate(const Event& e, Ref ref) {
  last_seq = e.seq;
  const TimePoint t = e.time;
  switch (e.type) {
    case EventType::kRunStarted: {
      const RunStart& s = e.start.get();
      started = true;
      // Most runs have none: they share the one empty map (Params) instead of a copy each.
      const bool none = s.params.is_null() || (s.params.is_map() && s.params.as_map().empty());
      params = none ? nullptr : std::make_shared<const Value>(s.params);
      seed = s.seed;
      started_at = t;
      Settle(t);
      return;
    }
    case EventType::kCancelRequested:
      // Tolerated while Finalizing (the engine may accept a cancel at any time before the end):
      // the main graph has already ended and the finally steps always run, so nothing changes.
      if (state != RunState::kRunning) return;
      cancelled = true;
      messages.mut().cancel_reason = e.message;
      for (int i = 0; i < first_finally; ++i) EndStep(i, InstanceState::kCancelled, t);
      Settle(t);
      return;
    case EventType::kRunFinished:
      state = e.final_state;
      finished_at = t;
      // A run that succeeded says nothing: its messages stay unallocated.
      if (!e.message.empty() || !messages.empty()) messages.mut().finish_message = e.message;
      return;
    default:
      break;
  }

  MachineStep& s = steps[ref.first];
  MachineInstance& in = Inst(ref);
  const RetryPolicy& retry = Def(s).retry;
  switch (e.type) {
    case EventType::kAttemptStarted:
      in.attempt = e.attempt;
      in.attempt_started_at = t;
      if (e.attempt == 1) in.started_at = t;
      if (!in.detail.empty()) in.detail.mut().observed.clear();
      s.any_started = true;
      SetState(ref, InstanceState::kRunning, t);
      SetNextTime(ref,
                  Def(s).timeout ? std::optional<TimePoint>(t + *Def(s).timeout) : std::nullopt);
      return;
    case EventType::kObserved:
      in.detail.mut().observed = e.message;
      return;
    case EventType::kAttemptSucceeded:
      in.outputs.Set(e.outputs);
      SetState(ref, InstanceState::kSucceeded, t);
      OnInstanceSucceeded(ref);
      Settle(t);
      return;
    case EventType::kAttemptFailed:
    case EventType::kAttemptTimedOut: {
      bool timed_out = e.type == EventType::kAttemptTimedOut;
      if (timed_out) {
        in.detail.mut().last_error =
            DeadlineExceededError("attempt " + std::to_string(e.attempt) + " timed out after " +
                                  FormatDuration(Def(s).timeout.value_or(Duration(0))));
      } else {
        in.detail.mut().last_error = Status(e.code, e.message);
      }
      if ((timed_out || e.retryable) && e.attempt <= retry.limit) {
        SetState(ref, InstanceState::kBackoff, t);
        SetNextTime(ref, t + BackoffDelay(retry, seed, Def(s).id, in.item_index, e.attempt + 1));
        return;
      }
      SetState(ref, timed_out ? InstanceState::kTimedOut : InstanceState::kFailed, t);
      OnInstanceFailed(ref, t);
      Settle(t);
      return;
    }
    default:
      return;
  }
}

// Moves an instance to `st`, keeping the index sets and counters in step.
void RunMachine::Impl::SetState(Ref r, InstanceState st, TimePoint t) {
  MachineInstance& in = Inst(r);
  MachineStep& s = steps[r.first];
  InstanceState old = in.state;
  if (old == st) return;
  if (old == InstanceState::kReady) ready.erase(r);
  if (old == InstanceState::kRunning) running.erase(r);
  in.state = st;
  if (st == InstanceState::kReady) ready.insert(r);
  if (st == InstanceState::kRunning) running.insert(r);
  if (IsTerminal(st) && !IsTerminal(old)) {
    in.finished_at = t;
    SetNextTime(r, std::nullopt);
    ++s.terminal;
    ++instances_ended;
    if (st == InstanceState::kSucceeded) ++s.succeeded;
    --(s.is_finally ? finally_open : main_open);
  }
}

void RunMachine::Impl::SetNextTime(Ref r, std::optional<TimePoint> t) {
  if (std::optional<TimePoint> old = NextTime(r); old.has_value()) {
    timers.erase({*old, r.first, r.second});
  }
  if (t.has_value()) timers.insert({*t, r.first, r.second});
}

void RunMachine::Impl::OnInstanceSucceeded(Ref r) {
  MachineStep& s = steps[r.first];
  if (!s.Done()) return;
  if (!s.for_each) return;  // Find answers with the instance's outputs
  Value::List list;
  for (const MachineInstance& in : s.insts) {
    if (in.item_index >= 0) list.push_back(in.outputs.get());  // the empty placeholder adds none
  }
  s.list_outputs.mut() = Value(std::move(list));
}

void RunMachine::Impl::OnInstanceFailed(Ref r, TimePoint t) {
  if (messages.get().first_failure.empty()) {
    messages.mut().first_failure =
        "step " + InstanceName(r) + ": " + Inst(r).last_error().ToString();
  }
  if (steps[r.first].is_finally) {
    finally_failed = true;
    return;
  }
  // Fail-fast: the rest of the main graph stops; Settle then starts the finally phase.
  main_failed = true;
  for (int i = 0; i < first_finally; ++i) EndStep(i, InstanceState::kSkipped, t);
}

// Ends every unfinished instance of a step: Running ones are Cancelled, the others get `st`.
void RunMachine::Impl::EndStep(int step, InstanceState st, TimePoint t) {
  MachineStep& s = steps[step];
  s.activated = true;
  for (int slot = 0; slot < static_cast<int>(s.insts.size()); ++slot) {
    InstanceState cur = s.insts[slot].state;
    if (IsTerminal(cur)) continue;
    SetState({step, slot}, cur == InstanceState::kRunning ? InstanceState::kCancelled : st, t);
  }
}

// Makes a step's instances Ready; a forEach step expands here, against params and the outputs
// of the steps it needs. A list that does not resolve fails the step, an empty one succeeds it.
void RunMachine::Impl::Activate(int step, TimePoint t) {
  MachineStep& s = steps[step];
  s.activated = true;
  if (!s.for_each) {
    SetState({step, 0}, InstanceState::kReady, t);
    return;
  }
  Scope scope{.params = &Params(), .item = nullptr, .outputs = this};
  Result<Value> list = Resolve(*Def(s).for_each, scope);
  Status err;
  if (!list.ok()) {
    err = list.status().WithContext("forEach");
  } else if (!list->is_list()) {
    err = InvalidArgumentError("forEach is a " + std::string(Value::TypeName(list->type())) +
                               ", not a list");
  }
  if (!err.ok()) {
    s.insts[0].detail.mut().last_error = err;
    SetState({step, 0}, InstanceState::kFailed, t);
    OnInstanceFailed({step, 0}, t);
    return;
  }
  s.expanded = true;
  const Value::List& items = list->as_list();
  if (items.empty()) {
    s.insts[0].outputs.Set(Value::List{});
    SetState({step, 0}, InstanceState::kSucceeded, t);
    OnInstanceSucceeded({step, 0});
    return;
  }
  // Replace the placeholder (Pending, in no index set) by one instance per item.
  int n = static_cast<int>(items.size());
  s.insts.assign(n);
  (s.is_finally ? finally_open : main_open) += n - 1;
  for (int i = 0; i < n; ++i) {
    MachineInstance& in = s.insts[i];
    in.item_index = i;
    in.detail.mut().item = items[i];
    SetState({step, i}, InstanceState::kReady, t);
  }
}

bool RunMachine::Impl::ConditionHolds(const MachineStep& s) const {
  const RunCondition& c = Def(s).condition;
  bool main_ok = !main_failed && !cancelled;
  switch (c.kind) {
    case RunCondition::Kind::kAlways:
      return true;
    case RunCondition::Kind::kSucceeded:
      return main_ok;
    case RunCondition::Kind::kFailed:
      return !main_ok;
    case RunCondition::Kind::kStarted: {
      int step = FindStep(c.step);
      return step >= 0 && steps[step].any_started;
    }
  }
  return false;
}

// Derives everything that follows from the current state: steps whose needs are done become
// ready, the end of the main graph starts the finally phase, finally steps whose `if:` is false
// or whose needs failed are skipped. Repeats until nothing changes: another pass only after
// one that ended an instance or moved the run on, since making steps ready changes nothing the
// passes read (their needs being done or broken, the run's state).
void RunMachine::Impl::Settle(TimePoint t) {
  for (bool again = true; again;) {
    const uint64_t ended_before = instances_ended;
    const RunState state_before = state;
    if (state == RunState::kRunning) {
      while (activated_prefix < first_finally && steps[activated_prefix].activated) {
        ++activated_prefix;
      }
      for (int i = activated_prefix; i < first_finally && state == RunState::kRunning; ++i) {
        MachineStep& s = steps[i];
        if (s.activated) continue;
        bool ok = true;
        for (int n : plan->needs[i]) ok = ok && steps[n].Done();
        if (ok) Activate(i, t);
      }
      if (main_open == 0) state = RunState::kFinalizing;
    } else if (state == RunState::kFinalizing) {
      for (int i = first_finally; i < static_cast<int>(steps.size()); ++i) {
        MachineStep& s = steps[i];
        if (s.activated) continue;
        bool done = true;
        bool broken = false;
        for (int n : plan->needs[i]) {
          done = done && steps[n].Done();
          broken = broken || steps[n].Broken();
        }
        if (!ConditionHolds(s) || broken) {
          // A false `if:` skips the step; so does a need that failed or was skipped, since the
          // step's inputs would be missing.
          EndStep(i, InstanceState::kSkipped, t);
        } else if (done) {
          Activate(i, t);
        }
      }
    }
    again = instances_ended != ended_before || state != state_before;
  }
}

RunState RunMachine::Impl::DerivedFinalState() const {
  if (cancelled) return RunState::kCancelled;
  if (main_failed || finally_failed) return RunState::kFailed;
  return RunState::kSucceeded;
}

std::string RunMachine::Impl::DerivedMessage() const {
  const internal::RunMessages& m = messages.get();
  if (cancelled) return m.cancel_reason.empty() ? "cancelled" : "cancelled: " + m.cancel_reason;
  if (main_failed || finally_failed) return m.first_failure;
  return "";
}

}  // namespace brfed
