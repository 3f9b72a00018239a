// The state of a RunMachine, shared by machine.cc (Apply) and machine_effects.cc (NextEffects,
// views). Internal to engine/.
//
// Instances live per step, in item order; an instance is addressed by Ref = (step index, slot).
// A forEach step that has not expanded yet holds one placeholder instance (item -1, no key)
// that stands for the whole step: it turns Succeeded for an empty list, Failed for a list that
// does not resolve, Skipped/Cancelled with the rest of the graph. Sets index the instances
// that NextEffects needs (ready, running, timed), so each Apply and each NextEffects costs
// O(log n) per touched instance, not a scan.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "brfed/boxed.h"
#include "engine/compact_value.h"
#include "engine/expr.h"
#include "engine/machine.h"

namespace brfed {
namespace internal {

// What few instances carry: an item (forEach), the error of a failed attempt, an observation.
struct InstanceDetail {
  Value item;
  Status last_error;
  std::string observed;
};

// One step instance in 56 bytes: recovery builds one per step of every run, and the engine one
// per step of every run it starts.
struct MachineInstance {
  int item_index = -1;
  int attempt = 0;
  InstanceState state = InstanceState::kPending;
  TimePoint started_at{};
  TimePoint attempt_started_at{};
  TimePoint finished_at{};
  // Its next time (backoff end, attempt deadline) is the machine's `timers` entry.
  CompactValue outputs;
  Boxed<InstanceDetail> detail;  // item, last_error, observed
  const Value& item() const { return detail.get().item; }
  const Status& last_error() const { return detail.get().last_error; }
  const std::string& observed() const { return detail.get().observed; }
};

// A set kept as a sorted array. The machine's sets hold a handful of entries, and a node
// allocation per state change was the largest single cost of folding a run (recovery). 16
// bytes, not a vector's 24: every machine holds three, and recovery builds 100,000 machines.
template <typename T>
class FlatSet {
 public:
  using const_iterator = const T*;

  FlatSet() = default;
  FlatSet(const FlatSet& o) { *this = o; }
  FlatSet& operator=(const FlatSet& o) {
    if (this == &o) return *this;
    data_.reset(o.size_ == 0 ? nullptr : new T[o.size_]);
    std::copy(o.begin(), o.end(), data_.get());
    size_ = cap_ = o.size_;
    return *this;
  }
  FlatSet(FlatSet&& o) noexcept
      : data_(std::move(o.data_)),
        size_(std::exchange(o.size_, 0)),
        cap_(std::exchange(o.cap_, 0)) {}
  FlatSet& operator=(FlatSet&& o) noexcept {
    data_ = std::move(o.data_);
    size_ = std::exchange(o.size_, 0);
    cap_ = std::exchange(o.cap_, 0);
    return *this;
  }

  bool insert(const T& v) {
    T* it = std::lower_bound(data_.get(), data_.get() + size_, v);
    if (it != data_.get() + size_ && !(v < *it)) return false;
    const size_t pos = static_cast<size_t>(it - data_.get());
    if (size_ == cap_) Grow();
    T* d = data_.get();
    std::move_backward(d + pos, d + size_, d + size_ + 1);
    d[pos] = v;
    ++size_;
    return true;
  }
  size_t erase(const T& v) {
    T* end = data_.get() + size_;
    T* it = std::lower_bound(data_.get(), end, v);
    if (it == end || v < *it) return 0;
    std::move(it + 1, end, it);
    --size_;
    return 1;
  }
  const_iterator begin() const { return data_.get(); }
  const_iterator end() const { return data_.get() + size_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  // Room for one more: one at first (a sequential workflow's ready and running steps), then
  // twice as much.
  void Grow() {
    const uint32_t cap = cap_ == 0 ? 1 : 2 * cap_;
    std::unique_ptr<T[]> grown(new T[cap]);
    std::move(data_.get(), data_.get() + size_, grown.get());
    data_ = std::move(grown);
    cap_ = cap;
  }

  std::unique_ptr<T[]> data_;
  uint32_t size_ = 0;
  uint32_t cap_ = 0;
};

// A step's instances: every step holds at least one (its own, or the placeholder of a forEach
// step that has not expanded), kept inline; an expanded forEach step's items are on the heap.
// Recovery builds every step of every run, and an allocation per step was a tenth of it.
class InstanceList {
 public:
  size_t size() const { return many_.empty() ? 1 : many_.get().size(); }
  MachineInstance& operator[](size_t i) { return data()[i]; }
  const MachineInstance& operator[](size_t i) const { return data()[i]; }
  MachineInstance* begin() { return data(); }
  MachineInstance* end() { return data() + size(); }
  const MachineInstance* begin() const { return data(); }
  const MachineInstance* end() const { return data() + size(); }
  // Replaces the instances by n fresh ones. REQUIRES: n >= 1.
  void assign(size_t n) {
    one_ = MachineInstance{};
    many_ = {};
    if (n > 1) many_.mut().resize(n);
  }

 private:
  MachineInstance* data() { return many_.empty() ? &one_ : many_.mut().data(); }
  const MachineInstance* data() const { return many_.empty() ? &one_ : many_.get().data(); }

  // many_ first: size() reads it, and with the step's scheduling fields before it, a pass
  // over the steps (Settle) reads one cache line a step. A box, not a vector: most steps never
  // have more than their one instance, and recovery builds every step of every run.
  Boxed<std::vector<MachineInstance>> many_;  // all of them, when there are two or more
  MachineInstance one_;                       // the only instance, while many_ is empty
};

// The messages of a run that was cancelled, failed or finished (RunMachine::Impl::messages).
struct RunMessages {
  std::string finish_message;
  std::string cancel_reason;
  std::string first_failure;
};

// 88 bytes: the scheduling fields and insts' box in the first 32, then the instance of a step
// without forEach. Its definition and needs are the plan's, by the step's index.
struct MachineStep {
  Boxed<Value> list_outputs;  // a forEach step's outputs once Done: its items' outputs
  int succeeded = 0;          // instances in kSucceeded
  int terminal = 0;           // instances in any terminal state
  bool is_finally = false;
  bool for_each = false;
  bool expanded = false;   // insts hold the real items (always true without forEach)
  bool activated = false;  // made ready, skipped or cancelled: the scheduler is done with it
  bool any_started = false;
  InstanceList insts;

  bool Done() const { return expanded && succeeded == static_cast<int>(insts.size()); }
  bool Broken() const { return terminal > succeeded; }
};

}  // namespace internal

// What every run of one workflow shares: the step graph resolved to indexes, built once per
// definition instead of once per run (recovery builds a machine for every run).
struct MachinePlan {
  std::shared_ptr<const Workflow> wf;
  Status error;           // a workflow the machine cannot run (duplicate ids, unknown needs)
  int first_finally = 0;  // main steps, then finally steps
  std::vector<const StepDef*> defs;     // per step index: main steps, then finally steps
  std::vector<std::vector<int>> needs;  // per step index: the indexes it needs
  std::vector<bool> with_literal;       // per step index: `with` needs no resolving (IsLiteral)
  // (step id, index), sorted by id.
  std::vector<std::pair<std::string_view, int>> step_index;

  // The index of step `id`, or -1.
  int FindStep(std::string_view id) const {
    auto it = std::lower_bound(step_index.begin(), step_index.end(), id,
                               [](const auto& e, std::string_view k) { return e.first < k; });
    return it != step_index.end() && it->first == id ? it->second : -1;
  }
};

struct RunMachine::Impl final : StepOutputs {
  using Ref = std::pair<int, int>;                // (step index, slot)
  using Timed = std::tuple<TimePoint, int, int>;  // (time, step index, slot)

  // What every Apply, Settle and NextEffects reads, first: with the vtable pointer, the
  // first cache line (a run's machine is cold when its next record comes in).
  RunState state = RunState::kRunning;
  bool started = false;
  bool cancelled = false;
  bool main_failed = false;
  bool finally_failed = false;
  int main_open = 0;     // non-terminal main instances
  int finally_open = 0;  // non-terminal finally instances
  uint64_t last_seq = 0;
  uint64_t instances_ended = 0;  // instances that became terminal, ever: Settle's progress
  std::vector<internal::MachineStep> steps;  // main steps, then finally steps
  int first_finally = 0;                     // index of the first finally step
  // Main steps [0, activated_prefix) are all activated (activation is for good): Settle's
  // scan starts after them instead of reading each of their cold lines again.
  int activated_prefix = 0;
  const Workflow* wf = nullptr;              // plan->wf
  internal::FlatSet<Ref> ready;
  internal::FlatSet<Ref> running;
  internal::FlatSet<Timed> timers;  // an instance's next time: at most one entry each

  std::string run_id;
  std::shared_ptr<const MachinePlan> plan;
  std::shared_ptr<const Value> params;  // null for none: Params() is then an empty map
  uint64_t seed = 0;
  TimePoint started_at{};
  TimePoint finished_at{};
  // What a run that ends otherwise than well says, out of line: most runs never need it.
  Boxed<internal::RunMessages> messages;

  int FindStep(std::string_view id) const { return plan->FindStep(id); }
  // The definition of step `s`, one of `steps`.
  const StepDef& Def(const internal::MachineStep& s) const {
    return *plan->defs[static_cast<size_t>(&s - steps.data())];
  }
  const Value& Params() const { return params != nullptr ? *params : RunMachine::NoParams(); }
  // The index of the step a step-instance event names, or -1 (FindStep, faster).
  int StepOf(const Event& e) const;
  // StepOutputs: the outputs of a step that is Done.
  const Value* Find(std::string_view id) const override;

  // The idempotency key of instance `in` of step `s`: worked out when asked, not stored.
  // Empty for the placeholder of a forEach step (no items yet, or none at all).
  std::string Key(const internal::MachineStep& s, const internal::MachineInstance& in) const {
    if (s.for_each && in.item_index < 0) return {};
    return IdempotencyKey(run_id, Def(s).id, in.item_index);
  }
  internal::MachineInstance& Inst(Ref r) { return steps[r.first].insts[r.second]; }
  const internal::MachineInstance& Inst(Ref r) const { return steps[r.first].insts[r.second]; }

  // machine.cc
  void Init();
  Status Validate(const Event& e, Ref* ref) const;
  void Mutate(const Event& e, Ref ref);
  void SetState(Ref r, InstanceState s, TimePoint t);
  void SetNextTime(Ref r, std::optional<TimePoint> t);
  // r's backoff end or attempt deadline: its entry in `timers` (a few entries).
  std::optional<TimePoint> NextTime(Ref r) const {
    for (const Timed& t : timers) {
      if (std::get<1>(t) == r.first && std::get<2>(t) == r.second) return std::get<0>(t);
    }
    return std::nullopt;
  }
  void Settle(TimePoint t);
  void Activate(int step, TimePoint t);
  void EndStep(int step, InstanceState s, TimePoint t);
  void OnInstanceFailed(Ref r, TimePoint t);
  void OnInstanceSucceeded(Ref r);
  bool ConditionHolds(const internal::MachineStep& s) const;
  RunState DerivedFinalState() const;
  std::string DerivedMessage() const;
  std::string InstanceName(Ref r) const;

  // machine_effects.cc
  std::optional<TimePoint> Next(TimePoint now, std::vector<Event>* out) const;
  bool Round(TimePoint now, std::vector<Event>* out, std::optional<TimePoint>* wake) const;
};

}  // namespace brfed
