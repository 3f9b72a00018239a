// AttemptTable: the engine thread's bookkeeping of one run's running attempts, one AttemptSlot
// each, in the machine's instance order — (step index, item index) — in one vector. A run has
// a few running attempts at a time; a std::map keyed by (step id, item) took a node and a copy
// of the step id for each, and searched by comparing strings.
//
//   table.Sync(running, &scratch);  // running: RunMachine::RunningAttempts()
//   if (AttemptSlot* s = table.Find(step_index, item_index)) ...
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "brfed/env.h"
#include "engine/machine.h"

namespace brfed::internal {

// Bookkeeping of one running attempt. Engine thread only.
struct AttemptSlot {
  int attempt = 0;
  bool dirty = true;       // should be reconciled: new, woken, recheck due, or recovered
  bool in_flight = false;  // a Reconcile call is running
  bool resolved = false;   // Done or Fail taken; its record is on the way
  std::string observed;    // the last observation journaled (or queued) for this attempt
  bool waits_on_refs = false;
  uint64_t dispatch_wake_seq = 0;  // RuntimeImpl::wake_seq_ when the Reconcile was dispatched
  TimerId recheck_timer = 0;
  uint64_t recheck_token = 0;
};

class AttemptTable {
 public:
  struct Entry {
    int step_index = -1;       // in the run's plan
    int item_index = -1;       // -1: the step has no forEach
    std::string_view step_id;  // the workflow's, which the run's machine keeps alive
    AttemptSlot slot;
  };

  // Sync's results and memory, the caller's: one serves every table (every run).
  struct SyncScratch {
    std::vector<Entry> ended;  // slots of attempts that ended, appended to (the caller clears)
    std::vector<bool> fresh;   // per running attempt: whether its slot is new
    std::vector<Entry> spare;  // what the new entries are built in; then the old entries' memory
  };

  // The slot of the attempt running for (step, item), or null.
  AttemptSlot* Find(int step_index, int item_index);
  // The same by the step's id: compared with the id of each step that has attempts running
  // (usually one), not searched among all the plan's steps.
  AttemptSlot* Find(std::string_view step_id, int item_index);
  // Makes the table hold exactly the attempts of `running` (RunMachine::RunningAttempts: in
  // instance order), in its order, so that entry i is running[i]'s: an attempt that stays
  // keeps its slot; a new attempt, or a new attempt number of the same instance, gets a fresh
  // slot with `attempt` set and sets s->fresh[i]; the slots of attempts that ended are moved
  // to s->ended. Pointers to slots are valid until the next Sync.
  void Sync(const std::vector<RunMachine::Attempt>& running, SyncScratch* s);

  Entry& operator[](size_t i) { return entries_[i]; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<Entry>::iterator begin() { return entries_.begin(); }
  std::vector<Entry>::iterator end() { return entries_.end(); }

 private:
  // Sorted by (step_index, item_index). No scratch of its own: recovery makes a table per run.
  std::vector<Entry> entries_;
};

}  // namespace brfed::internal
