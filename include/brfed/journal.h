// Journal: the durable, append-only record of every run's transitions.
//
//   Journal::Entry e{run_id, Event::AttemptStarted(...)};
//   journal->AppendAsync({e}, [](Status s) { /* durable now, or failed */ });
//   ASSIGN_OR_RETURN(std::vector<Event> events, journal->ReadRun(run_id));
//
// Each run's events are numbered 1, 2, 3, ... (Event::seq) by the engine, which appends them
// in order and applies each to its state machine only after it is durable. Replaying a run's
// events through the machine (engine/machine.h) rebuilds its exact state. The LevelDB
// implementation lives in storage/ (storage/journal.h: OpenJournal) and is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brfed/boxed.h"
#include "brfed/env.h"
#include "brfed/status.h"
#include "brfed/value.h"

namespace brfed {

enum class RunState : uint8_t {
  kRunning = 1,
  kFinalizing = 2,
  kSucceeded = 3,
  kFailed = 4,
  kCancelled = 5
};
std::string_view RunStateName(RunState s);  // "Running", "Finalizing", ...
inline bool IsFinished(RunState s) { return s >= RunState::kSucceeded; }

enum class EventType : uint8_t {
  kRunStarted = 1,        // workflow_name, definition_hash, params, seed
  kAttemptStarted = 2,    // step_id, item_index, attempt, idempotency_key
  kAttemptSucceeded = 3,  // step_id, item_index, attempt, outputs
  kAttemptFailed = 4,     // step_id, item_index, attempt, code, message, retryable
  kAttemptTimedOut = 5,   // step_id, item_index, attempt
  kObserved = 6,          // step_id, item_index, attempt, message (what the step sees)
  kCancelRequested = 7,   // message (the reason)
  kRunFinished = 8,       // final_state, message (first failure, if any)
};
std::string_view EventTypeName(EventType t);  // "RunStarted", ...

// kRunStarted's fields, held out of line by the one record of a run that has them.
struct RunStart {
  std::string workflow_name;
  std::string definition_hash;
  Value params;
  uint64_t seed = 0;  // seeds the retry jitter of the run, so replay is exact

  friend bool operator==(const RunStart&, const RunStart&) = default;
};

// One journal record. Only the fields of its type are meaningful. 192 bytes, three cache
// lines: the engine writes one per transition, hands it to the journal's thread and back, and
// with thousands of runs in flight each of those lines is a cache miss (engine_bench's
// engine thread missed on writing 5 lines per record when the RunStarted fields were inline).
struct Event {
  EventType type = EventType::kRunStarted;
  bool retryable = false;                     // kAttemptFailed
  RunState final_state = RunState::kRunning;  // kRunFinished
  int32_t item_index = -1;  // step-instance events; -1: the step has no forEach
  uint64_t seq = 0;         // 1-based position in the run
  TimePoint time{};         // when the engine decided it (absolute: deadlines derive from it)
  int32_t attempt = 0;      // step-instance events; 1-based
  StatusCode code = StatusCode::kOk;  // kAttemptFailed

  // step-instance events
  std::string step_id;
  std::string idempotency_key;
  Value outputs;  // kAttemptSucceeded

  std::string message;  // kAttemptFailed, kObserved, kCancelRequested, kRunFinished

  Boxed<RunStart> start;  // kRunStarted: start.mut() to set, start.get() to read

  friend bool operator==(const Event&, const Event&) = default;
};

struct JournalStats {
  uint64_t batches = 0;  // WriteBatches committed
  uint64_t records = 0;  // records committed
  // Bytes of those records as stored, keys and values (not the indexes); 0 from a journal that
  // stores no encoded records (the in-memory one).
  uint64_t record_bytes = 0;
  uint64_t commit_nanos_total = 0;  // sum over batches of write+sync time
  uint64_t commit_nanos_max = 0;
  // Runs whose next seq the journal keeps in memory: the unfinished ones it has seen. A run is
  // forgotten once its RunFinished is durable (the disk then says it is finished), so this
  // stays bounded however many runs a long-lived process journals.
  uint64_t runs_in_memory = 0;
};

class ActiveRunParts;

// Thread-safe.
class Journal {
 public:
  struct Entry {
    std::string run_id;
    Event event;
  };
  struct Problem {
    std::string run_id;
    uint64_t seq = 0;  // 0 when the problem is not about one record
    std::string what;
    std::string ToString() const;
  };
  class RunCursor;
  struct RunRecords {
    std::string run_id;
    std::vector<Event> events;
    // The run's cursor (see AppendRunAsync), when the journal hands one out with the records
    // (its ReadActiveRunParts may): the run's first append after recovery then needs no
    // lookup of where the run stands. Null otherwise.
    std::shared_ptr<RunCursor> cursor;
  };

  virtual ~Journal() = default;

  // Stores a definition text under its hash; a no-op when already there. Durable on return.
  virtual Status PutDefinition(std::string_view hash, std::string_view text) = 0;
  // kNotFound when absent.
  virtual Result<std::string> GetDefinition(std::string_view hash) = 0;

  // Makes `entries` durable, batched with other concurrent appends into one synced write (group
  // commit), then calls `done` on the committer thread. Entries of one run must be in seq order
  // without gaps. A kRunStarted record adds the run to the active index, kRunFinished removes
  // it and starts its retention period. Errors: kResourceExhausted when a run would exceed the
  // per-run record cap, kInvalidArgument for a record over the size cap, kUnavailable or
  // kDataLoss when the disk failed — after which every later append fails too.
  virtual void AppendAsync(std::vector<Entry> entries, std::function<void(Status)> done) = 0;
  // AppendAsync, waiting for `done`.
  virtual Status Append(std::vector<Entry> entries) = 0;
  // What a journal keeps of one run between its appends (the seq it expects next), held by
  // the caller so that an append need not find the run among all the others. Opaque.
  class RunCursor {
   public:
    virtual ~RunCursor() = default;
  };
  // AppendAsync of records of one run. `events` is read only during the call, so a caller
  // that keeps its records makes no copy. `cursor` is null, or the run's cursor: empty before
  // the run's first such append (the journal may fill it), then passed back with each later
  // append of the run, one append at a time, to this journal only. This default copies the
  // records into Entries and leaves the cursor alone.
  virtual void AppendRunAsync(std::string_view run_id, const std::vector<Event>& events,
                              std::shared_ptr<RunCursor>* cursor,
                              std::function<void(Status)> done) {
    (void)cursor;
    std::vector<Entry> entries;
    entries.reserve(events.size());
    for (const Event& e : events) entries.push_back(Entry{std::string(run_id), e});
    AppendAsync(std::move(entries), std::move(done));
  }

  // Ids of the unfinished runs, sorted.
  virtual Result<std::vector<std::string>> ActiveRuns() = 0;
  // Ids of every run held (unfinished and retained finished ones), sorted.
  virtual Result<std::vector<std::string>> ListRuns() = 0;
  // The run's events with seq <= until_seq, in order. kNotFound for an unknown run; kDataLoss
  // naming the run and seq for an undecodable record or a gap.
  virtual Result<std::vector<Event>> ReadRun(
      std::string_view run_id, uint64_t until_seq = std::numeric_limits<uint64_t>::max()) = 0;
  // Every active run with its events, read in one pass (recovery). Damage as for ReadRun.
  virtual Result<std::vector<RunRecords>> ReadActiveRuns() = 0;
  // ReadActiveRuns one run at a time: calls `fn` with each active run and its events, in an
  // unspecified order, reusing the memory of the previous run (`fn` may move from it), so a
  // recovery never holds every record at once. Returns the first error of `fn` or of the
  // journal; damage is reported as by ReadActiveRuns, possibly after earlier runs were visited.
  virtual Status ForEachActiveRun(const std::function<Status(RunRecords& run)>& fn) {
    Result<std::vector<RunRecords>> runs = ReadActiveRuns();
    if (!runs.ok()) return runs.status();
    for (RunRecords& r : *runs) {
      Status s = fn(r);
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

  // The active runs for several threads that read them at once (recovery), in parts of
  // `runs_per_part` runs (the last may have fewer); see ActiveRunParts. This default reads
  // every active run once, here; a journal that can seek does better.
  virtual std::unique_ptr<ActiveRunParts> ReadActiveRunParts(size_t runs_per_part);

  // Deletes the finished runs whose retention period has passed at `now`. Returns how many.
  virtual Result<int> CollectGarbage(TimePoint now) = 0;

  // Checks every run: decodable records, no seq gaps, definitions present, active index
  // consistent. An empty list means healthy.
  virtual Result<std::vector<Problem>> Verify() = 0;

  virtual JournalStats stats() const = 0;
};

// The active runs of a journal, cut into parts of a fixed number of runs in id order and
// numbered from 0 in that order, which several threads reading them at once (recovery) share
// out as they go: a thread takes the next part when it is done with one, so one that the host
// slows down reads fewer, where fixed halves made the other wait for it. A journal may list the
// runs as the parts are taken, so nobody knows how many parts there are until the end.
// Thread-safe.
//
//   std::unique_ptr<ActiveRunParts> parts = journal->ReadActiveRunParts(1024);
//   // on each of several threads:
//   parts->Read([&](size_t part, Journal::RunRecords& run) { ...; return Status::OK(); });
//   // once every thread has returned:
//   RETURN_IF_ERROR(parts->FirstError());
class ActiveRunParts {
 public:
  // REQUIRES: runs_per_part >= 1.
  explicit ActiveRunParts(size_t runs_per_part) : runs_per_part_(runs_per_part) {}
  virtual ~ActiveRunParts() = default;
  ActiveRunParts(const ActiveRunParts&) = delete;
  ActiveRunParts& operator=(const ActiveRunParts&) = delete;

  // Takes part after part until none is left, calling fn(part, run) for each run of each part
  // taken, in id order within the part, on the calling thread; `run` is one object reused for
  // every run (`fn` may move from it). The first error in a part (the journal's, or one
  // returned by `fn`) ends that part, and no part is handed out after it. Returns once none is
  // left to take.
  virtual void Read(const std::function<Status(size_t part, Journal::RunRecords& run)>& fn) = 0;

  size_t runs_per_part() const { return runs_per_part_; }
  // The error of the lowest part that failed (the first damaged run in id order), else OK.
  // REQUIRES: every Read has returned.
  Status FirstError() const;

 protected:
  // For implementations, which hand out parts in id order under a lock of their own: the
  // next part's number, or nullopt once a part has failed. Every part before a failed one
  // has been handed out, so the lowest failed part holds the first damaged run.
  std::optional<size_t> Take();
  // Part `part` ended with error `s`.
  void Fail(size_t part, Status s);

 private:
  const size_t runs_per_part_;
  std::atomic<size_t> next_{0};
  std::atomic<bool> failed_{false};
  mutable std::mutex mu_;
  size_t failed_part_ = 0;
  Status first_error_;
};

}  // namespace brfed
