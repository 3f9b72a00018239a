// RunMachine: what the run should do next (NextEffects), its running attempts, their inputs,
// and its view. Reads the state; never changes it.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "engine/expr.h"
#include "engine/machine.h"
#include "engine/machine_internal.h"

namespace brfed {

using internal::MachineInstance;
using internal::MachineStep;

std::string IdempotencyKey(std::string_view run_id, std::string_view step_id, int item_index) {
  std::string key;
  key.reserve(run_id.size() + step_id.size() + 8);
  key.append(run_id).append(":").append(step_id);
  if (item_index >= 0) key.append(":").append(std::to_string(item_index));
  return key;
}

bool IsIdempotencyKey(std::string_view key, std::string_view run_id, std::string_view step_id,
                      int item_index) {
  auto take = [&key](std::string_view part) {
    if (key.substr(0, part.size()) != part) return false;
    key.remove_prefix(part.size());
    return true;
  };
  if (!take(run_id) || !take(":") || !take(step_id)) return false;
  if (item_index < 0) return key.empty();
  char digits[16];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), item_index);
  return take(":") && take(std::string_view(digits, static_cast<size_t>(end - digits))) &&
         key.empty();
}

namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a: stable across platforms and releases, unlike std::hash.
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

Duration BackoffDelay(const RetryPolicy& policy, uint64_t seed, std::string_view step_id,
                      int item_index, int next_attempt) {
  const double max_ms = static_cast<double>(std::max<int64_t>(0, policy.max_backoff.count()));
  const int exponent = std::max(0, next_attempt - 2);
  double cap = static_cast<double>(policy.backoff.count()) * std::pow(policy.factor, exponent);
  if (!(cap >= 0)) cap = 0;  // NaN or negative from a nonsensical policy
  cap = std::min(cap, max_ms);
  const auto cap_ms = static_cast<uint64_t>(cap);
  if (policy.jitter == Jitter::kNone || cap_ms == 0) return Duration(static_cast<int64_t>(cap_ms));
  uint64_t h = SplitMix64(seed ^ Fnv1a(step_id));
  h = SplitMix64(h ^ static_cast<uint64_t>(static_cast<int64_t>(item_index) + 1));
  h = SplitMix64(h ^ static_cast<uint64_t>(next_attempt));
  return Duration(static_cast<int64_t>(h % (cap_ms + 1)));
}

RunMachine::Effects RunMachine::NextEffects(TimePoint now) const {
  Effects fx;
  fx.wake_at = impl_->Next(now, &fx.append);
  return fx;
}

std::optional<TimePoint> RunMachine::AppendEffects(TimePoint now,
                                                   std::vector<Event>* append) const {
  return impl_->Next(now, append);
}

// One round: every Ready instance and every due backoff starts an attempt, every attempt past
// its deadline times out. A timeout can have consequences at the same instant (a zero backoff,
// the end of the main graph starting the finally steps), so after a round with timeouts the
// records are applied to one copy of the state and the next round appended, until nothing more
// happens at `now`.
std::optional<TimePoint> RunMachine::Impl::Next(TimePoint now, std::vector<Event>* out) const {
  std::optional<TimePoint> wake;
  if (!started || IsFinished(state) || !plan->error.ok()) return wake;
  size_t applied = out->size();
  if (!Round(now, out, &wake)) return wake;
  Impl next = *this;
  do {
    for (; applied < out->size(); ++applied) {
      Ref ref{-1, -1};
      // Cannot fail: the records were derived from this very state.
      if (!next.Validate((*out)[applied], &ref).ok()) return wake;
      next.Mutate((*out)[applied], ref);
    }
  } while (next.Round(now, out, &wake));
  return wake;
}

// Appends this state's records at `now` to *out (numbered after last_seq) and sets *wake.
// Returns true when the records include a timeout (or an attempt whose deadline is already
// due), whose consequences need another round.
bool RunMachine::Impl::Round(TimePoint now, std::vector<Event>* out,
                             std::optional<TimePoint>* wake_out) const {
  wake_out->reset();
  if (IsFinished(state)) return false;
  // Scratch kept per thread: this runs for every record the engine chooses.
  thread_local std::vector<Ref> due;
  due.assign(ready.begin(), ready.end());
  for (const Timed& tm : timers) {
    if (std::get<0>(tm) > now) break;
    due.emplace_back(std::get<1>(tm), std::get<2>(tm));
  }
  std::sort(due.begin(), due.end());

  uint64_t seq = last_seq;
  bool chained = false;
  std::optional<TimePoint> wake;
  auto wake_at = [&wake](TimePoint t) {
    if (!wake.has_value() || t < *wake) wake = t;
  };
  for (Ref r : due) {
    const MachineStep& s = steps[r.first];
    const MachineInstance& in = Inst(r);
    Event& e = out->emplace_back();  // built in place
    e.seq = ++seq;
    e.time = now;
    e.step_id = Def(s).id;
    e.item_index = in.item_index;
    if (in.state == InstanceState::kRunning) {
      e.type = EventType::kAttemptTimedOut;
      e.attempt = in.attempt;
      chained = true;
    } else {
      e.type = EventType::kAttemptStarted;
      e.attempt = in.state == InstanceState::kReady ? 1 : in.attempt + 1;
      e.idempotency_key = Key(s, in);
      if (Def(s).timeout.has_value()) {
        wake_at(now + *Def(s).timeout);
        if (*Def(s).timeout <= Duration(0)) chained = true;
      }
    }
  }
  if (due.empty() && state == RunState::kFinalizing && finally_open == 0) {
    Event& e = out->emplace_back();
    e.type = EventType::kRunFinished;
    e.seq = ++seq;
    e.time = now;
    e.final_state = DerivedFinalState();
    e.message = DerivedMessage();
    return false;
  }
  for (const Timed& tm : timers) {
    if (std::get<0>(tm) > now) {
      wake_at(std::get<0>(tm));
      break;
    }
  }
  *wake_out = wake;
  return chained;
}

std::vector<RunMachine::Attempt> RunMachine::RunningAttempts() const {
  std::vector<Attempt> out;
  RunningAttempts(&out);
  return out;
}

bool RunMachine::HasRunningAttempts() const { return !impl_->running.empty(); }

void RunMachine::RunningAttempts(std::vector<Attempt>* out) const {
  out->clear();
  out->reserve(impl_->running.size());
  for (Impl::Ref r : impl_->running) {
    const MachineInstance& in = impl_->Inst(r);
    Attempt a;
    a.step = impl_->plan->defs[r.first];
    a.step_index = r.first;
    a.item_index = in.item_index;
    a.item = in.item();
    a.attempt = in.attempt;
    a.started_at = in.attempt_started_at;
    a.deadline = impl_->NextTime(r);
    out->push_back(std::move(a));
  }
}

Result<Value> RunMachine::ResolveWith(const Attempt& attempt) const {
  if (attempt.step == nullptr) return InvalidArgumentError("attempt has no step");
  if (const Value* literal = LiteralWith(attempt)) return *literal;  // nothing to resolve
  Scope scope{.params = &impl_->Params(),
              .item = attempt.item_index >= 0 ? &attempt.item : nullptr,
              .outputs = impl_.get()};
  Result<Value> with = Resolve(attempt.step->with, scope);
  if (!with.ok()) {
    return with.status().WithContext("step " + attempt.step->id + " with");
  }
  return with;
}

const Value* RunMachine::LiteralWith(const Attempt& attempt) const {
  const MachinePlan& plan = *impl_->plan;
  if (attempt.step == nullptr || attempt.step_index < 0 ||
      attempt.step_index >= static_cast<int>(plan.with_literal.size()) ||
      !plan.with_literal[attempt.step_index]) {
    return nullptr;
  }
  return &attempt.step->with;
}

RunView RunMachine::View() const {
  const Impl& m = *impl_;
  RunView v;
  v.run_id = m.run_id;
  if (m.wf != nullptr) {
    v.workflow_name = m.wf->name;
    v.definition_hash = m.wf->hash;
  }
  v.state = m.state;
  v.params = m.Params();
  v.started_at = m.started_at;
  v.finished_at = m.finished_at;
  v.message = IsFinished(m.state) ? m.messages.get().finish_message : m.DerivedMessage();
  v.last_seq = m.last_seq;
  size_t instances = 0;
  for (const MachineStep& s : m.steps) instances += s.insts.size();
  v.instances.reserve(instances);
  for (size_t step = 0; step < m.steps.size(); ++step) {
    const MachineStep& s = m.steps[step];
    for (size_t slot = 0; slot < s.insts.size(); ++slot) {
      const MachineInstance& in = s.insts[slot];
      InstanceView iv;
      iv.step_id = m.Def(s).id;
      iv.item_index = in.item_index;
      iv.item = in.item();
      iv.is_finally = s.is_finally;
      iv.state = in.state;
      iv.attempt = in.attempt;
      iv.idempotency_key = m.Key(s, in);
      iv.started_at = in.started_at;
      iv.attempt_started_at = in.attempt_started_at;
      iv.finished_at = in.finished_at;
      iv.next_time = m.NextTime({static_cast<int>(step), static_cast<int>(slot)});
      iv.last_error = in.last_error();
      iv.observed = in.observed();
      iv.outputs = in.outputs.get();
      v.instances.push_back(std::move(iv));
    }
  }
  return v;
}

}  // namespace brfed
