// Runtime: the engine thread's loop and how it acts: Reconcile on the worker pool, outcomes,
// wake-ups and timers. Every function here runs on the engine thread, except RunTask (a
// worker) and the timer callbacks (the Env's thread), which only Post.

#include <algorithm>
#include <exception>
#include <utility>

#include "engine/runtime_impl.h"

namespace brfed::internal {
namespace {

const ServiceMap kNoServices;

class Context final : public StepContext {
 public:
  Context(const ReconcileTask& t, Env* env, const ServiceMap& services)
      : t_(t), env_(env), services_(services) {}
  const std::string& run_id() const override { return t_.run->run_id; }
  const std::string& step_id() const override { return *t_.step_id; }
  int item_index() const override { return t_.item_index; }
  const Value& item() const override { return t_.item.get(); }
  int attempt() const override { return t_.attempt; }
  // Built when the step first asks, on the worker: most steps never do.
  const std::string& idempotency_key() const override {
    if (key_.empty()) key_ = IdempotencyKey(t_.run->run_id, *t_.step_id, t_.item_index);
    return key_;
  }
  const Value& with() const override { return *t_.with; }
  const Value& params() const override { return t_.run->Params(); }
  TimePoint attempt_started_at() const override { return t_.started_at; }
  TimePoint now() const override { return env_->Now(); }
  const ServiceMap& services() const override { return services_; }

 private:
  const ReconcileTask& t_;
  Env* const env_;
  const ServiceMap& services_;
  mutable std::string key_;
};

}  // namespace

void RuntimeImpl::Loop() {
  std::deque<std::function<void()>> work;
  std::vector<std::unique_ptr<ReconcileTask>> reconciled;
  std::vector<std::pair<RunSlot*, Status>> appended;
  std::vector<std::shared_ptr<const RunMachine>> evicted;  // from the finished cache
  std::vector<std::unique_ptr<RunSlot>> freed;             // released slots
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      PublishFinished(&evicted, &freed);
      auto empty = [&] { return queue_.empty() && reconciled_.empty() && appended_.empty(); };
      bool quiet = appends_in_flight_ == 0 && reconciles_in_flight_ == 0 && !PumpPending() &&
                   waiting_.empty();
      if (empty() && quiet) {
        if (stopping_) {
          closed_ = true;
          state_cv_.notify_all();
          return;
        }
        idle_ = true;
        state_cv_.notify_all();
      }
      queue_cv_.wait(l, [&] { return !empty() || PumpPending(); });
      work.swap(queue_);
      reconciled.swap(reconciled_);
      appended.swap(appended_);
    }
    evicted.clear();
    freed.clear();
    for (std::function<void()>& fn : work) fn();
    work.clear();
    // A completion's run is acted on and pumped at once, while its state is still in the
    // cache: with thousands of runs in flight, pumping it only after the whole batch of
    // completions found it evicted again (engine_bench: ~6% more transitions/s this way). The
    // outcomes of one batch of Reconciles are taken first, so a fan-out's siblings that ended
    // together are journaled together.
    pass_now_ = env_->Now();
    size_t marked_from = dirty_.size();
    for (std::unique_ptr<ReconcileTask>& t : reconciled) OnReconcileDone(std::move(t));
    reconciled.clear();
    PumpMarked(marked_from);
    for (auto& [r, s] : appended) {
      marked_from = dirty_.size();
      OnAppendDone(r, std::move(s));
      PumpMarked(marked_from);
    }
    appended.clear();
    PumpDirty();
    ReleaseWaiting();
  }
}

void RuntimeImpl::PumpDirty() {
  // A bounded share of the dirty runs per call, and what they dispatch and append handed on
  // every so often: after a burst (one wake-up reaching thousands of runs) the pool, the
  // appender and the committer start at once, and Loop takes their completions in between,
  // instead of everything waiting for one pass over every run.
  if (!dirty_.empty() && pump_pos_ < pumping_.size()) {
    // Runs marked since the round began (by a wake, a timer, a cancel) go ahead of the rest
    // of the round, up to half the budget, so they do not wait behind a burst's backlog and
    // the backlog still moves by half a budget per call. A run is in one of the two lists at
    // most (MarkDirty skips a queued run).
    const size_t n = std::min(dirty_.size(), kPumpBudget / 2);
    pumping_.insert(pumping_.begin() + static_cast<std::ptrdiff_t>(pump_pos_), dirty_.begin(),
                    dirty_.begin() + static_cast<std::ptrdiff_t>(n));
    dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<std::ptrdiff_t>(n));
    pass_now_ = env_->Now();
  }
  for (size_t budget = kPumpBudget; budget > 0; --budget) {
    if (pump_pos_ == pumping_.size()) {
      pumping_.clear();
      pump_pos_ = 0;
      if (dirty_.empty()) break;
      pass_now_ = env_->Now();  // one reading for the round: records carry milliseconds
      pumping_.swap(dirty_);
    }
    PumpOne(pumping_[pump_pos_++]);
  }
  if (!dispatched_.empty()) pool_->SubmitAll(&dispatched_);
  if (!appends_.empty()) appender_->SubmitAll(&appends_);
}

void RuntimeImpl::PumpMarked(size_t from) {
  if (dirty_.size() <= from) return;
  // Taken out first: pumping may mark runs again, which grows dirty_ under an iterator.
  marked_.assign(dirty_.begin() + static_cast<std::ptrdiff_t>(from), dirty_.end());
  dirty_.resize(from);
  for (RunSlot* r : marked_) PumpOne(r);
  marked_.clear();
}

void RuntimeImpl::PumpOne(RunSlot* slot) {
  RunSlot& r = *slot;
  r.queued = false;
  if (r.gone) {
    ReleaseIfGone(slot);
    return;
  }
  // While an append is in flight the machine is ahead of the journal: acting waits for it
  // (write before act), and OnAppendDone marks the run again; a run given its turn keeps it.
  // Without room (or behind others in line) the run gets in line, and is pumped meanwhile:
  // what its machine appends by itself (timeouts, starts) does not wait.
  if (r.act && !r.append_in_flight) {
    if (r.turn == Turn::kGranted || (r.turn == Turn::kNone && waiting_.empty() && HasRoom())) {
      EndTurn(r);
      r.act = false;
      Act(r);
    } else if (r.turn == Turn::kNone) {
      r.turn = Turn::kWaiting;
      waiting_.push_back(&r);
    }
  }
  Pump(r);
  if (dispatched_.size() >= kHandOffEvery) pool_->SubmitAll(&dispatched_);
  if (appends_.size() >= kHandOffEvery) appender_->SubmitAll(&appends_);
}

void RuntimeImpl::ReleaseWaiting() {
  while (!waiting_.empty() && HasRoom()) {
    RunSlot* r = waiting_.PopFront();
    r->turn = Turn::kNone;
    if (r->gone) {
      ReleaseIfGone(r);
      continue;
    }
    r->turn = Turn::kGranted;
    ++granted_;
    MarkDirty(*r, /*act=*/true);
  }
  runs_waiting_.store(waiting_.size(), std::memory_order_relaxed);
}

// Reconciles every running attempt that needs it, and forgets attempts that ended.
void RuntimeImpl::Act(RunSlot& r) {
  if (stopping_ || !r.stalled.ok() || !r.started) return;
  PrepareAct(r, &act_);
  for (AttemptTable::Entry& e : act_.sync.ended) ClearSlot(r, e);
  act_.sync.ended.clear();
  if (!r.inputs.empty()) MarkDirty(r);  // an attempt that cannot run failed
  DispatchPrepared(r);
}

void RuntimeImpl::PrepareAct(RunSlot& r, ActScratch* s) const {
  std::vector<RunMachine::Attempt>* running = &s->running;
  const std::vector<bool>* fresh = &s->sync.fresh;
  r.machine.RunningAttempts(running);
  r.attempts.Sync(*running, &s->sync);
  // Entry i of the table is running[i]'s, and stays where it is until the next Sync: the
  // prepared tasks point at their slots.
  for (size_t i = 0; i < running->size(); ++i) {
    AttemptSlot& slot = r.attempts[i].slot;
    if ((*fresh)[i] && r.recovered_observed != nullptr) {
      // The attempt recovered, unless it ended while the run waited its turn and a new
      // attempt started: that one has observed nothing yet.
      std::map<SlotKey, RecoveredObservation>& observed = *r.recovered_observed;
      auto obs = observed.find(SlotKey{r.attempts[i].step_id, (*running)[i].item_index});
      if (obs != observed.end()) {
        if (obs->second.attempt == (*running)[i].attempt)
          slot.observed = std::move(obs->second.text);
        observed.erase(obs);
      }
    }
    if (slot.dirty && !slot.in_flight && !slot.resolved) {
      Prepare(r, std::move((*running)[i]), slot, &s->prepared);
    }
  }
}

void RuntimeImpl::Prepare(
    RunSlot& r, RunMachine::Attempt&& a, AttemptSlot& slot,
    std::vector<std::pair<std::unique_ptr<ReconcileTask>, AttemptSlot*>>* prepared) const {
  slot.dirty = false;
  const Value* literal = r.machine.LiteralWith(a);
  Result<Value> with = Value();  // used only when `with` needs resolving
  if (literal == nullptr) with = r.machine.ResolveWith(a);
  Step* step = options_.steps->FindStep(a.step->action);
  if (!with.ok() || step == nullptr) {
    Status why = !with.ok()
                     ? with.status()
                     : FailedPreconditionError("no step registered for action " + a.step->action);
    r.inputs.push_back(FailedEvent(a.step->id, a.item_index, a.attempt, why, false));
    slot.resolved = true;
    return;
  }
  auto task = std::make_unique<ReconcileTask>();
  task->run = &r;
  task->step_id = &a.step->id;
  task->step_index = a.step_index;
  task->item_index = a.item_index;
  task->item.Set(std::move(a.item));
  task->attempt = a.attempt;
  if (literal != nullptr) {
    task->with = literal;
  } else {
    task->resolved.Set(std::move(*with));
    task->with = &task->resolved.get();
  }
  task->started_at = a.started_at;
  task->step = step;
  prepared->emplace_back(std::move(task), &slot);
}

void RuntimeImpl::DispatchPrepared(RunSlot& r) {
  for (auto& [task, slot] : act_.prepared) {
    if (slot->recheck_timer != 0) {
      env_->CancelTimer(slot->recheck_timer);
      slot->recheck_timer = 0;
    }
    slot->in_flight = true;
    slot->dispatch_wake_seq = wake_seq_;
    ++r.pins;
    ++reconciles_in_flight_;
    // Submitted together at the end of the pass: one wake-up of the pool for many tasks. The
    // closure holds two pointers, small enough for std::function to keep without allocating;
    // the pool runs every task it accepted, and RunTask takes the task back.
    dispatched_.push_back([this, t = task.release()] { RunTask(t); });
  }
  act_.prepared.clear();
}

// On a worker thread.
void RuntimeImpl::RunTask(ReconcileTask* raw) {
  std::unique_ptr<ReconcileTask> task(raw);
  task->skipped = stopping_.load();
  if (!task->skipped) {
    ++reconciles_;
    Context ctx(*task, env_, options_.services != nullptr ? *options_.services : kNoServices);
    // Exceptions never cross our APIs; a step that throws fails its attempt instead of the
    // process.
    try {
      task->result = task->step->Reconcile(ctx);
    } catch (const std::exception& e) {
      task->result = Fail{InternalError("step threw: " + std::string(e.what())), false};
    } catch (...) {
      task->result = Fail{InternalError("step threw a non-exception"), false};
    }
  }
  PostReconciled(std::move(task));
}

void RuntimeImpl::OnReconcileDone(std::unique_ptr<ReconcileTask> task) {
  --reconciles_in_flight_;
  RunSlot* r = task->run;
  --r->pins;
  if (r->gone) {
    ReleaseIfGone(r);
  } else {
    OnReconcileDoneImpl(*task);
  }
  if (reconciles_in_flight_ == 0) recent_wakes_.clear();
}

void RuntimeImpl::OnReconcileDoneImpl(ReconcileTask& task) {
  if (task.skipped || stopping_) return;  // redone after the restart
  RunSlot& r = *task.run;
  StepResult& result = task.result;
  AttemptSlot* found = r.attempts.Find(task.step_index, task.item_index);
  // An outcome for an attempt that is no longer running is dropped.
  if (found == nullptr || found->attempt != task.attempt) return;
  AttemptSlot& slot = *found;
  slot.in_flight = false;
  MarkDirty(r, /*act=*/slot.dirty);  // woken while in flight: reconcile again
  if (auto* done = std::get_if<Done>(&result)) {
    Event& e = NewInput(r);
    SetStepEvent(EventType::kAttemptSucceeded, *task.step_id, task.item_index, task.attempt, &e);
    e.outputs = std::move(done->outputs);
    slot.resolved = true;
    return;
  }
  if (auto* fail = std::get_if<Fail>(&result)) {
    r.inputs.push_back(
        FailedEvent(*task.step_id, task.item_index, task.attempt, fail->status, fail->retryable));
    slot.resolved = true;
    return;
  }
  Wait& wait = std::get<Wait>(result);
  if (!wait.observed.empty() && wait.observed != slot.observed) {
    Event& e = NewInput(r);
    SetStepEvent(EventType::kObserved, *task.step_id, task.item_index, task.attempt, &e);
    e.message = wait.observed;
    slot.observed = std::move(wait.observed);
  }
  waits_.Set(InstanceKeyView(r.order, r.run_id, *task.step_id, task.item_index), wait.wake_on);
  for (const ObjectRef& ref : wait.wake_on) {
    auto woken = recent_wakes_.find(WakeIndex::RefKey(ref));
    if (woken != recent_wakes_.end() && woken->second > slot.dispatch_wake_seq) {
      slot.dirty = true;  // changed while this Reconcile was looking: look again
      MarkDirty(r, /*act=*/true);
      break;
    }
  }
  slot.waits_on_refs = !wait.wake_on.empty();
  if (wait.recheck_after.has_value()) {
    uint64_t token = ++next_token_;
    slot.recheck_token = token;
    Duration after = std::max(Duration(0), *wait.recheck_after);
    slot.recheck_timer = env_->StartTimer(
        env_->Now() + after,
        [this, id = r.run_id, step = task.step_index, item = task.item_index, token] {
          Post([this, id, step, item, token] { OnRecheck(id, step, item, token); });
        });
  }
}

void RuntimeImpl::OnWake(const ObjectRef& ref) {
  if (reconciles_in_flight_ > 0) recent_wakes_[WakeIndex::RefKey(ref)] = ++wake_seq_;
  waits_.ForEachWaiting(ref, [this](const InstanceKey& k) {
    std::unique_ptr<RunSlot>* run = runs_.Find(k.run_id);
    if (run == nullptr) return;
    RunSlot& r = **run;
    AttemptSlot* slot = r.attempts.Find(k.step_id, k.item_index);
    if (slot == nullptr) return;
    slot->dirty = true;
    MarkDirty(r, /*act=*/true);  // touches neither waits_ nor runs_
  });
}

void RuntimeImpl::OnRecheck(const std::string& run_id, int step_index, int item_index,
                            uint64_t token) {
  std::unique_ptr<RunSlot>* run = runs_.Find(run_id);
  if (run == nullptr) return;
  AttemptSlot* slot = (*run)->attempts.Find(step_index, item_index);
  if (slot == nullptr || slot->recheck_token != token) return;
  slot->recheck_timer = 0;
  slot->dirty = true;
  MarkDirty(**run, /*act=*/true);
}

void RuntimeImpl::OnRunTimer(const std::string& run_id, uint64_t token) {
  std::unique_ptr<RunSlot>* run = runs_.Find(run_id);
  if (run == nullptr || (*run)->wake_token != token) return;
  RunSlot& r = **run;
  r.wake_timer = 0;
  r.wake_at.reset();
  MarkDirty(r);
}

void RuntimeImpl::ArmRunTimer(RunSlot& r, std::optional<TimePoint> at) {
  if (r.wake_at == at && (r.wake_timer != 0 || !at.has_value())) return;
  if (r.wake_timer != 0) env_->CancelTimer(r.wake_timer);
  r.wake_timer = 0;
  r.wake_at = at;
  if (!at.has_value()) return;
  uint64_t token = ++next_token_;
  r.wake_token = token;
  r.wake_timer = env_->StartTimer(
      *at, [this, id = r.run_id, token] { Post([this, id, token] { OnRunTimer(id, token); }); });
}

void RuntimeImpl::ClearSlot(RunSlot& r, AttemptTable::Entry& e) {
  AttemptSlot& slot = e.slot;
  if (slot.recheck_timer != 0) env_->CancelTimer(slot.recheck_timer);
  slot.recheck_timer = 0;
  if (slot.waits_on_refs) {
    waits_.Set(InstanceKeyView(r.order, r.run_id, e.step_id, e.item_index), {});
  }
  slot.waits_on_refs = false;
}

void RuntimeImpl::ClearTimers(RunSlot& r) {
  for (AttemptTable::Entry& e : r.attempts) ClearSlot(r, e);
  if (r.wake_timer != 0) env_->CancelTimer(r.wake_timer);
  r.wake_timer = 0;
  r.wake_at.reset();
}

}  // namespace brfed::internal
