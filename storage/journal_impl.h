// JournalImpl: the LevelDB journal behind storage/journal.h. Internal to storage/.
//
// Threads: callers of AppendAsync check and encode their entries, then queue them under mu_.
// The committer thread (CommitLoop) takes the whole queue, writes it as one WriteBatch, then
// runs the callbacks without holding any lock. Reads use LevelDB iterators (an implicit
// snapshot each) and need no lock of ours.
#pragma once

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/string_hash.h"
#include "storage/histogram.h"
#include "storage/journal.h"

namespace leveldb {
class Cache;
class Logger;
}  // namespace leveldb

namespace brfed::storage {

class CaptureLogger;

class JournalImpl final : public LevelDbJournal {
 public:
  // Opens the database; see OpenLevelDbJournal.
  static Result<std::unique_ptr<JournalImpl>> Open(const JournalOptions& options);

  ~JournalImpl() override;
  JournalImpl(const JournalImpl&) = delete;
  JournalImpl& operator=(const JournalImpl&) = delete;

  Status PutDefinition(std::string_view hash, std::string_view text) override;
  Result<std::string> GetDefinition(std::string_view hash) override;
  void AppendAsync(std::vector<Entry> entries, std::function<void(Status)> done) override;
  void AppendRunAsync(std::string_view run_id, const std::vector<Event>& events,
                      std::shared_ptr<RunCursor>* cursor,
                      std::function<void(Status)> done) override;
  Status Append(std::vector<Entry> entries) override;
  Result<std::vector<std::string>> ActiveRuns() override;
  Result<std::vector<std::string>> ListRuns() override;
  Result<std::vector<Event>> ReadRun(std::string_view run_id, uint64_t until_seq) override;
  Result<std::vector<RunRecords>> ReadActiveRuns() override;
  Status ForEachActiveRun(const std::function<Status(RunRecords& run)>& fn) override;
  void ForEachActiveRunPart(RunParts* parts,
                            const std::function<Status(size_t part, RunRecords& run)>& fn) override;
  Result<int> CollectGarbage(TimePoint now) override;
  Result<std::vector<Problem>> Verify() override;
  JournalStats stats() const override;

  Result<uint64_t> LeaderEpoch() override;
  Status SetLeaderEpoch(uint64_t epoch) override;
  LatencySummary AppendLatency() const override;
  LatencySummary BatchLatency() const override;
  void ResetLatencies() override;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // What the journal knows of a run it has seen appended to (or looked up) since open.
  struct RunInfo {
    uint64_t next_seq = 1;  // the seq its next record must have
    bool finished = false;  // a kRunFinished is journaled or queued
  };
  // A run's RunInfo where runs_ and the run's cursor (AppendRunAsync) both find it: once the
  // run is forgotten, a cursor still held says it is finished.
  struct RunEntry final : RunCursor {
    explicit RunEntry(RunInfo i, bool in_runs = true) : info(i), registered(in_runs) {}
    RunInfo info;
    // In runs_. A cursor handed out by recovery's read is not, until the run's first append
    // puts it there (Submit): the reading threads never take the lock for it.
    bool registered;
  };
  using RunMap =
      std::unordered_map<std::string, std::shared_ptr<RunEntry>, StringHash, std::equal_to<>>;

  // One record, encoded on the caller's thread.
  struct EncodedRecord {
    std::string bytes;  // the key r/<run-id>/<seq>, then the record: one allocation
    size_t key_size = 0;
    uint64_t seq = 0;
    EventType type = EventType::kRunStarted;
    int64_t time_ms = 0;  // for f/<run-id> of a kRunFinished
    std::string_view key() const { return std::string_view(bytes).substr(0, key_size); }
    std::string_view value() const { return std::string_view(bytes).substr(key_size); }
    std::string_view run_id() const;
  };
  // One AppendAsync call.
  struct Pending {
    std::vector<EncodedRecord> records;
    std::function<void(Status)> done;
    Status status;  // not OK: refused before queueing; the committer only reports it
    SteadyTime enqueued;
  };

  // Encoding buffers of written batches, for the next appends to encode into: an append's
  // vector and each record's string are allocated once and reused, where they were allocated
  // by the appending thread and freed by the committer (engine_bench: ~400 instructions a
  // record, most of it jemalloc handing memory freed on one thread back to another's).
  class Spares {
   public:
    // Makes *records `n` default records, holding the buffers of earlier ones when there are.
    void Take(size_t n, std::vector<EncodedRecord>* records);
    // Keeps the buffers of `batch`, which is written, up to a bound; the rest are freed with it.
    void Keep(std::vector<Pending>* batch);

   private:
    std::mutex mu_;
    std::vector<std::vector<EncodedRecord>> vectors_;  // GUARDED_BY(mu_); empty, with capacity
    std::vector<std::string> strings_;                 // GUARDED_BY(mu_); empty, with capacity
  };

  JournalImpl(const JournalOptions& options, std::string dir);
  Status OpenDb();
  Status CheckFormat();

  void Enqueue(Pending p);
  void Refuse(Status s, std::function<void(Status)> done);
  // Checks and encodes one record of an append; the error names the run and seq.
  Status EncodeEntry(std::string_view run_id, const Event& event, EncodedRecord* r) const;
  // Queues encoded records for the committer: learns runs this process has not seen from
  // disk, checks and advances their seqs; on error `p.done` gets it. `cursor`, when not null,
  // is the cursor of the one run of the records (AppendRunAsync): a filled one spares the
  // lookup, an empty one is filled.
  void Submit(Pending p, std::shared_ptr<RunCursor>* cursor = nullptr);
  // Checks `records` against the runs' expected seqs and, when all are fine, advances them.
  // `known` is null, or the RunInfo of the one run of every record (from its cursor). Sets
  // *missing (and changes nothing) when a run of theirs is not in runs_: new to this process,
  // or finished and forgotten. REQUIRES: mu_ held.
  Status CheckAndAdvance(const std::vector<EncodedRecord>& records, RunInfo* known, bool* missing);
  // The runs of `records` that runs_ lacks, each once. REQUIRES: mu_ held.
  std::vector<std::string> UnknownRuns(const std::vector<EncodedRecord>& records) const;
  // After `batch` is durable: forgets the runs it finished (the disk now tells).
  void ForgetFinished(const std::vector<Pending>& batch);
  // The RunInfo of a run not in runs_, from disk.
  Result<RunInfo> LookupRun(std::string_view run_id);

  void CommitLoop();
  // Moves the next group commit's appends from queue_ to *batch (empty). REQUIRES: mu_ held.
  void TakeBatch(std::vector<Pending>* batch);
  void BuildBatch(const std::vector<Pending>& batch, uint64_t* records, uint64_t* bytes);

  // A synced write outside the committer (definitions, epoch, garbage collection). A failure
  // makes the journal sticky-failed, as a failed commit does.
  Status WriteSync(leveldb::WriteBatch* batch, std::string_view context);
  Status StickyError();
  void SetStickyError(const Status& s);

  leveldb::ReadOptions ReadOpts() const;
  // Reads one key; kNotFound when absent.
  Result<std::string> Get(std::string_view key, std::string_view context);
  // Calls fn with the rest of every key under `prefix` (a/ or f/: a run id), in key order.
  Status ScanKeys(std::string_view prefix, const std::function<void(std::string_view id)>& fn);
  // The run ids of every key under a/ or f/ (`prefix`), in key order.
  Result<std::vector<std::string>> ScanIds(std::string_view prefix);
  // Calls fn with the id of every active run, in id order: the ids under a/ that have no f/.
  Status ScanActiveIds(const std::function<void(std::string_view id)>& fn);
  // The pass behind ReadActiveRuns and ForEachActiveRun: sets *count to the number of active
  // runs and calls fn(i, run) for each, i being the run's place among the active ids in id
  // order, in record order. `run` is one object reused for every run.
  Status VisitActiveRuns(const std::function<Status(size_t i, RunRecords& run)>& fn, size_t* count);
  // An iterator for one pass over many records, which it leaves out of the block cache.
  std::unique_ptr<leveldb::Iterator> PassIterator();
  // *cursor, a cursor recovery's read made and runs_ does not hold yet, goes into runs_ at the
  // run's first append; when runs_ holds an entry for the run already, *cursor becomes that
  // one. REQUIRES: mu_ held.
  void Register(std::string_view run_id, std::shared_ptr<RunCursor>* cursor);
  // Deletes one finished run: every r/ key, a/ and f/.
  Status DeleteRun(std::string_view run_id);

  const JournalOptions options_;
  const std::string dir_;
  uint64_t crash_after_records_ = 0;  // BRFED_CRASH_AFTER_RECORDS; 0: off

  std::unique_ptr<CaptureLogger> logger_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<leveldb::DB> db_;  // destroyed before logger_ and cache_

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::vector<Pending> queue_;                         // GUARDED_BY(mu_)
  RunMap runs_;                                        // GUARDED_BY(mu_)
  std::vector<std::pair<RunInfo*, RunInfo>> touched_;  // CheckAndAdvance's scratch; GUARDED_BY(mu_)
  Status sticky_;                                      // GUARDED_BY(mu_); the first failed write
  bool stopping_ = false;                              // GUARDED_BY(mu_)

  std::mutex epoch_mu_;  // serializes SetLeaderEpoch's read-compare-write

  mutable std::mutex stats_mu_;
  JournalStats stats_;        // GUARDED_BY(stats_mu_)
  Histogram append_latency_;  // GUARDED_BY(stats_mu_)
  Histogram batch_latency_;   // GUARDED_BY(stats_mu_)

  Spares spares_;

  // Committer-thread state.
  leveldb::WriteBatch write_batch_;  // reused: Clear() keeps its buffer
  uint64_t records_committed_ = 0;   // by this process since open, for the crash failpoint
  std::thread committer_;
};

}  // namespace brfed::storage
