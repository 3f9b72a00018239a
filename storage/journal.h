// The LevelDB journal: brfed::Journal (include/brfed/journal.h) on a LevelDB database.
//
//   JournalOptions o;
//   o.dir = "/var/lib/brfed/journal";
//   ASSIGN_OR_RETURN(std::unique_ptr<Journal> journal, OpenJournal(o));
//   journal->AppendAsync({{"uid-1", started}}, [](Status s) { /* durable, or failed */ });
//
// Layout on disk, record format and versioning: storage/journal_format.md.
//
// Writes. One committer thread does group commit: AppendAsync checks and encodes the entries on
// the caller's thread and puts them, in queue order, into the WriteBatch of the newest group of
// appends; the committer takes the oldest group, writes its batch as ONE leveldb::WriteBatch
// with sync=true, then calls the group's `done` callbacks, in queue order, on its own thread.
// Every `done` runs on the committer thread, errors found before queueing included,
// so a caller never sees its callback run inside AppendAsync. A callback may call AppendAsync.
//
// Sticky failure. When a write fails, the journal fails every later write with that error (like
// leveldb's bg_error_): the state of the disk is unknown, and only a reopen, which recovers from
// what LevelDB finds durable, can tell. An append whose `done` saw an error may or may not be
// durable: after a reopen its records may be there. They are valid records, in order; the engine
// treats a failed append as "maybe journaled" and recovers from what it reads back.
//
// Crash failpoint. When the environment variable BRFED_CRASH_AFTER_RECORDS=N (N >= 1) is set at
// open, the committer kills the process with SIGKILL (raise(SIGKILL): no clean-up, no
// destructors, no flush) right after the batch holding the Nth record appended by this process
// since open is durable, before any `done` callback of that batch runs. The process crash tests
// (tests/crash/) use it to stop `brfedctl run` after every record index.
//
// The directory. OpenJournal creates `dir` (and missing parents) with mode 0700. An existing
// directory whose mode gives the group or others any access is tightened to 0700: the journal
// holds workflow parameters, and `mkdir -p` in a deployment script makes 0755 directories. When
// the mode cannot be changed (another owner), OpenJournal refuses with kPermissionDenied. A
// second process opening the same directory gets kUnavailable "journal <dir> is in use by
// another process" (LevelDB's LOCK file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "brfed/env.h"
#include "brfed/journal.h"
#include "brfed/status.h"

namespace leveldb {
class Env;
}  // namespace leveldb

namespace brfed {

struct JournalOptions {
  std::string dir;
  // File access of LevelDB. nullptr: leveldb::Env::Default(). Tests inject faults through it.
  // Not owned; must outlive the journal. `dir` itself is always created on the real filesystem.
  leveldb::Env* env = nullptr;
  // A run may hold at most this many records; one more, its kRunFinished, is always accepted so
  // that a run which hit the cap can still be finished.
  size_t max_records_per_run = 100000;
  // Encoded size limit of one record (kInvalidArgument above it).
  size_t max_record_bytes = 1 << 20;
  // Finished runs are deleted by CollectGarbage this long after their kRunFinished time.
  Duration retention = std::chrono::hours(24 * 7);
  // fsync every batch. Only benchmarks comparing against unsynced writes turn it off.
  bool sync = true;
  // A group commit takes queued appends until it holds at least this many records (an append
  // is never split), leaving the rest to the next one: under a burst the first callers hear
  // back after one bounded write instead of one covering everybody, and the engine works on
  // their next records while the committer writes.
  size_t max_batch_records = 2048;
  // false: kNotFound when `dir` holds no journal (brfedctl's read-only commands).
  bool create_if_missing = true;
  // LevelDB tuning: memtable size and block cache size.
  size_t write_buffer_bytes = 8 << 20;
  size_t block_cache_bytes = 32 << 20;
};

// Percentiles of a latency histogram, in nanoseconds. Upper bounds within 12.5%.
struct LatencySummary {
  uint64_t count = 0;
  uint64_t p50_nanos = 0;
  uint64_t p99_nanos = 0;
  uint64_t max_nanos = 0;
};

// brfed::Journal plus what only the LevelDB journal has. Thread-safe.
class LevelDbJournal : public Journal {
 public:
  // The leader epoch stored under m/epoch; 0 when never set.
  virtual Result<uint64_t> LeaderEpoch() = 0;
  // Stores the leader epoch, durably. kFailedPrecondition when `epoch` is below the stored one:
  // a deposed leader cannot move the epoch back.
  virtual Status SetLeaderEpoch(uint64_t epoch) = 0;

  // Time from AppendAsync to durable (just before `done` runs), one sample per call.
  virtual LatencySummary AppendLatency() const = 0;
  // Time of each batch's write + sync, one sample per batch.
  virtual LatencySummary BatchLatency() const = 0;
  // Starts both latency records afresh (a benchmark's measured phase).
  virtual void ResetLatencies() = 0;
};

// Opens (creating when allowed) the journal in options.dir. Errors: kInvalidArgument (empty
// dir), kNotFound (absent and !create_if_missing), kPermissionDenied (directory not ours),
// kUnavailable (locked by another process, or an I/O error), kFailedPrecondition (a format
// newer than this binary, or a LevelDB database that is not a journal), kDataLoss (damage
// LevelDB found while opening, with paranoid checks on).
Result<std::unique_ptr<LevelDbJournal>> OpenLevelDbJournal(const JournalOptions& options);

// OpenLevelDbJournal, as the plain interface.
Result<std::unique_ptr<Journal>> OpenJournal(const JournalOptions& options);

}  // namespace brfed
