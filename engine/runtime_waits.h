// WakeIndex: which waiting step instances an object change should wake.
//
//   index.Set(key, {ref_a, ref_b});       // the instance waits on these now
//   index.ForEachWaiting(ref_a, [](const InstanceKey& k) { Reconcile(k); });
//   index.Set(key, {});                   // it waits on nothing
//
// Owned by the engine thread; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "brfed/step.h"

namespace brfed {

// One step instance of one run: (run id, step id, item index), ordered first by `order`, a
// number the run keeps for as long as it is in memory (the engine numbers runs as it takes
// them in). So the waiters of one object are woken in the order their runs were taken in,
// which is the order their state lies in memory, whatever their ids (Kubernetes uids are
// random; with random ids, engine_bench measured 0.55x of raw batches woken in id order and
// 0.62x in this one), and most comparisons are of two integers, not of two run ids.
struct InstanceKey {
  uint64_t order = 0;
  std::string run_id;
  std::string step_id;
  int item_index = -1;
  friend bool operator==(const InstanceKey&, const InstanceKey&) = default;
};

// An InstanceKey's fields as views: what lookups are made with, so a lookup copies no run id
// (a Kubernetes uid, 36 characters: an allocation per copy).
struct InstanceKeyView {
  uint64_t order;
  std::string_view run_id;
  std::string_view step_id;
  int item_index;
  InstanceKeyView(uint64_t o, std::string_view run, std::string_view step, int item)
      : order(o), run_id(run), step_id(step), item_index(item) {}
  InstanceKeyView(const InstanceKey& k)  // NOLINT: a view of it
      : InstanceKeyView(k.order, k.run_id, k.step_id, k.item_index) {}
  InstanceKey Own() const {
    return InstanceKey{order, std::string(run_id), std::string(step_id), item_index};
  }
};

// Orders InstanceKeys and their views alike.
struct InstanceKeyLess {
  using is_transparent = void;
  bool operator()(const InstanceKeyView& a, const InstanceKeyView& b) const {
    if (a.order != b.order) return a.order < b.order;  // most comparisons end here
    if (int c = a.run_id.compare(b.run_id); c != 0) return c < 0;
    if (int c = a.step_id.compare(b.step_id); c != 0) return c < 0;
    return a.item_index < b.item_index;
  }
};

// Hashes and compares InstanceKeys and their views alike (by_key_'s lookups take views).
struct InstanceKeyHash {
  using is_transparent = void;
  size_t operator()(const InstanceKeyView& k) const {
    // order tells the runs in memory apart; the step and item, a run's instances.
    size_t h = std::hash<std::string_view>()(k.step_id);
    h ^= (k.order * 0x9e3779b97f4a7c15ULL) + static_cast<size_t>(k.item_index) + (h << 6);
    return h;
  }
};
struct InstanceKeyEq {
  using is_transparent = void;
  bool operator()(const InstanceKeyView& a, const InstanceKeyView& b) const {
    return a.order == b.order && a.item_index == b.item_index && a.step_id == b.step_id &&
           a.run_id == b.run_id;
  }
};

class WakeIndex {
 public:
  // Replaces what `key` waits on (nothing, when refs is empty).
  void Set(InstanceKeyView key, const std::vector<ObjectRef>& refs);
  // Calls fn(key) for each instance waiting on `ref`, in key order, without copying them (one
  // object may have thousands of waiters). fn must not change the index.
  template <typename Fn>
  void ForEachWaiting(const ObjectRef& ref, Fn&& fn) const {
    auto it = by_ref_.find(RefKey(ref));
    if (it == by_ref_.end()) return;
    for (const InstanceKey& key : it->second) fn(key);
  }
  size_t size() const { return by_ref_.size(); }

  // Fields joined by '\0', which no Kubernetes name holds, so distinct refs never collide.
  static std::string RefKey(const ObjectRef& ref);

 private:
  using Waiters = std::set<InstanceKey, InstanceKeyLess>;  // in key order, for ForEachWaiting
  using ByRef = std::map<std::string, Waiters, std::less<>>;
  // Where one wait of an instance is in by_ref_: taking it out is two erases, no search (the
  // engine ends a wait once per attempt that waited; with thousands of runs waiting on one
  // object, a search of its waiters was a dozen cold nodes). Iterators of a map and a set
  // stay valid while other elements come and go.
  struct Wait {
    ByRef::iterator ref;
    Waiters::iterator waiter;
  };
  void Erase(const std::vector<Wait>& waits);

  ByRef by_ref_;
  std::unordered_map<InstanceKey, std::vector<Wait>, InstanceKeyHash, InstanceKeyEq> by_key_;
};

}  // namespace brfed
