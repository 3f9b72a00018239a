// JournalImpl: the LevelDB journal behind storage/journal.h. Internal to storage/.
//
// Threads: callers of AppendAsync check and encode their entries, then, under mu_, put them
// into the WriteBatch of the newest group commit. The committer thread (CommitLoop) takes the
// oldest group, writes its batch as it is, then runs the callbacks without holding any lock.
// Reads use LevelDB iterators (an implicit snapshot each) and need no lock of ours.
#pragma once

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "brfed/string_hash.h"
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
  std::unique_ptr<ActiveRunParts> ReadActiveRunParts(size_t runs_per_part) override;
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

  // Where one record of an append lies in its EncodedAppend's bytes.
  struct EncodedRecord {
    size_t begin = 0;  // of its key r/<run-id>/<seq>, which the record follows
    size_t key_size = 0;
    size_t size = 0;  // key and record
    uint64_t seq = 0;
    EventType type = EventType::kRunStarted;
    int64_t time_ms = 0;  // for f/<run-id> of a kRunFinished
  };
  // One append's records, checked and encoded on the caller's thread, outside every lock: the
  // keys and records back to back in one buffer. Each thread has one (Scratch), reused from
  // append to append, so encoding allocates nothing once it has grown to the thread's appends.
  struct EncodedAppend {
    std::string bytes;
    std::vector<EncodedRecord> records;
    std::string_view key(const EncodedRecord& r) const {
      return std::string_view(bytes).substr(r.begin, r.key_size);
    }
    std::string_view value(const EncodedRecord& r) const {
      return std::string_view(bytes).substr(r.begin + r.key_size, r.size - r.key_size);
    }
    std::string_view run_id(const EncodedRecord& r) const;
  };
  // An append waiting for its group commit.
  struct Waiter {
    std::function<void(Status)> done;
    Status status;  // not OK: refused before queueing; the committer only reports it
    SteadyTime enqueued;
    bool has_records = false;
  };
  // One group commit: the appends queued since the previous one, their records already put in
  // the WriteBatch the committer writes as it is. Appending threads fill the newest group
  // under mu_; the committer takes the oldest, so building the batch (copying every record
  // into it) happens beside the committer, not on it.
  struct Group {
    leveldb::WriteBatch batch;  // Clear() keeps its buffer
    std::vector<Waiter> waiters;
    uint64_t records = 0;
    uint64_t bytes = 0;  // keys and records, not the a/ and f/ index entries
    // The runs whose RunFinished the batch holds: finished[0, finished_count) (the strings
    // beyond are kept for their buffers).
    std::vector<std::string> finished;
    size_t finished_count = 0;
  };

  JournalImpl(const JournalOptions& options, std::string dir);
  Status OpenDb();
  Status CheckFormat();

  // The calling thread's EncodedAppend, emptied.
  static EncodedAppend& Scratch();
  // Queues an append that is refused: `done` hears `s` in its turn.
  void Refuse(Status s, std::function<void(Status)> done);
  // Checks and encodes one record of an append; the error names the run and seq.
  Status EncodeEntry(std::string_view run_id, const Event& event, EncodedAppend* a) const;
  // Queues encoded records for the committer: learns runs this process has not seen from
  // disk, checks and advances their seqs; on error `done` gets it. `cursor`, when not null,
  // is the cursor of the one run of the records (AppendRunAsync): a filled one spares the
  // lookup, an empty one is filled.
  void Submit(const EncodedAppend& a, std::function<void(Status)> done, SteadyTime enqueued,
              std::shared_ptr<RunCursor>* cursor = nullptr);
  // Checks `a`'s records against the runs' expected seqs and, when all are fine, advances
  // them. `known` is null, or the RunInfo of the one run of every record (from its cursor).
  // Sets *missing (and changes nothing) when a run of theirs is not in runs_: new to this
  // process, or finished and forgotten. REQUIRES: mu_ held.
  Status CheckAndAdvance(const EncodedAppend& a, RunInfo* known, bool* missing);
  // The runs of `a`'s records that runs_ lacks, each once. REQUIRES: mu_ held.
  std::vector<std::string> UnknownRuns(const EncodedAppend& a) const;
  // Queues one append in the newest group: its records go into the group's batch unless `a`
  // is null or w.status refuses the append. REQUIRES: mu_ held.
  void Queue(const EncodedAppend* a, Waiter w);
  // Keeps a written group's memory for a later one, up to a bound. REQUIRES: mu_ held.
  void Recycle(std::unique_ptr<Group> g);
  // After `g` is durable: forgets the runs it finished (the disk now tells).
  void ForgetFinished(const Group& g);
  // The RunInfo of a run not in runs_, from disk.
  Result<RunInfo> LookupRun(std::string_view run_id);

  void CommitLoop();

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
  class ListedRunParts;  // ReadActiveRunParts' parts: listed as they are taken
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
  // Oldest first; appends go into the last one until it holds max_batch_records records.
  std::deque<std::unique_ptr<Group>> groups_;          // GUARDED_BY(mu_)
  std::vector<std::unique_ptr<Group>> spare_groups_;   // GUARDED_BY(mu_); empty, kept for memory
  std::string index_key_, index_value_;                // Queue's scratch; GUARDED_BY(mu_)
  RunMap runs_;                                        // GUARDED_BY(mu_)
  std::vector<std::pair<RunInfo*, RunInfo>> touched_;  // CheckAndAdvance's scratch; GUARDED_BY(mu_)
  Status sticky_;                                      // GUARDED_BY(mu_); the first failed write
  bool stopping_ = false;                              // GUARDED_BY(mu_)

  std::mutex epoch_mu_;  // serializes SetLeaderEpoch's read-compare-write

  mutable std::mutex stats_mu_;
  JournalStats stats_;        // GUARDED_BY(stats_mu_)
  Histogram append_latency_;  // GUARDED_BY(stats_mu_)
  Histogram batch_latency_;   // GUARDED_BY(stats_mu_)

  // Committer-thread state.
  uint64_t records_committed_ = 0;  // by this process since open, for the crash failpoint
  std::thread committer_;
};

}  // namespace brfed::storage
