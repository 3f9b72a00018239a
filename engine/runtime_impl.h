// The Runtime's implementation class, shared by runtime.cc (API, lifecycle, recovery) and
// runtime_loop.cc (what the engine thread does). Not a public header.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "brfed/boxed.h"
#include "brfed/string_hash.h"
#include "engine/attempt_table.h"
#include "engine/compact_value.h"
#include "engine/machine.h"
#include "engine/run_table.h"
#include "engine/runtime.h"
#include "engine/runtime_definitions.h"
#include "engine/runtime_pool.h"
#include "engine/runtime_waits.h"
#include "engine/vector_queue.h"

namespace brfed::internal {

using SlotKey = std::pair<std::string, int>;  // (step id, item index)

struct ReconcileTask;

// The last observation journaled for an instance's attempt, as recovery found it.
struct RecoveredObservation {
  int attempt = 0;
  std::string text;
};

// A run's place in the line for Reconcile calls (EngineOptions::max_reconciles_in_flight).
enum class Turn : uint8_t {
  kNone,     // not in line: acts when it needs to, if there is room
  kWaiting,  // in RuntimeImpl::waiting_
  kGranted,  // out of line with room kept for it (RuntimeImpl::granted_) until it acts
};

// One run in memory. Engine thread only, but for two readers of fields that do not change
// meanwhile: a worker reads run_id and params through its pinned task, the appender thread
// reads run_id and `appending`, and fills `cursor`, while the append is in flight.
struct RunSlot {
  RunSlot(std::string id, RunMachine m) : run_id(std::move(id)), machine(std::move(m)) {}

  const std::string run_id;
  RunMachine machine;
  uint64_t order = 0;  // RuntimeImpl::next_order_ when it took the run in (InstanceKey::order)
  // The machine's (shared_params), kept here for in-flight Reconcile tasks, which read them
  // through their pinned slot after the machine may have gone to the finished cache; never
  // changed. Null for none: Params().
  std::shared_ptr<const Value> params;
  const Value& Params() const { return params != nullptr ? *params : RunMachine::NoParams(); }
  // The flags, together (recovery makes a slot per run: no padding between them).
  bool started = false;  // its RunStarted is durable and applied
  bool queued = false;   // in RuntimeImpl::dirty_
  bool gone = false;     // out of runs_ (finished, or its start refused); freed once unpinned
  bool act = true;       // its running attempts need a look (Act) before Pump
  bool cancel_requested = false;  // a CancelRequested is queued or applied
  bool append_in_flight = false;
  bool retried_rejected = false;  // a rejected batch was already rewritten once
  // The append in flight ends a look-ahead that found nothing more to do, and when the run
  // next wakes by itself (AppendEffects' wake_at then, in settled_wake_at): once the append is
  // durable, a Pump with no new inputs would find the same, unless that time has come. Set by
  // recovery too, for the first pass: the recovered run has nothing to append.
  bool settled = false;
  int pins = 0;  // Reconcile tasks in flight, which point at the slot
  Turn turn = Turn::kNone;
  // Whether anything still points at the slot: a Reconcile task, dirty_ or the line. A gone
  // slot is freed once nothing does.
  bool Referenced() const { return pins > 0 || queued || turn == Turn::kWaiting; }
  // StartRun calls waiting on RunStarted; a box: a run has them only while it starts.
  Boxed<std::vector<std::promise<Status>*>> start_waiters;
  std::vector<Event> inputs;     // records from results and Cancel, seq not yet assigned
  std::vector<Event> appending;  // the batch in flight, already applied to `machine`
  std::shared_ptr<Journal::RunCursor> cursor;  // the journal's, for its appends
  size_t appending_inputs = 0;  // how many of its records are outcomes (the rest look ahead)
  Boxed<std::vector<std::function<void()>>> after_append;  // waits for the append in flight
  Status stalled;  // not OK: the journal failed; the run does nothing more
  AttemptTable attempts;
  // Observations of recovered attempts; null when there are none (nearly always).
  std::unique_ptr<std::map<SlotKey, RecoveredObservation>> recovered_observed;
  TimerId wake_timer = 0;
  std::optional<TimePoint> wake_at;
  uint64_t wake_token = 0;
  std::optional<TimePoint> settled_wake_at;
};

// Recovery takes its memory in huge pages from this many runs of one part on
// (base/huge_pages.h); a small journal never touches them.
inline constexpr size_t kHugePageRuns = 1024;
// Recovery cuts the journal's active runs into parts of this many runs, which the reading
// threads take as they go (ActiveRunParts): a part is a few milliseconds of work, so neither
// thread waits long for the other at the end.
inline constexpr size_t kRecoverPartRuns = 1024;

// What preparing the Reconcile calls of a run needs besides the run (RuntimeImpl::PrepareAct),
// reused from run to run. The runs keep none of it.
struct ActScratch {
  std::vector<RunMachine::Attempt> running;  // the run's running attempts
  AttemptTable::SyncScratch sync;            // the run's attempt table's
  // Reconcile tasks prepared, not yet dispatched, with the slot of each.
  std::vector<std::pair<std::unique_ptr<ReconcileTask>, AttemptSlot*>> prepared;
};

// What a worker needs for one Reconcile call, and what it found. The slot is pinned while the
// task is in flight, so `run` stays valid (its run_id and params are never changed): the step
// reads them there.
struct ReconcileTask {
  RunSlot* run = nullptr;
  // The step's id, in its plan: the plans live in the DefinitionCache as long as the engine, so
  // the pointer outlives the task (so do `with` and `step`).
  const std::string* step_id = nullptr;
  int step_index = -1;  // in the run's plan
  int item_index = -1;
  int attempt = 0;       // its key: IdempotencyKey(run->run_id, *step_id, item_index)
  bool skipped = false;  // set by the worker: not called, the engine is stopping
  CompactValue item;     // null without forEach
  // The step's inputs: its definition's own `with` when that needs no resolving, else
  // `resolved`.
  const Value* with = nullptr;
  CompactValue resolved;
  TimePoint started_at{};
  Step* step = nullptr;
  StepResult result;  // set by the worker
};

// Makes *e a step-instance record of `type`, without seq and time: filled where it is to be
// kept, since an Event is big to move.
inline void SetStepEvent(EventType type, const std::string& step_id, int item_index, int attempt,
                         Event* e) {
  e->type = type;
  e->step_id = step_id;
  e->item_index = item_index;
  e->attempt = attempt;
}
// The same as a value.
inline Event StepEvent(EventType type, const std::string& step_id, int item_index, int attempt) {
  Event e;
  SetStepEvent(type, step_id, item_index, attempt, &e);
  return e;
}

// An AttemptFailed record for `s` (a Fail without a status fails with kUnknown).
inline Event FailedEvent(const std::string& step_id, int item_index, int attempt, const Status& s,
                         bool retryable) {
  Event e = StepEvent(EventType::kAttemptFailed, step_id, item_index, attempt);
  e.code = s.ok() ? StatusCode::kUnknown : s.code();
  e.message = s.ok() ? "the step failed without saying why" : s.message();
  e.retryable = retryable;
  return e;
}

class RuntimeImpl final : public Runtime {
 public:
  // How many times Pump looks past the records it chose for what they lead to. A run's
  // records settle in two or three rounds; the bound only guards against a machine bug.
  static constexpr int kLookAheadRounds = 8;
  // Runs PumpDirty takes per call, and how many Reconcile tasks or appends it gathers before
  // handing them on. Handing on every 256 rather than every 64 wakes the pool and the appender
  // a quarter as often: engine_bench measured ~5% more transitions/s (16 lost ~9%).
  static constexpr size_t kPumpBudget = 512;
  static constexpr size_t kHandOffEvery = 256;

  explicit RuntimeImpl(EngineOptions options);
  ~RuntimeImpl() override;

  // Loads the journal's unfinished runs. Before Start.
  Status Recover();
  // Starts the threads, and returns after the engine thread's first pass over every run.
  void Start();

  Status StartRun(const std::string& run_id, std::shared_ptr<const Workflow> workflow,
                  Value params) override;
  Status Cancel(const std::string& run_id, const std::string& reason) override;
  void Wake(const ObjectRef& ref) override;
  Result<RunView> GetRun(const std::string& run_id) override;
  std::vector<std::string> ActiveRunIds() override;
  Result<RunView> WaitRun(const std::string& run_id, Duration timeout) override;
  EngineStats stats() override;
  Status WaitIdleForTest(Duration timeout) override;

 private:
  // Any thread. Queues `fn` for the engine thread; false once the engine thread has quit.
  bool Post(std::function<void()> fn);
  // Any thread. Hands a finished Reconcile or append to the engine thread: typed queues, so
  // the hot path allocates no closure. Never refused: the engine thread waits for both.
  void PostReconciled(std::unique_ptr<ReconcileTask> task);
  void PostAppended(RunSlot* r, Status s);
  // A finished run read back from the journal. Any thread.
  Result<RunView> ReadBack(const std::string& run_id);
  // The run's machine from the finished cache, or null. Any thread.
  std::shared_ptr<const RunMachine> FindFinished(const std::string& run_id);
  // What recovery found in one part of the journal: its unfinished runs, and apart, its
  // finished ones (the active index still lists a run whose RunFinished is journaled: a
  // journal whose index update was lost; rare); what the first pass is left to do for the
  // unfinished ones. Sorted while each run is in cache, and with what the index needs of each
  // run (its order, its id's hash): the index would otherwise read every cold slot once more.
  struct RecoveredPart {
    uint64_t first_order = 0;  // RunSlot::order of active[0]; the others follow
    std::vector<std::unique_ptr<RunSlot>> active;
    // Each of active's runs with its id's hash (RunTable's Hash), in that order: what the
    // index of active_ reads while runs_ takes the slots out of `active`.
    std::vector<std::pair<size_t, const RunSlot*>> index;
    std::vector<std::unique_ptr<RunSlot>> finished;
    std::vector<RunSlot*> waiting;    // active runs with running attempts to re-issue, in line
    std::vector<RunSlot*> attention;  // active runs the first pass must arm or pump
  };
  // Files a recovered run in its part. A reading thread's.
  void FileRecovered(std::unique_ptr<RunSlot> slot, RecoveredPart* part);
  // Takes the recovered runs over, parts in id order: runs_, active_, the finished cache and
  // the first pass's lists. After the reading threads.
  void IndexRecovered(std::vector<RecoveredPart>* parts);
  // A recovery thread's memory, reused from run to run.
  struct RecoverScratch {
    std::string definition_hash;  // of `plan`: runs mostly share a definition
    std::shared_ptr<const MachinePlan> plan;
    TimePoint now{};  // the clock when the thread began: records carry milliseconds
  };
  // One journaled run folded through a fresh machine; its running attempts are left for their
  // turn (act set). Any thread; touches no engine state.
  Result<std::unique_ptr<RunSlot>> RecoverRun(const Journal::RunRecords& rec,
                                              RecoverScratch* scratch);

  // Engine thread (runtime_loop.cc).
  void Loop();
  // A new input of r, default-built in place. The inputs and the batch in flight trade
  // buffers (TakeInputs), so a fresh one gets room for a batch: its outcomes and look-ahead.
  static Event& NewInput(RunSlot& r) {
    constexpr size_t kBatchRoom = 4;
    if (r.inputs.capacity() == 0) r.inputs.reserve(kBatchRoom);
    return r.inputs.emplace_back();
  }
  // Queues the run for PumpDirty (once); `act` also re-examines its running attempts.
  void MarkDirty(RunSlot& r, bool act = false) {
    r.act |= act;
    if (r.queued) return;
    r.queued = true;
    dirty_.push_back(&r);
  }
  // Acts on and pumps up to kPumpBudget dirty runs (PumpPending says whether more wait).
  void PumpDirty();
  // Acts on and pumps, now, the runs marked dirty since dirty_ held `from` entries.
  void PumpMarked(size_t from);
  // Acts on r if it needs it, no append is in flight and it has its turn (else it gets in
  // line), then pumps it; frees it if gone.
  void PumpOne(RunSlot* r);
  bool PumpPending() const { return pump_pos_ < pumping_.size() || !dirty_.empty(); }
  // Whether another run may act: the calls in flight and the turns granted leave room (always
  // when stopping: acting then does nothing, and the line must empty).
  bool HasRoom() const {
    return stopping_ || reconciles_in_flight_ + granted_ < options_.max_reconciles_in_flight;
  }
  // Gives the runs first in line their turn while there is room: marks them dirty to act.
  // After every pass, so a run in line never waits on an idle engine.
  void ReleaseWaiting();
  // r gives up its turn, granted or not yet taken: it acts now, or it is gone.
  void EndTurn(RunSlot& r) {
    if (r.turn == Turn::kGranted) --granted_;
    r.turn = Turn::kNone;
  }
  void Act(RunSlot& r);
  // The half of Act that touches nothing but r: brings r.attempts in line with the machine's
  // running attempts, moving the slots of ended attempts to s->sync.ended for ClearSlot, and
  // prepares a Reconcile task for each attempt due (s->prepared), or queues the failure of one
  // that cannot run.
  void PrepareAct(RunSlot& r, ActScratch* s) const;
  // A Reconcile task for attempt `a` into *prepared (taking a's item), or the failure of one
  // that cannot run into r.inputs.
  void Prepare(
      RunSlot& r, RunMachine::Attempt&& a, AttemptSlot& slot,
      std::vector<std::pair<std::unique_ptr<ReconcileTask>, AttemptSlot*>>* prepared) const;
  // Hands r's prepared tasks (act_.prepared) to the pool, at the end of the pass: each attempt
  // is in flight, and pins r, until its Reconcile comes back.
  void DispatchPrepared(RunSlot& r);
  void Pump(RunSlot& r);
  void RunTask(ReconcileTask* task);  // on a worker; takes ownership
  // Hands r.appending (applied to the machine already) to the journal.
  void Append(RunSlot& r);
  // Applies records[from...] to r's machine; on failure the run stalls and r.appending is
  // emptied.
  bool ApplyAhead(RunSlot& r, const std::vector<Event>& records, size_t from);
  void RollBack(RunSlot& r);
  void AnswerView(const std::string& run_id, std::promise<Result<RunView>>* done);
  void TakeInputs(RunSlot& r, std::vector<Event>* out);
  void OnStart(const std::string& run_id, std::shared_ptr<const Workflow> workflow, Value params,
               std::promise<Status>* done);
  void OnCancel(const std::string& run_id, const std::string& reason, std::promise<Status>* done);
  void OnAppendDone(RunSlot* r, Status s);
  void OnAppendDoneImpl(RunSlot& r, Status s);
  void OnAppendFailed(RunSlot& r, std::vector<Event> batch, const Status& s);
  void OnReconcileDone(std::unique_ptr<ReconcileTask> task);
  void OnReconcileDoneImpl(ReconcileTask& task);
  void OnWake(const ObjectRef& ref);
  void OnRecheck(const std::string& run_id, int step_index, int item_index, uint64_t token);
  void OnRunTimer(const std::string& run_id, uint64_t token);
  void ArmRunTimer(RunSlot& r, std::optional<TimePoint> at);
  void ClearSlot(RunSlot& r, AttemptTable::Entry& e);
  void ClearTimers(RunSlot& r);
  void Stall(RunSlot& r, Status s);
  void Finish(RunSlot& r);  // retires r; its end is published by the next PublishFinished
  // Under mu_: moves finishing_ into finished_ (out of active_), evicting the oldest beyond
  // kFinishedCacheSize into *evicted, and the slots released since into *freed (both to be
  // freed outside the lock), and tells the waiters.
  void PublishFinished(std::vector<std::shared_ptr<const RunMachine>>* evicted,
                       std::vector<std::unique_ptr<RunSlot>>* freed);
  // Under mu_: caches a finished run's machine (a run cached already keeps its place, with this
  // machine), evicting as PublishFinished does.
  void CacheFinished(std::string run_id, std::shared_ptr<const RunMachine> machine,
                     std::vector<std::shared_ptr<const RunMachine>>* evicted);
  // Takes r out of runs_; frees it now, or once nothing points at it (ReleaseIfGone).
  void Retire(RunSlot& r);
  void ReleaseIfGone(RunSlot* r);

  const EngineOptions options_;
  Env* const env_;
  DefinitionCache definitions_;
  std::unique_ptr<WorkerPool> pool_;
  // One thread that hands the engine's appends to the journal, in order: encoding and the
  // journal's checks then run beside the engine thread instead of on it.
  std::unique_ptr<WorkerPool> appender_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> transitions_{0};
  std::atomic<uint64_t> reconciles_{0};
  std::atomic<size_t> runs_waiting_{0};  // waiting_'s length, for stats()

  // Engine thread only (and the constructor, Recover and the destructor while it is not
  // running).
  // Keyed by the slot's own run_id (slots never move).
  RunTable<std::unique_ptr<RunSlot>> runs_;
  // Retired slots still pinned by Reconcile tasks, queued in dirty_ or in line in waiting_.
  std::unordered_map<const RunSlot*, std::unique_ptr<RunSlot>> retired_;
  // Retired slots released since the last PublishFinished, which frees them once active_ no
  // longer holds their ids.
  std::vector<std::unique_ptr<RunSlot>> released_;
  // What Recover leaves the first pass, in recovery's order: the runs to arm or pump.
  std::vector<RunSlot*> recovered_attention_;
  // The line of runs waiting for room to act (Turn::kWaiting), in order: recovery appends
  // 100,000 at once.
  VectorQueue<RunSlot*> waiting_;
  int granted_ = 0;  // runs given their turn (Turn::kGranted) that have not acted yet
  WakeIndex waits_;
  // Wakes that came while Reconciles were in flight, by ref key, with their sequence number: a
  // Reconcile that read the world before such a wake, and then waits on that ref, must run
  // again, or the change would go unnoticed until the recheck. Cleared whenever no Reconcile
  // is in flight (nothing can have missed a wake then).
  uint64_t wake_seq_ = 0;
  std::unordered_map<std::string, uint64_t> recent_wakes_;
  uint64_t next_order_ = 0;                             // the last RunSlot::order given
  std::vector<RunSlot*> dirty_;                         // runs with RunSlot::queued set
  std::vector<RunSlot*> pumping_;                       // PumpDirty's round (memory kept)
  std::vector<RunSlot*> marked_;                        // PumpMarked's runs (memory kept)
  size_t pump_pos_ = 0;                                 // the next run of pumping_ to pump
  ActScratch act_;                                      // Act's (memory kept)
  std::vector<std::function<void()>> dispatched_;       // Reconcile tasks of this PumpDirty pass
  std::vector<std::function<void()>> appends_;          // appends of this PumpDirty pass
  int appends_in_flight_ = 0;
  TimePoint pass_now_{};  // the clock, read once per round of PumpDirty
  int reconciles_in_flight_ = 0;
  // Runs finished since Loop last took mu_, which publishes them to active_ and finished_ then:
  // one lock a pass instead of one a run.
  std::vector<std::pair<std::string, std::shared_ptr<const RunMachine>>> finishing_;
  uint64_t next_token_ = 0;
  std::mt19937_64 rng_;

  // Shared.
  std::mutex mu_;
  std::condition_variable queue_cv_;  // queue_ gained work
  std::condition_variable state_cv_;  // idle_, closed_, active_, finished_ or stalled_ changed
  std::deque<std::function<void()>> queue_;
  std::vector<std::unique_ptr<ReconcileTask>> reconciled_;
  std::vector<std::pair<RunSlot*, Status>> appended_;
  bool closed_ = false;  // the engine thread has quit: Post refuses
  bool idle_ = false;
  // Started, unfinished runs, keyed by their slots' own run_id (a slot is freed only after
  // PublishFinished took it out), so recovery indexes 100,000 runs without a copy each.
  RunTable<const RunSlot*> active_;
  // The most recently finished runs, their machines (immutable once here; views are built by
  // whoever asks, outside the lock). finished_order_ views the keys of finished_ (a node's key
  // stays where it is until the node is erased).
  std::unordered_map<std::string, std::shared_ptr<const RunMachine>, StringHash, std::equal_to<>>
      finished_;
  std::deque<std::string_view> finished_order_;
  std::unordered_map<std::string, Status> stalled_;
  EngineStats::Recovery recovery_;  // written before Start returns
};

}  // namespace brfed::internal
