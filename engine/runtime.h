// Runtime: the Engine (brfed/engine.h) — the one I/O loop around the pure RunMachine.
//
//   FakeEnv env;
//   MemoryJournal journal;
//   ASSIGN_OR_RETURN(std::unique_ptr<Runtime> rt,
//                    OpenRuntime({.env = &env, .journal = &journal, .steps = &registry}));
//   RETURN_IF_ERROR(rt->StartRun("r1", workflow, params));
//   RETURN_IF_ERROR(rt->WaitIdleForTest(std::chrono::seconds(30)));
//   env.AdvanceToNextTimer();   // a test moves time; the runtime reacts
//
// One engine thread owns every run (its RunMachine and bookkeeping) and consumes a queue of
// closures: API calls, journal completions, Reconcile outcomes, timers, wake-ups. For a run
// with work it takes RunMachine::NextEffects, appends those records (AppendAsync: the journal
// batches appends of many runs into one synced write), and only once they are durable applies
// them and acts: each running attempt gets Reconcile on the worker pool with the attempt's
// journaled start time and idempotency key. Step results become records the same way (write
// before apply). A run has at most one append in flight, so its seq order is kept trivially;
// different runs pipeline. A waiting step holds no thread: its wake-ups are an index entry and
// a timer, so 10,000 waiting runs cost memory only.
//
// Finished runs leave memory; the engine keeps the views of the last kFinishedCacheSize of
// them, and GetRun/WaitRun of an older one reads it back from the journal (replaying it) for
// as long as the journal retains it.
//
// A journal append that fails stalls the run (the journal's failures are sticky: the disk state
// is unknown until a reopen); WaitRun then returns that error. An append the journal rejects
// as too large (kInvalidArgument) — step outputs over the record cap — is retried once with
// each success turned into a non-retryable failure saying so.
//
// Thread-safe. Destruction stops taking work, lets running Reconcile calls and appends finish
// (their results are dropped, to be redone after a restart), cancels its timers and joins its
// threads; nothing is journaled after the destructor returns.
#pragma once

#include <memory>

#include "brfed/engine.h"

namespace brfed {

class Runtime : public Engine {
 public:
  // How many finished runs' views stay in memory.
  static constexpr size_t kFinishedCacheSize = 4096;

  // Blocks until the engine has nothing to do by itself: its queue is empty and no append or
  // Reconcile is in flight (armed timers do not count; a test fires them by moving a FakeEnv).
  // kDeadlineExceeded after `timeout` of real time.
  virtual Status WaitIdleForTest(Duration timeout) = 0;
};

// OpenEngine, with the test hooks. Same errors.
Result<std::unique_ptr<Runtime>> OpenRuntime(EngineOptions options);

}  // namespace brfed
