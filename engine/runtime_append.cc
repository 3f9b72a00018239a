// Runtime: journaling, on the engine thread. A run appends what it should do next (the
// outcomes that came in, else its effects), and applies the records only once durable; then
// starting, cancelling, stalling and finishing runs.

#include <algorithm>
#include <iterator>
#include <utility>

#include "engine/replay.h"
#include "engine/runtime_impl.h"

namespace brfed::internal {

// Journals what the run should do next: the outcomes that came in, then, looking ahead, the
// records they lead to (the next attempts, the run's end), all in one synced write. The
// records are applied to the machine as they are chosen, so the look-ahead sees their effect,
// but nothing acts on them before they are durable: Act waits while an append is in flight,
// and GetRun answers with the durable state.
void RuntimeImpl::Pump(RunSlot& r) {
  if (stopping_ || !r.stalled.ok() || r.append_in_flight || !r.started) return;
  if (r.settled) {
    // Right after an append that ended a settled look-ahead, the machine is as that look-ahead
    // left it: with no inputs since and its wake time not come, looking again finds nothing.
    r.settled = false;
    if (r.inputs.empty() && (!r.settled_wake_at || *r.settled_wake_at > pass_now_)) {
      ArmRunTimer(r, r.settled_wake_at);
      return;
    }
  }
  // The batch is built where it will be in flight: r.appending is free while no append is,
  // and keeps its memory from batch to batch.
  std::vector<Event>& batch = r.appending;
  batch.clear();
  TakeInputs(r, &batch);
  r.appending_inputs = batch.size();
  if (!ApplyAhead(r, batch, 0)) return;
  std::optional<TimePoint> wake_at;
  bool settled = false;
  for (int round = 0; round < kLookAheadRounds && !settled; ++round) {
    const size_t from = batch.size();
    wake_at = r.machine.AppendEffects(pass_now_, &batch);
    settled = batch.size() == from;
    if (!settled && !ApplyAhead(r, batch, from)) return;
  }
  if (!batch.empty()) {
    r.settled = settled;
    r.settled_wake_at = wake_at;
    Append(r);
    return;
  }
  ArmRunTimer(r, wake_at);
}

// Applies records chosen for the next append. A record that does not apply is our own broken
// invariant (it came from this machine's state): the run stalls before it is journaled.
bool RuntimeImpl::ApplyAhead(RunSlot& r, const std::vector<Event>& records, size_t from) {
  for (size_t i = from; i < records.size(); ++i) {
    Status applied = r.machine.Apply(records[i]);
    if (!applied.ok()) {
      r.appending.clear();  // nothing of it is journaled
      RollBack(r);
      Stall(r, InternalError("engine: a record chosen for the journal does not apply: " +
                             applied.message()));
      return false;
    }
  }
  return true;
}

// Puts the machine back to the run's durable records, after an append that did not happen.
// Rare (a refused or failed write), so it reads the journal instead of keeping a copy.
void RuntimeImpl::RollBack(RunSlot& r) {
  if (!r.started) return;  // the slot goes away
  Result<std::vector<Event>> events = options_.journal->ReadRun(r.run_id);
  if (!events.ok()) return;  // the run stalls on its journal error; its view stays ahead
  Result<RunMachine> m = ReplayRun(r.run_id, r.machine.shared_workflow(), *events);
  if (m.ok()) r.machine = std::move(m).value();
}

// The queued outcomes that still apply, numbered after the run's last record, appended to
// *out.
void RuntimeImpl::TakeInputs(RunSlot& r, std::vector<Event>* out) {
  if (r.inputs.empty()) return;
  // r.attempts mirrors the machine's running attempts: Act ran after the last Apply.
  std::vector<const AttemptSlot*> ended;  // a few: a linear search
  uint64_t seq = r.machine.last_seq();
  const TimePoint now = pass_now_;
  size_t taken = 0, chosen = 0;
  for (; taken < r.inputs.size(); ++taken) {
    Event& e = r.inputs[taken];
    e.seq = 0;  // dropped, unless taken below (an outcome put back may carry an old seq)
    if (e.type == EventType::kCancelRequested) {
      if (r.machine.state() != RunState::kRunning) continue;
    } else {
      const AttemptSlot* slot = r.attempts.Find(e.step_id, e.item_index);
      if (slot == nullptr || slot->attempt != e.attempt ||
          std::find(ended.begin(), ended.end(), slot) != ended.end()) {
        continue;
      }
      if (e.type != EventType::kObserved) ended.push_back(slot);
    }
    e.seq = ++seq;  // taken
    e.time = now;
    ++chosen;
    // A failure, a timeout or a cancel may end other attempts (fail-fast cancels the step's
    // siblings, a failed run finalizes), so the outcomes queued after it are checked against
    // the state it leads to, in a later batch: checked against the state before it, an outcome
    // of a just-cancelled attempt would be journaled and then refuse to apply.
    if (e.type != EventType::kObserved && e.type != EventType::kAttemptSucceeded) {
      ++taken;
      break;
    }
  }
  if (chosen == r.inputs.size() && out->empty()) {
    // The usual case, every input taken: the vectors trade buffers, no Event is moved (the
    // inputs' buffer has room for the look-ahead too: RuntimeImpl::NewInput), and the inputs
    // get the batch's empty one.
    out->swap(r.inputs);
    return;
  }
  for (size_t i = 0; i < taken; ++i) {
    if (r.inputs[i].seq != 0) out->push_back(std::move(r.inputs[i]));
  }
  r.inputs.erase(r.inputs.begin(), r.inputs.begin() + static_cast<std::ptrdiff_t>(taken));
}

void RuntimeImpl::Append(RunSlot& r) {
  r.append_in_flight = true;
  ++appends_in_flight_;
  // Handed to the journal by the appender thread at the end of this pass, in order. Until the
  // append is done the engine thread leaves r.appending alone and never retires the slot, so
  // the appender can read both. Both closures hold two pointers: no allocation.
  appends_.push_back([this, slot = &r] {
    options_.journal->AppendRunAsync(slot->run_id, slot->appending, &slot->cursor,
                                     [this, slot](Status s) { PostAppended(slot, std::move(s)); });
  });
}

void RuntimeImpl::OnAppendDone(RunSlot* r, Status s) {
  --appends_in_flight_;
  // What waited for this append (GetRun answers) runs after it, even if the run ends.
  std::vector<std::function<void()>> deferred;
  if (!r->after_append.empty()) deferred.swap(r->after_append.mut());
  OnAppendDoneImpl(*r, std::move(s));  // may retire the slot
  for (std::function<void()>& fn : deferred) fn();
}

void RuntimeImpl::OnAppendDoneImpl(RunSlot& r, Status s) {
  r.append_in_flight = false;
  if (!s.ok()) {
    r.settled = false;  // the machine goes back to the journal's records
    std::vector<Event> batch = std::move(r.appending);
    r.appending.clear();
    OnAppendFailed(r, std::move(batch), s);
    return;
  }
  // r.appending is cleared, keeping its memory for the run's next batch (Pump).
  const std::vector<Event>& batch = r.appending;
  transitions_ += batch.size();  // applied when chosen (Pump)
  r.retried_rejected = false;
  if (!r.started && batch.front().type == EventType::kRunStarted) {
    r.started = true;
    {
      std::lock_guard<std::mutex> l(mu_);
      active_.Insert(&r);
    }
    for (std::promise<Status>* p : r.start_waiters.get()) p->set_value(Status::OK());
    r.start_waiters = {};
  }
  if (options_.on_run_changed) options_.on_run_changed(r.machine.View());
  if (IsFinished(r.machine.state())) {
    Finish(r);
    return;
  }
  // The running attempts changed unless the batch only recorded observations.
  bool act = false;
  for (const Event& e : batch) act |= e.type != EventType::kObserved;
  r.appending.clear();
  MarkDirty(r, act);
}

void RuntimeImpl::OnAppendFailed(RunSlot& r, std::vector<Event> batch, const Status& s) {
  const std::string where = "engine: run " + r.run_id + ": journal append";
  if (!r.started) {
    // RunStarted was refused: there is no run. (After a disk failure it may be durable; a
    // reopen then recovers it, which is what "maybe journaled" means.)
    for (std::promise<Status>* p : r.start_waiters.get()) p->set_value(s.WithContext(where));
    r.start_waiters = {};
    ClearTimers(r);
    Retire(r);
    return;
  }
  // Not durable (after a disk failure maybe durable: a reopen tells), so the machine goes
  // back to what the journal holds.
  RollBack(r);
  bool has_payload = false;
  for (const Event& e : batch) {
    has_payload |= e.type == EventType::kAttemptSucceeded || e.type == EventType::kObserved;
  }
  if (s.code() == StatusCode::kInvalidArgument && has_payload && !r.retried_rejected) {
    // A record over the size cap: outputs or an observation too large. Rejected before it was
    // queued, so nothing of the batch is durable. The outcomes go back to the inputs with each
    // success turned into a failure saying so, once; the look-ahead is redone from them.
    std::vector<Event> again;
    for (size_t i = 0; i < r.appending_inputs && i < batch.size(); ++i) {
      Event& e = batch[i];
      if (e.type == EventType::kObserved) continue;
      if (e.type == EventType::kAttemptSucceeded) {
        Status why = InvalidArgumentError("the journal refused the step's outputs: " + s.message());
        e = FailedEvent(e.step_id, e.item_index, e.attempt, why, false);
      }
      again.push_back(std::move(e));
    }
    r.retried_rejected = true;
    r.inputs.insert(r.inputs.begin(), std::make_move_iterator(again.begin()),
                    std::make_move_iterator(again.end()));
    MarkDirty(r);
    return;
  }
  Stall(r, s.WithContext(where));
}

void RuntimeImpl::Stall(RunSlot& r, Status s) {
  r.stalled = s;
  ClearTimers(r);
  for (std::promise<Status>* p : r.start_waiters.get()) p->set_value(s);
  r.start_waiters = {};
  std::lock_guard<std::mutex> l(mu_);
  stalled_.insert_or_assign(r.run_id, std::move(s));
  state_cv_.notify_all();
}

void RuntimeImpl::Finish(RunSlot& r) {
  ClearTimers(r);
  // The machine itself is kept for the finished cache, not a view of it: views are built when
  // asked for (rarely, for most runs), and a run ends without copying its state. Nothing reads
  // r.machine after this (a retired slot is only unpinned and freed).
  finishing_.emplace_back(r.run_id, std::make_shared<const RunMachine>(std::move(r.machine)));
  Retire(r);
}

void RuntimeImpl::PublishFinished(std::vector<std::shared_ptr<const RunMachine>>* evicted,
                                  std::vector<std::unique_ptr<RunSlot>>* freed) {
  if (!finishing_.empty()) {
    for (auto& [id, machine] : finishing_) {
      active_.Erase(id);
      CacheFinished(std::move(id), std::move(machine), evicted);
    }
    finishing_.clear();
    state_cv_.notify_all();
  }
  // After the erases above: active_ held views of these slots' ids until then.
  freed->swap(released_);
}

void RuntimeImpl::CacheFinished(std::string run_id, std::shared_ptr<const RunMachine> machine,
                                std::vector<std::shared_ptr<const RunMachine>>* evicted) {
  auto [it, fresh] = finished_.insert_or_assign(std::move(run_id), std::move(machine));
  if (!fresh) return;
  finished_order_.push_back(it->first);
  while (finished_order_.size() > kFinishedCacheSize) {
    auto old = finished_.find(finished_order_.front());
    evicted->push_back(std::move(old->second));
    finished_order_.pop_front();
    finished_.erase(old);
  }
}

void RuntimeImpl::Retire(RunSlot& r) {
  std::unique_ptr<RunSlot> owned = runs_.Take(r.run_id);
  owned->gone = true;
  // A run given its turn will not act: its room goes to the next in line.
  if (owned->turn == Turn::kGranted) EndTurn(*owned);
  if (owned->Referenced()) {
    retired_.emplace(owned.get(), std::move(owned));
  } else {
    released_.push_back(std::move(owned));
  }
}

void RuntimeImpl::ReleaseIfGone(RunSlot* r) {
  if (!r->gone || r->Referenced()) return;
  auto it = retired_.find(r);
  if (it == retired_.end()) return;  // released already
  released_.push_back(std::move(it->second));
  retired_.erase(it);
}

void RuntimeImpl::OnStart(const std::string& run_id, std::shared_ptr<const Workflow> workflow,
                          Value params, std::promise<Status>* done) {
  if (stopping_) {
    done->set_value(UnavailableError("engine: start run " + run_id + ": shutting down"));
    return;
  }
  if (std::unique_ptr<RunSlot>* found = runs_.Find(run_id); found != nullptr) {
    if ((*found)->started) {
      done->set_value(Status::OK());
    } else {
      (*found)->start_waiters.mut().push_back(done);  // the same run, being started
    }
    return;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (finished_.count(run_id) > 0) {
      done->set_value(Status::OK());
      return;
    }
  }
  Event e;
  e.type = EventType::kRunStarted;
  e.seq = 1;
  e.time = env_->Now();
  RunStart& start = e.start.mut();
  start.workflow_name = workflow->name;
  start.definition_hash = workflow->hash;
  // The machine plans the definition once; runs share the plan.
  std::shared_ptr<const MachinePlan> plan = definitions_.Put(std::move(workflow));
  start.params = std::move(params);
  start.seed = rng_();
  RunMachine machine(run_id, std::move(plan));
  // Applied when chosen, like every record (Pump); nothing acts before it is durable.
  if (Status applied = machine.Apply(e); !applied.ok()) {
    done->set_value(applied.WithContext("engine: start run " + run_id));
    return;
  }
  auto slot = std::make_unique<RunSlot>(run_id, std::move(machine));
  slot->params = slot->machine.shared_params();
  slot->start_waiters.mut().push_back(done);
  slot->order = ++next_order_;
  RunSlot& r = *slot;
  runs_.Insert(std::move(slot));
  r.appending.reserve(2);  // its batches hold an outcome and what it leads to
  r.appending.push_back(std::move(e));
  Append(r);
}

void RuntimeImpl::OnCancel(const std::string& run_id, const std::string& reason,
                           std::promise<Status>* done) {
  std::unique_ptr<RunSlot>* found = runs_.Find(run_id);
  if (found == nullptr) {
    std::lock_guard<std::mutex> l(mu_);
    done->set_value(finished_.count(run_id) > 0
                        ? Status::OK()
                        : NotFoundError("engine: cancel: no run " + run_id));
    return;
  }
  RunSlot& r = **found;
  if (!r.stalled.ok()) {
    done->set_value(r.stalled);
    return;
  }
  // Already cancelled, finalizing or finished: nothing more to do.
  if (!r.cancel_requested && (!r.started || r.machine.state() == RunState::kRunning)) {
    r.cancel_requested = true;
    Event e;
    e.type = EventType::kCancelRequested;
    e.message = reason;
    r.inputs.push_back(std::move(e));
    MarkDirty(r);
  }
  done->set_value(Status::OK());
}

}  // namespace brfed::internal
