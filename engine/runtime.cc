// Runtime: the API, the lifecycle and recovery. What the engine thread does is in
// runtime_loop.cc.

#include "engine/runtime.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <thread>
#include <utility>

#include "base/huge_pages.h"
#include "engine/replay.h"
#include "engine/runtime_impl.h"
#include "engine/runtime_params.h"

namespace brfed {
namespace internal {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The CPU time the calling thread has used.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

RuntimeImpl::RuntimeImpl(EngineOptions options)
    : options_(std::move(options)),
      env_(options_.env),
      definitions_(options_.journal, options_.steps),
      rng_(std::random_device{}()) {}

RuntimeImpl::~RuntimeImpl() {
  if (thread_.joinable()) {
    stopping_ = true;
    Post([] {});  // wakes the engine thread, which quits once nothing is in flight
    thread_.join();
  }
  // The engine thread is gone: its state is ours. No timer callback runs after CancelTimer,
  // and one that ran before found Post refusing.
  runs_.ForEach([this](std::unique_ptr<RunSlot>& r) { ClearTimers(*r); });
  if (pool_ != nullptr) pool_->Stop();
  if (appender_ != nullptr) appender_->Stop();
  std::lock_guard<std::mutex> l(mu_);
  closed_ = true;
  state_cv_.notify_all();
}

Result<std::unique_ptr<RunSlot>> RuntimeImpl::RecoverRun(const Journal::RunRecords& rec,
                                                         RecoverScratch* scratch) {
  auto where = [&rec] { return "run " + rec.run_id; };
  if (rec.events.empty()) return DataLossError(where() + ": no records");
  const Event& first = rec.events.front();
  if (first.type != EventType::kRunStarted) {
    return DataLossError(where() + " seq " + std::to_string(first.seq) + ": " +
                         std::string(EventTypeName(first.type)) + ", not RunStarted");
  }
  const RunStart& start = first.start.get();
  if (scratch->plan == nullptr || scratch->definition_hash != start.definition_hash) {
    Result<std::shared_ptr<const MachinePlan>> plan = definitions_.GetPlan(start.definition_hash);
    if (!plan.ok()) return plan.status().WithContext(where());
    scratch->definition_hash = start.definition_hash;
    // Every machine holds the plan: a reference count of this thread's own, which owns one
    // reference to the shared one, keeps the reading threads off one contended counter.
    auto owner = std::make_shared<std::shared_ptr<const MachinePlan>>(std::move(plan).value());
    scratch->plan = std::shared_ptr<const MachinePlan>(owner, owner->get());
  }
  Result<RunMachine> m = ReplayRun(rec.run_id, scratch->plan, rec.events);
  if (!m.ok()) return m.status();
  auto slot = std::make_unique<RunSlot>(rec.run_id, std::move(*m));
  slot->params = slot->machine.shared_params();  // null for most: none
  slot->started = true;
  for (const Event& e : rec.events) {
    if (e.type == EventType::kCancelRequested) slot->cancel_requested = true;
    if (e.type == EventType::kAttemptStarted && slot->recovered_observed != nullptr) {
      slot->recovered_observed->erase(SlotKey{e.step_id, e.item_index});
    }
    if (e.type == EventType::kObserved) {
      if (slot->recovered_observed == nullptr) {
        slot->recovered_observed = std::make_unique<std::map<SlotKey, RecoveredObservation>>();
      }
      (*slot->recovered_observed)[SlotKey{e.step_id, e.item_index}] = {e.attempt, e.message};
    }
  }
  // Its running attempts are re-issued when its turn comes (FileRecovered puts it in line):
  // their Reconcile calls are prepared then, not 100,000 at once here.
  slot->act = slot->machine.HasRunningAttempts();
  // What its Pump would find: usually nothing to append, only a timer to arm.
  RunMachine::Effects fx = slot->machine.NextEffects(scratch->now);
  slot->settled = fx.append.empty();
  slot->settled_wake_at = fx.wake_at;
  return slot;
}

Status RuntimeImpl::Recover() {
  // Runs are independent: each thread reads parts of the journal and folds them as it goes,
  // so reading and folding overlap and no thread holds more than its own runs. The machine and
  // the definition cache are safe for that (one machine per run; the cache locks). Many small
  // parts, not one per thread: a thread that the host slows down takes fewer of them instead
  // of keeping the others waiting for its half (recovery_bench: one of the two threads often
  // took half as long again as the other over fixed halves).
  const size_t threads = std::min<size_t>(static_cast<size_t>(options_.workers),
                                          std::max(1u, std::thread::hardware_concurrency()));
  std::unique_ptr<ActiveRunParts> parts = options_.journal->ReadActiveRunParts(kRecoverPartRuns);
  // Each thread's parts, numbered: parts are handed out in id order, taken by either thread.
  std::vector<std::vector<std::pair<size_t, RecoveredPart>>> taken(threads);
  std::vector<double> cpu(threads);  // each reading thread's CPU time
  auto recover = [&](size_t thread) {
    const double cpu0 = ThreadCpuSeconds();
    // Nearly all that recovery allocates lives on: the runs' machines and slots (~1.7 KB a
    // run). Once a thread has folded many runs, its fresh memory comes in huge pages: a fault
    // per 2 MiB instead of per 4 KiB page, which was a quarter of the reading threads' CPU
    // (base/huge_pages.h). A small journal never touches them.
    std::optional<HugePageScope> huge;
    size_t runs = 0;
    RecoverScratch scratch;
    scratch.now = env_->Now();
    std::vector<std::pair<size_t, RecoveredPart>>& mine = taken[thread];
    parts->Read([&](size_t part, Journal::RunRecords& rec) -> Status {
      if (++runs == kHugePageRuns) huge.emplace();
      ASSIGN_OR_RETURN(std::unique_ptr<RunSlot> slot, RecoverRun(rec, &scratch));
      slot->cursor = std::move(rec.cursor);  // its appends need no lookup in the journal
      if (mine.empty() || mine.back().first != part) {
        // Runs take their order from their place in id order, without the index's help.
        mine.emplace_back(part, RecoveredPart{});
        mine.back().second.first_order = part * parts->runs_per_part() + 1;
      }
      FileRecovered(std::move(slot), &mine.back().second);
      return Status::OK();
    });
    cpu[thread] = ThreadCpuSeconds() - cpu0;
  };
  const auto t_fold = std::chrono::steady_clock::now();
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(recover, t);
  recover(0);
  for (std::thread& t : helpers) t.join();
  recovery_.fold_seconds = SecondsSince(t_fold);
  recovery_.fold_threads = static_cast<int>(threads);
  for (double c : cpu) recovery_.fold_cpu_seconds += c;
  const auto t_index = std::chrono::steady_clock::now();
  // Parts are ranges of run ids in order: the first damaged run is the first failed part's.
  RETURN_IF_ERROR(parts->FirstError().WithContext("engine: recover"));

  // The parts in id order, which is the order they were made in.
  std::vector<RecoveredPart> found;
  for (auto& mine : taken) {
    for (auto& [part, f] : mine) {
      if (part >= found.size()) found.resize(part + 1);
      found[part] = std::move(f);
    }
  }
  IndexRecovered(&found);
  recovery_.index_seconds = SecondsSince(t_index);
  return Status::OK();
}

void RuntimeImpl::FileRecovered(std::unique_ptr<RunSlot> slot, RecoveredPart* part) {
  if (IsFinished(slot->machine.state())) {
    part->finished.push_back(std::move(slot));
    return;
  }
  slot->order = part->first_order + part->active.size();
  part->index.emplace_back(decltype(runs_)::Hash(slot->run_id), slot.get());
  if (slot->act) {
    slot->turn = Turn::kWaiting;
    part->waiting.push_back(slot.get());
  }
  // Settled with no time to wake at: Pump would find nothing to do and arm no timer.
  if (slot->settled && !slot->settled_wake_at.has_value()) {
    slot->settled = false;
  } else {
    part->attention.push_back(slot.get());
  }
  part->active.push_back(std::move(slot));
}

void RuntimeImpl::IndexRecovered(std::vector<RecoveredPart>* parts) {
  size_t active_runs = 0, finished_runs = 0, waiting = 0, attention = 0;
  for (const RecoveredPart& part : *parts) {
    active_runs += part.active.size();
    finished_runs += part.finished.size();
    waiting += part.waiting.size();
    attention += part.attention.size();
  }
  // In recovery's order: the line of runs to re-issue attempts, and the runs to arm or pump.
  waiting_.reserve(waiting_.size() + waiting);
  recovered_attention_.reserve(attention);
  for (RecoveredPart& part : *parts) {
    for (RunSlot* r : part.waiting) waiting_.push_back(r);
    recovered_attention_.insert(recovered_attention_.end(), part.attention.begin(),
                                part.attention.end());
  }
  // Two indexes, built at once from what the reading threads noted of each run, neither
  // reading a slot: active_ (for any thread) there, from the parts' `index`, runs_ (the engine
  // thread's) here, taking the slots out of their `active`.
  RunTable<const RunSlot*> active;
  const bool big = active_runs >= kHugePageRuns;  // the indexes live on too
  HugePageScope runs_huge(big);
  std::thread indexer([parts, &active, active_runs, big] {
    HugePageScope active_huge(big);
    active.Reserve(active_runs);
    for (const RecoveredPart& part : *parts) {
      for (const auto& [hash, r] : part.index) active.InsertHashed(hash, r);
    }
  });
  runs_.Reserve(runs_.size() + active_runs);
  std::vector<std::shared_ptr<const RunMachine>> evicted;  // freed outside the lock
  std::lock_guard<std::mutex> l(mu_);
  for (RecoveredPart& part : *parts) {
    for (size_t i = 0; i < part.active.size(); ++i) {
      runs_.InsertHashed(part.index[i].first, std::move(part.active[i]));
    }
    // The part's last order (a part's orders follow its first; parts are in id order).
    if (!part.active.empty()) next_order_ = part.first_order + part.active.size() - 1;
    // Nothing is left to do for a finished run; it is served as finished.
    for (std::unique_ptr<RunSlot>& slot : part.finished) {
      CacheFinished(slot->run_id, std::make_shared<const RunMachine>(std::move(slot->machine)),
                    &evicted);
    }
  }
  indexer.join();
  active_ = std::move(active);
  recovery_.runs = active_runs + finished_runs;
}

void RuntimeImpl::Start() {
  pool_ = std::make_unique<WorkerPool>(options_.workers);
  appender_ = std::make_unique<WorkerPool>(1);
  thread_ = std::thread([this] { Loop(); });
  // The first pass: every recovered run appends what is due (timeouts that passed while the
  // process was down, starts) and re-arms its timer from its absolute deadlines, and the runs
  // with running attempts, in line since Recover, re-issue Reconcile under the attempts'
  // journaled keys as their turns come: the first max_reconciles_in_flight of them now. Recover
  // left the runs with something to arm or append.
  const auto t_first = std::chrono::steady_clock::now();
  std::promise<void> first_pass;
  Post([this, &first_pass] {
    for (RunSlot* r : recovered_attention_) {
      if (r->settled) {
        r->settled = false;
        ArmRunTimer(*r, r->settled_wake_at);  // what Pump would do: nothing to append
      } else {
        MarkDirty(*r);
      }
    }
    recovered_attention_.clear();
    recovered_attention_.shrink_to_fit();
    ReleaseWaiting();
    do {
      PumpDirty();
      ReleaseWaiting();
    } while (PumpPending());
    first_pass.set_value();
  });
  first_pass.get_future().wait();
  std::lock_guard<std::mutex> l(mu_);
  recovery_.first_pass_seconds = SecondsSince(t_first);
}

bool RuntimeImpl::Post(std::function<void()> fn) {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return false;
  queue_.push_back(std::move(fn));
  idle_ = false;
  // Notified under the lock: once the engine thread has seen this closure, the engine may be
  // destroyed, and the condition variable with it, before an unlocked notify would run.
  queue_cv_.notify_one();
  return true;
}

void RuntimeImpl::PostReconciled(std::unique_ptr<ReconcileTask> task) {
  std::lock_guard<std::mutex> l(mu_);
  reconciled_.push_back(std::move(task));
  idle_ = false;
  queue_cv_.notify_one();  // under the lock, as in Post
}

void RuntimeImpl::PostAppended(RunSlot* r, Status s) {
  std::lock_guard<std::mutex> l(mu_);
  appended_.emplace_back(r, std::move(s));
  idle_ = false;
  queue_cv_.notify_one();
}

Status RuntimeImpl::StartRun(const std::string& run_id, std::shared_ptr<const Workflow> workflow,
                             Value params) {
  const std::string where = "engine: start run " + run_id;
  if (stopping_) return UnavailableError(where + ": the engine is shutting down");
  if (workflow == nullptr) return InvalidArgumentError(where + ": no workflow");
  if (workflow->hash.empty() || workflow->source_text.empty()) {
    return InvalidArgumentError(where + ": workflow " + workflow->name +
                                " has no source text and hash (load it with LoadWorkflow)");
  }
  Result<Value> checked = ApplyParams(*workflow, params);
  if (!checked.ok()) return checked.status().WithContext(where);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (active_.Contains(run_id) || finished_.count(run_id) > 0) return Status::OK();
  }
  // A run the journal holds (retained after it finished) is left alone.
  Result<std::vector<Event>> existing = options_.journal->ReadRun(run_id, 1);
  if (existing.ok()) return Status::OK();
  if (existing.status().code() != StatusCode::kNotFound) {
    return existing.status().WithContext(where);
  }
  // The definition is durable before any record refers to it.
  Status put = options_.journal->PutDefinition(workflow->hash, workflow->source_text);
  if (!put.ok()) return put.WithContext(where);

  std::promise<Status> done;
  std::future<Status> result = done.get_future();
  if (!Post([this, run_id, workflow = std::move(workflow), p = std::move(*checked), &done] {
        OnStart(run_id, workflow, p, &done);
      })) {
    return UnavailableError(where + ": the engine has stopped");
  }
  return result.get();
}

Status RuntimeImpl::Cancel(const std::string& run_id, const std::string& reason) {
  std::promise<Status> done;
  std::future<Status> result = done.get_future();
  if (!Post([this, run_id, reason, &done] { OnCancel(run_id, reason, &done); })) {
    return UnavailableError("engine: cancel run " + run_id + ": the engine has stopped");
  }
  Status s = result.get();
  if (s.code() != StatusCode::kNotFound) return s;
  // Not in memory: a retained finished run is a no-op, anything else unknown.
  Result<std::vector<Event>> existing = options_.journal->ReadRun(run_id, 1);
  if (existing.ok()) return Status::OK();
  return existing.status().code() == StatusCode::kNotFound
             ? s
             : existing.status().WithContext("engine: cancel run " + run_id);
}

void RuntimeImpl::Wake(const ObjectRef& ref) {
  Post([this, ref] { OnWake(ref); });
}

Result<RunView> RuntimeImpl::GetRun(const std::string& run_id) {
  if (std::shared_ptr<const RunMachine> m = FindFinished(run_id)) return m->View();
  std::promise<Result<RunView>> done;
  std::future<Result<RunView>> result = done.get_future();
  if (Post([this, run_id, &done] { AnswerView(run_id, &done); })) {
    Result<RunView> v = result.get();
    if (v.ok()) return v;
  }
  return ReadBack(run_id);
}

// Engine thread. The durable state: while an append is in flight the machine is ahead of
// the journal, so the answer waits for the append.
void RuntimeImpl::AnswerView(const std::string& run_id, std::promise<Result<RunView>>* done) {
  std::unique_ptr<RunSlot>* found = runs_.Find(run_id);
  if (found != nullptr && (*found)->started) {
    RunSlot& r = **found;
    if (r.append_in_flight) {
      r.after_append.mut().push_back([this, run_id, done] { AnswerView(run_id, done); });
      return;
    }
    done->set_value(r.machine.View());
    return;
  }
  // Finished in this pass (an answer deferred until the run's last append), not yet published.
  for (const auto& [id, m] : finishing_) {
    if (id == run_id) {
      done->set_value(m->View());
      return;
    }
  }
  if (std::shared_ptr<const RunMachine> m = FindFinished(run_id)) {
    done->set_value(m->View());
    return;
  }
  done->set_value(NotFoundError("engine: no run " + run_id + " in memory"));
}

std::shared_ptr<const RunMachine> RuntimeImpl::FindFinished(const std::string& run_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = finished_.find(run_id);
  return it != finished_.end() ? it->second : nullptr;
}

std::vector<std::string> RuntimeImpl::ActiveRunIds() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> l(mu_);
    ids.reserve(active_.size());
    active_.ForEach([&ids](const RunSlot* r) { ids.push_back(r->run_id); });
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<RunView> RuntimeImpl::WaitRun(const std::string& run_id, Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::shared_ptr<const RunMachine> finished;  // its view is built outside the lock
  {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      auto f = finished_.find(run_id);
      if (f != finished_.end()) {
        finished = f->second;
        break;
      }
      auto s = stalled_.find(run_id);
      if (s != stalled_.end()) return s->second;
      if (!active_.Contains(run_id)) break;
      if (closed_) return UnavailableError("engine: wait run " + run_id + ": engine stopped");
      if (state_cv_.wait_until(l, deadline) == std::cv_status::timeout &&
          finished_.count(run_id) == 0 && stalled_.count(run_id) == 0) {
        return DeadlineExceededError("engine: run " + run_id + " has not finished after " +
                                     FormatDuration(timeout));
      }
    }
  }
  if (finished != nullptr) return finished->View();
  // Not in memory: finished long ago, or unknown.
  Result<RunView> v = ReadBack(run_id);
  if (!v.ok()) return v.status();
  if (!IsFinished(v->state)) {
    return FailedPreconditionError("engine: run " + run_id +
                                   " is unfinished in the journal but not run by this engine");
  }
  return v;
}

Result<RunView> RuntimeImpl::ReadBack(const std::string& run_id) {
  Result<std::vector<Event>> events = options_.journal->ReadRun(run_id);
  if (!events.ok()) {
    if (events.status().code() == StatusCode::kNotFound) {
      return NotFoundError("engine: no run " + run_id);
    }
    return events.status().WithContext("engine: read run " + run_id);
  }
  if (events->empty() || events->front().type != EventType::kRunStarted) {
    return DataLossError("engine: run " + run_id + " seq 1: not RunStarted");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const MachinePlan> plan,
                   definitions_.GetPlan(events->front().start.get().definition_hash));
  ASSIGN_OR_RETURN(RunMachine m, ReplayRun(run_id, plan, *events));
  return m.View();
}

EngineStats RuntimeImpl::stats() {
  EngineStats s;
  s.transitions = transitions_.load();
  s.reconciles = reconciles_.load();
  std::lock_guard<std::mutex> l(mu_);
  s.active_runs = active_.size();
  s.runs_waiting = runs_waiting_.load(std::memory_order_relaxed);
  s.recovery = recovery_;
  return s;
}

Status RuntimeImpl::WaitIdleForTest(Duration timeout) {
  std::unique_lock<std::mutex> l(mu_);
  if (!state_cv_.wait_for(l, timeout, [&] { return idle_ || closed_; })) {
    return DeadlineExceededError("engine: not idle after " + FormatDuration(timeout));
  }
  return Status::OK();
}

}  // namespace internal

Result<std::unique_ptr<Runtime>> OpenRuntime(EngineOptions options) {
  if (options.env == nullptr || options.journal == nullptr || options.steps == nullptr) {
    return InvalidArgumentError("engine: options need env, journal and steps");
  }
  if (options.workers < 1) {
    return InvalidArgumentError("engine: workers must be >= 1, got " +
                                std::to_string(options.workers));
  }
  if (options.max_reconciles_in_flight < 1) {
    return InvalidArgumentError("engine: max_reconciles_in_flight must be >= 1, got " +
                                std::to_string(options.max_reconciles_in_flight));
  }
  auto rt = std::make_unique<internal::RuntimeImpl>(std::move(options));
  RETURN_IF_ERROR(rt->Recover());
  rt->Start();
  return std::unique_ptr<Runtime>(std::move(rt));
}

Result<std::unique_ptr<Engine>> OpenEngine(EngineOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<Runtime> rt, OpenRuntime(std::move(options)));
  return std::unique_ptr<Engine>(std::move(rt));
}

}  // namespace brfed
