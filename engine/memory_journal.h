// MemoryJournal: brfed::Journal held in memory, for engine tests and runs without storage.
//
//   MemoryJournal journal;
//   EngineOptions o{.env = &env, .journal = &journal, .steps = &registry};
//   ...
//   journal.CrashAfterRecordsForTest(3);  // records after the 3rd are never kept
//
// It keeps the journal's contract (include/brfed/journal.h) exactly: per-run seq order without
// gaps (the first record of a run is its kRunStarted with seq 1), the active-run index, the
// per-run record cap (plus the always-accepted kRunFinished), the record size cap, retention,
// definitions, Verify. Like the LevelDB journal (storage/journal.h) one committer thread takes
// everything queued as one batch, applies it atomically, and calls the `done` callbacks in
// queue order on its own thread — never inside AppendAsync. "Durable" means "in this object":
// a test that drops the engine and reopens it on the same MemoryJournal is a process restart.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "brfed/journal.h"

namespace brfed {

struct MemoryJournalOptions {
  size_t max_records_per_run = 100000;
  // Approximate encoded size of one record: its strings plus the JSON of its values.
  size_t max_record_bytes = 1 << 20;
  Duration retention = std::chrono::hours(24 * 7);
};

class MemoryJournal final : public Journal {
 public:
  explicit MemoryJournal(MemoryJournalOptions options = {});
  // Waits for the queued appends to be committed and their callbacks to return.
  ~MemoryJournal() override;
  MemoryJournal(const MemoryJournal&) = delete;
  MemoryJournal& operator=(const MemoryJournal&) = delete;

  Status PutDefinition(std::string_view hash, std::string_view text) override;
  Result<std::string> GetDefinition(std::string_view hash) override;
  void AppendAsync(std::vector<Entry> entries, std::function<void(Status)> done) override;
  Status Append(std::vector<Entry> entries) override;
  Result<std::vector<std::string>> ActiveRuns() override;
  Result<std::vector<std::string>> ListRuns() override;
  Result<std::vector<Event>> ReadRun(
      std::string_view run_id,
      uint64_t until_seq = std::numeric_limits<uint64_t>::max()) override;
  Result<std::vector<RunRecords>> ReadActiveRuns() override;
  Result<int> CollectGarbage(TimePoint now) override;
  Result<std::vector<Problem>> Verify() override;
  JournalStats stats() const override;

  // A process crash after the `n`th record from now: the batch holding it is kept, its `done`
  // and every later one get kUnavailable, and nothing later is kept — like storage's
  // BRFED_CRASH_AFTER_RECORDS, where the process dies before that batch's callbacks run.
  // Reopening an engine on this journal after ReviveForTest() is the restart.
  void CrashAfterRecordsForTest(uint64_t n);
  // Fails every later append with `s` (a failed disk), sticky until ReviveForTest().
  void FailAppendsForTest(Status s);
  // Clears a crash or failure: what the journal holds is what a reopen would read.
  void ReviveForTest();
  // Replaces a run's records with `events` without any check (damage for recovery tests).
  void PutRunForTest(const std::string& run_id, std::vector<Event> events, bool active);
  // Every record appended so far, in commit order.
  std::vector<Entry> AllEntriesForTest() const;

 private:
  struct RunData {
    std::vector<Event> events;
    bool active = false;
    std::optional<TimePoint> finished_at;
  };
  struct Pending {
    std::vector<Entry> entries;
    std::function<void(Status)> done;
  };

  void CommitLoop();
  // Checks one append against the committed state plus `staged` (earlier appends of the same
  // batch) and stages it. REQUIRES: mu_ held.
  Status Stage(const std::vector<Entry>& entries, std::map<std::string, RunData>* staged);
  Result<std::vector<Event>> ReadLocked(const std::string& run_id, const RunData& run,
                                        uint64_t until_seq) const;

  const MemoryJournalOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stop_ = false;
  Status sticky_;                      // every append fails with it when not OK
  std::optional<uint64_t> crash_left_;  // records until the simulated crash
  std::map<std::string, RunData, std::less<>> runs_;
  std::map<std::string, std::string, std::less<>> definitions_;
  std::vector<Entry> log_;
  JournalStats stats_;
  std::thread committer_;  // last: starts after every other member is built
};

}  // namespace brfed
